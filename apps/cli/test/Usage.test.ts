import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { DaemonProcess } from "@dave/testkit"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { dave, describeRun } from "./support/Dave.ts"

/**
 * The real `dave` binary without a network: exit 3 when no node or admin API answers, exit 1 for
 * bad flags and arguments (with nothing on stdout), help, version and shell completions.
 */

const tempDirs: Array<string> = []
const tempDir = (prefix: string): string => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of tempDirs) Fs.rmSync(dir, { recursive: true, force: true })
})

describe("dave without a network", () => {
  it.live(
    "an unreachable node or admin API ends with exit 3 within the timeout",
    () =>
      Effect.gen(function* () {
        const port = yield* DaemonProcess.freeUdpPort
        const home = tempDir("dave-home-")
        const args = ["--node", `[::1]:${port}`, "--timeout-ms", "1500", "--author", "ab".repeat(32)]
        const [get, put, status] = yield* Effect.all(
          [
            dave(["get", "k", ...args], { home }),
            dave(["put", "k", "v", "--node", `[::1]:${port}`, "--timeout-ms", "1500"], { home }),
            dave(["status", "--admin", `127.0.0.1:${port}`, "--timeout-ms", "1500"], { home })
          ],
          { concurrency: "unbounded" }
        )
        for (const result of [get, put, status]) {
          expect(result.code, describeRun(result)).toBe(3)
          expect(result.stdout).toBe("")
          // The timeout plus the process's own start (slow on a busy machine).
          expect(result.elapsedMs).toBeLessThan(1_500 + 10_000)
        }
        expect(get.stderr).toContain(`no answer from [::1]:${port} within 1500 ms`)
        expect(status.stderr).toContain("admin API")
      }),
    60_000
  )

  it.live(
    "bad flags and arguments end with exit 1 and nothing on stdout",
    () =>
      Effect.gen(function* () {
        const home = tempDir("dave-home-")
        const runs = yield* Effect.all(
          [
            dave(["get", "--bogus", "k"], { home }),
            dave(["put"], { home }),
            dave(["get", "k", "--author", "xyz"], { home }),
            dave(["put", "k", "v", "--difficulty", "3"], { home }),
            dave(["get", "k"], { home })
          ],
          { concurrency: 3 }
        )
        for (const result of runs) {
          expect(result.code, describeRun(result)).toBe(1)
          expect(result.stdout).toBe("")
          expect(result.stderr.length).toBeGreaterThan(0)
        }
        expect(runs[0]!.stderr).toContain("--bogus")
        expect(runs[4]!.stderr).toContain("dave keygen")
        // A rejected put must not have created a key file on the way.
        expect(Fs.existsSync(Path.join(home, ".dave"))).toBe(false)
      }),
    60_000
  )

  it.live(
    "--help, --version and shell completions",
    () =>
      Effect.gen(function* () {
        const home = tempDir("dave-home-")
        const packageJson = JSON.parse(Fs.readFileSync(Path.resolve(import.meta.dirname, "../package.json"), "utf8"))
        const [help, putHelp, version, completions] = yield* Effect.all(
          [
            dave(["--help"], { home }),
            dave(["put", "--difficulty", "12", "--help"], { home }),
            // Through the shebang: whatever `node` is first on PATH (an old one re-runs with Node 24).
            dave(["--version"], { home, via: "shebang" }),
            dave(["--completions", "bash"], { home })
          ],
          { concurrency: 2 }
        )
        for (const result of [help, putHelp, version, completions]) expect(result.code, describeRun(result)).toBe(0)
        for (const name of ["keygen", "put", "get", "peers", "status"]) expect(help.stdout).toContain(name)
        expect(putHelp.stdout).toContain("--difficulty")
        expect(putHelp.stdout).toContain("--file")
        expect(version.stdout.trim()).toBe(`dave v${packageJson.version}`)
        expect(completions.stdout).toContain("complete")
        expect(completions.stdout).toContain("dave")
      }),
    60_000
  )
})
