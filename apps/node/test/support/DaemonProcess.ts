import { type ChildProcess, spawn } from "node:child_process"
import * as Path from "node:path"
import { Address, type AddrPort } from "@dave/protocol"
import { Effect, type Scope } from "effect"

/** A real daemon process on loopback, its JSON log lines, and ways to stop it. */

const MAIN = Path.resolve(import.meta.dirname, "../../src/main.ts")

export interface LogLine {
  readonly message: string
  readonly level: string
  readonly annotations: Record<string, unknown>
}

export interface DaemonProcess {
  readonly child: ChildProcess
  readonly address: AddrPort
  readonly nodeId: bigint
  readonly publicKey: Uint8Array
  /** The admin API's bound address from the "listening" line (`127.0.0.1:41234`); undefined when off. */
  readonly admin: string | undefined
  readonly logs: ReadonlyArray<LogLine>
  /** Resolves with the first log line (already seen or future) matching `test`. */
  readonly waitForLog: (test: (line: LogLine) => boolean, timeoutMs: number) => Effect.Effect<LogLine, Error>
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<number | null>
  readonly exited: () => boolean
}

/**
 * Starts `node src/main.ts ...args` (with `env` added to this process's environment) and waits for
 * its "listening" line; killed with the scope.
 */
export const start = (
  args: ReadonlyArray<string>,
  timeoutMs = 45_000,
  env: Readonly<Record<string, string>> = {}
): Effect.Effect<DaemonProcess, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const child = spawn(process.execPath, ["--conditions=source", MAIN, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, DAVE_EDGES: "", ...env }
      })
      const logs: Array<LogLine> = []
      const waiters = new Set<(line: LogLine) => void>()
      let buffered = ""
      let rawTail = ""
      let exitCode: number | null | undefined
      child.stderr!.setEncoding("utf8")
      child.stderr!.on("data", (chunk: string) => {
        buffered += chunk
        rawTail = (rawTail + chunk).slice(-2_000)
        const lines = buffered.split("\n")
        buffered = lines.pop()!
        for (const text of lines) {
          if (!text.startsWith("{")) continue
          const line = JSON.parse(text) as LogLine
          logs.push(line)
          for (const w of waiters) w(line)
        }
      })
      const exit = new Promise<number | null>((resolve) =>
        child.on("exit", (code) => {
          exitCode = code
          resolve(code)
        })
      )
      const waitForLog = (test: (line: LogLine) => boolean, waitMs: number) =>
        Effect.callback<LogLine, Error>((resume) => {
          const seen = logs.find(test)
          if (seen !== undefined) return resume(Effect.succeed(seen))
          const waiter = (line: LogLine) => {
            if (!test(line)) return
            waiters.delete(waiter)
            resume(Effect.succeed(line))
          }
          waiters.add(waiter)
          return Effect.sync(() => waiters.delete(waiter))
        }).pipe(
          Effect.timeoutOrElse({
            duration: waitMs,
            orElse: () =>
              Effect.fail(
                new Error(
                  `no matching log line within ${waitMs} ms; last: ${JSON.stringify(logs.slice(-3))}; stderr: ${rawTail}`
                )
              )
          })
        )
      const listening = yield* waitForLog((l) => l.message === "listening", timeoutMs)
      const a = listening.annotations
      const address = Address.parse(String(a.address))!
      return {
        child,
        address,
        nodeId: BigInt(String(a.nodeId)),
        publicKey: Uint8Array.from(Buffer.from(String(a.publicKey), "hex")),
        admin: a.admin === undefined || a.admin === "off" ? undefined : String(a.admin),
        logs,
        waitForLog,
        kill: (signal: NodeJS.Signals) =>
          Effect.promise(() => {
            if (exitCode !== undefined) return Promise.resolve(exitCode)
            child.kill(signal)
            return exit
          }),
        exited: () => exitCode !== undefined
      } satisfies DaemonProcess
    }),
    (d) => d.kill("SIGKILL")
  )

export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface Spawned {
  readonly child: ChildProcess
  /** Resolves when the process has exited and its output is read, or kills it after `timeoutMs`. */
  readonly finished: Effect.Effect<Finished>
}

/** Spawns `node src/main.ts ...args` and collects its output, for tests that watch it to the end. */
export const spawnDaemon = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
  timeoutMs = 20_000
): Effect.Effect<Spawned, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, ["--conditions=source", MAIN, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, DAVE_EDGES: "", ...env }
      })
      let stdout = ""
      let stderr = ""
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk
      })
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk
      })
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
      const done = new Promise<Finished>((resolve) =>
        child.on("close", (code, signal) => {
          clearTimeout(timer)
          resolve({ code, signal, stdout, stderr })
        })
      )
      return { child, finished: Effect.promise(() => done) }
    }),
    ({ child }) =>
      Effect.sync(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      })
  )

/** Runs `node src/main.ts ...args` to its end (for start-up failures), killing it after `timeoutMs`. */
export const runToExit = (
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
  timeoutMs = 20_000
): Effect.Effect<Finished> => Effect.scoped(Effect.flatMap(spawnDaemon(args, env, timeoutMs), (s) => s.finished))

/**
 * The usual flags of a test daemon on ::1 with an ephemeral port (and an ephemeral admin port). PUTs
 * are verified on the event loop (`--verify-workers 0`): a worker thread per daemon doubles the start-up
 * work of suites that run many daemons on two cores; Shutdown.test.ts runs the default (auto).
 */
export const testArgs = (
  dataDir: string,
  edges: ReadonlyArray<AddrPort> = [],
  port = 0,
  verifyWorkers = "0"
): Array<string> => [
  "--verify-workers",
  verifyWorkers,
  "--listen",
  `[::1]:${port}`,
  "--data-dir",
  dataDir,
  "--peer-limits",
  "loopback",
  "--capacity",
  "64MiB",
  "--admin",
  "127.0.0.1:0",
  ...edges.flatMap((e) => ["--edge", Address.toString(e)])
]
