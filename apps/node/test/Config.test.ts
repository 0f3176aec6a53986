import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { freeTcpPort, getHealth, getStatus, poll } from "./support/Admin.ts"
import { type LogLine, runToExit, spawnDaemon, start } from "./support/DaemonProcess.ts"

/**
 * Issue 5, part 1: settings from a config file, environment variables and flags, in that order of
 * precedence; bad values refused with one line naming the setting and exit code 1; the log level.
 */

const EXAMPLE = Path.resolve(import.meta.dirname, "../examples/dave.yaml")
const MiB = 1024 * 1024

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-config-"))
const write = (dir: string, name: string, text: string) => {
  const path = Path.join(dir, name)
  Fs.writeFileSync(path, text)
  return path
}
const listening = (logs: ReadonlyArray<LogLine>) => logs.find((l) => l.message === "listening")!.annotations

describe("configuration", () => {
  it.live(
    "a config file sets values; env overrides the file and flags override both; JSON without an extension",
    () =>
      Effect.gen(function* () {
        const root = tempDir()
        const dataDir = Path.join(root, "data")
        const yaml = write(
          root,
          "dave.yaml",
          [
            "# test config",
            `listen: "[::1]:0"`,
            `dataDir: ${JSON.stringify(dataDir)}`,
            "keyFile: node.key",
            "capacity: 32MiB",
            "peerLimits: loopback",
            'admin: "127.0.0.1:0"',
            "backup: false",
            ""
          ].join("\n")
        )
        const jsonDir = Path.join(root, "json")
        const json = write(
          root,
          "dave.conf",
          JSON.stringify({
            listen: "[::1]:0",
            dataDir: jsonDir,
            keyFile: "json.key",
            capacity: 5 * MiB,
            backup: false,
            peerLimits: "loopback",
            admin: "127.0.0.1:0"
          })
        )
        // YAML by --config alone; JSON (no extension) by DAVE_CONFIG, with env values over it and flags over those.
        const [fromFile, layered] = yield* Effect.all(
          [
            start(["--config", yaml]),
            start(["--capacity", "40MiB"], 20_000, { DAVE_CONFIG: json, DAVE_CAPACITY: "48MiB", DAVE_BACKUP: "b.log" })
          ],
          { concurrency: "unbounded" }
        )
        const file = listening(fromFile.logs)
        expect(file.capacityBytes).toBe(32 * MiB)
        expect(file.backup).toBe("off")
        expect(file.address).toMatch(/^\[::1\]:\d+$/)
        // The key file named in the config was created in its data directory, owner-only.
        const keyPath = Path.join(dataDir, "node.key")
        expect(Fs.statSync(keyPath).mode & 0o777).toBe(0o600)
        expect(Fs.statSync(keyPath).size).toBe(64)
        const status = yield* getStatus(fromFile.admin!)
        expect(status.body.store.capacityBytes).toBe(32 * MiB)
        expect(BigInt(status.body.nodeId)).toBe(fromFile.nodeId)

        const layers = listening(layered.logs)
        expect(layers.capacityBytes).toBe(40 * MiB)
        expect(layers.backup).toBe(Path.join(jsonDir, "b.log"))
        expect(Fs.statSync(Path.join(jsonDir, "json.key")).size).toBe(64)
        Fs.rmSync(root, { recursive: true, force: true })
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "the example config is valid (its addresses overridden by flags)",
    () =>
      Effect.gen(function* () {
        const root = tempDir()
        const d = yield* start([
          "--config",
          EXAMPLE,
          "--data-dir",
          root,
          "--listen",
          "[::1]:0",
          "--admin",
          "127.0.0.1:0"
        ])
        const a = listening(d.logs)
        expect(a.capacityBytes).toBe(1024 * MiB)
        expect(a.backup).toBe(Path.join(root, "backup.dave"))
        expect(a.edges).toBe("")
        expect(Fs.existsSync(Path.join(root, "key"))).toBe(true)
        Fs.rmSync(root, { recursive: true, force: true })
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "the log level applies to the JSON log: env over file, flag over env",
    () =>
      Effect.gen(function* () {
        const root = tempDir()
        const config = write(root, "dave.yaml", `logLevel: info\nlisten: "[::1]:0"\npeerLimits: loopback\n`)
        const port = yield* freeTcpPort
        const quiet = yield* spawnDaemon(
          ["--config", config, "--data-dir", Path.join(root, "q"), "--admin", `127.0.0.1:${port}`],
          { DAVE_LOG_LEVEL: "warn" }
        )
        yield* poll(
          "quiet daemon up",
          Effect.map(getHealth(`127.0.0.1:${port}`), (r) => r.body.status),
          15_000
        )
        quiet.child.kill("SIGTERM")
        const quietEnd = yield* quiet.finished
        expect(quietEnd.code).toBe(0)
        const quietLines = quietEnd.stderr.split("\n").filter((l) => l.startsWith("{"))
        expect(quietLines.filter((l) => JSON.parse(l).level === "INFO")).toEqual([])

        const loud = yield* start(
          ["--config", config, "--data-dir", Path.join(root, "l"), "--admin", "127.0.0.1:0", "--log-level", "debug"],
          20_000,
          { DAVE_LOG_LEVEL: "warn" }
        )
        expect(loud.logs.some((l) => l.level === "INFO" && l.message === "listening")).toBe(true)
        Fs.rmSync(root, { recursive: true, force: true })
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "a bad flag, env value, config file or admin host exits 1 with one line naming the setting",
    () =>
      Effect.gen(function* () {
        const root = tempDir()
        const base = ["--data-dir", root, "--listen", "[::1]:0", "--admin", "off"]
        const unknownKey = write(root, "unknown.yaml", "capacity: 1GiB\ncapcity: 2GiB\n")
        // Every check is unit-tested in DaemonConfig.test.ts; here one of each source, end to end.
        const cases: Array<[string, ReadonlyArray<string>, Record<string, string>, RegExp]> = [
          [
            "flag",
            [...base, "--capacity", "12"],
            {},
            /^error: invalid setting capacity from flag --capacity: "12" is not a byte count/
          ],
          [
            "env",
            base,
            { DAVE_PEER_LIMITS: "lan" },
            /^error: invalid setting peerLimits from env DAVE_PEER_LIMITS: "lan"/
          ],
          [
            "unknown key",
            [...base, "--config", unknownKey],
            {},
            new RegExp(`^error: invalid setting capcity in ${unknownKey}: unknown setting`)
          ],
          [
            "admin",
            [...base.slice(0, 4), "--admin", "0.0.0.0:1620"],
            {},
            /^error: invalid setting admin from flag --admin: "0.0.0.0:1620" is not a loopback address/
          ],
          [
            "missing file",
            base,
            { DAVE_CONFIG: Path.join(root, "none.yaml") },
            /^error: invalid setting config from env DAVE_CONFIG: cannot read/
          ]
        ]
        const results = yield* Effect.forEach(cases, ([, args, env]) => runToExit(args, env, 15_000), {
          concurrency: 3
        })
        results.forEach((r, i) => {
          const [name, , , pattern] = cases[i]!
          const lines = r.stderr.trim().split("\n")
          expect({ name, code: r.code }).toEqual({ name, code: 1 })
          expect(lines, name).toHaveLength(1)
          expect(lines[0], name).toMatch(pattern)
          expect(r.stdout, name).toBe("")
        })
        // Nothing was started: no key file was written for a refused configuration.
        expect(Fs.existsSync(Path.join(root, "key"))).toBe(false)
        Fs.rmSync(root, { recursive: true, force: true })
      }),
    60_000
  )
})
