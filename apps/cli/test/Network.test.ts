import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { DaemonProcess } from "@dave/testkit"
import { afterAll, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { dave, describeRun, type Run } from "./support/Dave.ts"

/**
 * End to end: the real `dave` binary against three real daemons on ::1: keygen, put and get over
 * UDP as a light client, peers and status from the admin API, and exit code 2 for not found.
 */

class Daemons extends Context.Service<Daemons, ReadonlyArray<DaemonProcess.Daemon>>()("test/Daemons") {}

const tempDirs: Array<string> = []
const tempDir = (prefix: string): string => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of tempDirs) Fs.rmSync(dir, { recursive: true, force: true })
})

/** Runs `dave` with a fresh HOME and test-network peer limits; fails the test with the output if `code` differs. */
const run = (args: ReadonlyArray<string>, code: number, options: { home?: string; stdin?: string | Uint8Array } = {}) =>
  Effect.gen(function* () {
    const result = yield* dave(["--peer-limits", "loopback", "--timeout-ms", "8000", ...args], {
      home: options.home ?? tempDir("dave-home-"),
      ...(options.stdin === undefined ? {} : { stdin: options.stdin })
    })
    if (result.code !== code) expect.fail(`expected exit ${code}, got ${describeRun(result)}`)
    return result
  })

const jsonOf = (result: Run): Record<string, unknown> => JSON.parse(result.stdout) as Record<string, unknown>

layer(Layer.effect(Daemons, DaemonProcess.startThree), { timeout: "60 seconds", excludeTestServices: true })(
  "dave against three daemons on ::1",
  (it) => {
    it.effect(
      "keygen, put through one node, get from the others, --json, --author, stdin and --file, not found",
      () =>
        Effect.gen(function* () {
          const [a, b, c] = yield* Daemons
          const dir = tempDir("dave-cli-")
          const keyFile = Path.join(dir, "keys", "author.key")

          // keygen: 64 bytes, mode 0600, the public key on stdout; no overwrite without --force.
          const keygen = yield* run(["keygen", keyFile], 0)
          const publicKey = keygen.stdout.trim()
          expect(publicKey).toMatch(/^[0-9a-f]{64}$/)
          const stat = Fs.statSync(keyFile)
          expect(stat.size).toBe(64)
          expect(stat.mode & 0o777).toBe(0o600)
          expect(Fs.readFileSync(keyFile).subarray(32).toString("hex")).toBe(publicKey)
          const again = yield* run(["keygen", keyFile], 1)
          expect(again.stderr).toContain("already exists")
          expect(Fs.readFileSync(keyFile).subarray(32).toString("hex")).toBe(publicKey)

          // put through the first node: progress on stderr, the replica count on stdout.
          const put = yield* run(["--node", a!.addressText, "--key-file", keyFile, "put", "greeting", "hello dave"], 0)
          expect(put.stdout.trim()).toBe("stored on 3 replicas")
          expect(put.stderr).toMatch(/work solved: 8 bits, [\d,]+ hashes/)

          // get through the other two: the raw value alone on stdout; --json: the whole verified entry.
          const [raw, json] = yield* Effect.all(
            [
              run(["--node", b!.addressText, "--key-file", keyFile, "get", "greeting"], 0),
              run(["get", "greeting", "--author", publicKey, "--node", c!.addressText, "--json"], 0)
            ],
            { concurrency: "unbounded" }
          )
          expect(raw.stdout).toBe("hello dave")
          const entry = jsonOf(json)
          expect(entry.author).toBe(publicKey)
          expect(entry.key).toBe("greeting")
          expect(entry.value).toBe("hello dave")
          expect(entry.valueHex).toBe(Buffer.from("hello dave").toString("hex"))
          expect(entry.workBits).toBeGreaterThanOrEqual(8)
          expect(entry.sig).toMatch(/^[0-9a-f]{128}$/)
          expect(new Set(entry.replicas as Array<string>)).toEqual(
            new Set([a!, b!, c!].map((d) => d.nodeId.toString()).concat("0"))
          )

          // Raw bytes from stdin, with a new HOME: the key file is created there, with a notice.
          // And a value from --file.
          const home = tempDir("dave-home-")
          const bytes = Uint8Array.from([0, 1, 2, 255, 10, 13])
          const valueFile = Path.join(dir, "value.txt")
          Fs.writeFileSync(valueFile, "from a file")
          const [fromStdin] = yield* Effect.all(
            [
              run(["--node", b!.addressText, "--json", "put", "binary"], 0, { home, stdin: bytes }),
              run(["--node", c!.addressText, "--key-file", keyFile, "put", "filed", "--file", valueFile], 0)
            ],
            { concurrency: "unbounded" }
          )
          const homeKey = Path.join(home, ".dave", "key")
          expect(fromStdin.stderr).toContain(`created a new key file at ${homeKey}`)
          const putJson = jsonOf(fromStdin)
          expect(putJson.replicas).toBe(3)
          expect(putJson.author).toBe(Fs.readFileSync(homeKey).subarray(32).toString("hex"))

          // Read back through the first node; a missing key is exit 2 with nothing on stdout.
          const [binary, filed, missing] = yield* Effect.all(
            [
              run(["--node", a!.addressText, "get", "binary"], 0, { home }),
              run(["--node", a!.addressText, "--key-file", keyFile, "get", "filed"], 0),
              run(["--node", b!.addressText, "--key-file", keyFile, "get", "no such key"], 2)
            ],
            { concurrency: "unbounded" }
          )
          expect(Array.from(binary.stdoutBytes)).toEqual(Array.from(bytes))
          expect(filed.stdout).toBe("from a file")
          expect(missing.stdout).toBe("")
          expect(missing.stderr).toContain(`not found: "no such key" by ${publicKey}`)
        }),
      90_000
    )

    it.effect(
      "peers and status from the admin API: tables and --json",
      () =>
        Effect.gen(function* () {
          const [a, b, c] = yield* Daemons
          const [peersTable, peersJson, statusTable, statusJson] = yield* Effect.all(
            [
              run(["--admin", a!.admin, "peers"], 0),
              run(["--admin", a!.admin, "peers", "--json"], 0),
              run(["status", "--admin", b!.admin.replace("http://", "")], 0),
              run(["--json", "--admin", b!.admin, "status"], 0)
            ],
            { concurrency: "unbounded" }
          )
          const header = peersTable.stdout.split("\n")[0]!
          expect(header).toMatch(/^ADDRESS\s+NODE ID\s+EDGE\s+ACTIVE\s+VERIFIED\s+RELIABILITY\s+LAST SEEN$/)
          expect(peersTable.stdout).toContain(b!.addressText)
          expect(peersTable.stdout).toContain(c!.nodeId.toString())
          const peers = (jsonOf(peersJson).peers as Array<Record<string, unknown>>) ?? []
          const byAddress = new Map(peers.map((p) => [p.address, p]))
          expect(byAddress.get(b!.addressText)?.nodeId).toBe(b!.nodeId.toString())
          expect(byAddress.get(c!.addressText)?.publicKey).toBe(c!.publicKey)
          expect(typeof byAddress.get(b!.addressText)?.active).toBe("boolean")

          expect(statusTable.stdout).toMatch(new RegExp(`^node ID\\s+${b!.nodeId}$`, "m"))
          expect(statusTable.stdout).toMatch(new RegExp(`^address\\s+\\[::1\\]:${b!.address.port}$`, "m"))
          const status = jsonOf(statusJson)
          expect(status.nodeId).toBe(b!.nodeId.toString())
          expect(status.publicKey).toBe(b!.publicKey)
          expect(status.version).toBe("0.1.0")
          expect((status.peers as { total: number }).total).toBeGreaterThanOrEqual(1)
        }),
      60_000
    )
  }
)
