import { spawn } from "node:child_process"
import * as Path from "node:path"
import { Effect } from "effect"

/** Runs the real `dave` (bin/dave.js, as a user would) and collects what it printed and its exit code. */

export const BIN = Path.resolve(import.meta.dirname, "../../bin/dave.js")

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stdoutBytes: Buffer
  readonly stderr: string
  readonly elapsedMs: number
}

export interface RunOptions {
  /** Bytes on stdin; without it stdin is empty (/dev/null). */
  readonly stdin?: string | Uint8Array
  /** Environment on top of a clean one (no DAVE_*, HOME = `home`). */
  readonly env?: Record<string, string>
  /** A HOME for the run, so ~/.dave of the machine is never touched. */
  readonly home: string
  /** Killed after this long (the test then fails on the code). */
  readonly killAfterMs?: number
  /** The executable: this Node (default), or the file itself so its shebang picks the Node. */
  readonly via?: "execPath" | "shebang"
}

const cleanEnv = (home: string, extra: Record<string, string> | undefined): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("DAVE_"))),
  HOME: home,
  ...extra
})

export const dave = (args: ReadonlyArray<string>, options: RunOptions): Effect.Effect<Run> =>
  Effect.callback<Run>((resume) => {
    const startMs = Date.now()
    const [command, argv] = options.via === "shebang" ? [BIN, [...args]] : [process.execPath, [BIN, ...args]]
    const child = spawn(command, argv, {
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: cleanEnv(options.home, options.env)
    })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout!.on("data", (b: Buffer) => out.push(b))
    child.stderr!.on("data", (b: Buffer) => err.push(b))
    if (options.stdin !== undefined) child.stdin!.end(options.stdin)
    const timer = setTimeout(() => child.kill("SIGKILL"), options.killAfterMs ?? 30_000)
    child.on("close", (code) => {
      clearTimeout(timer)
      const stdoutBytes = Buffer.concat(out)
      resume(
        Effect.succeed({
          code,
          stdout: stdoutBytes.toString("utf8"),
          stdoutBytes,
          stderr: Buffer.concat(err).toString("utf8"),
          elapsedMs: Date.now() - startMs
        })
      )
    })
    return Effect.sync(() => {
      clearTimeout(timer)
      child.kill("SIGKILL")
    })
  })

/** What a failed expectation about a run should show. */
export const describeRun = (run: Run): string =>
  `exit ${run.code} after ${run.elapsedMs} ms\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`
