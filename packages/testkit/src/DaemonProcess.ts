import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Address, type AddrPort } from "@dave/protocol"
import { Effect, type Scope } from "effect"

/**
 * Real daemon processes (apps/node, run from source) on ::1 with ephemeral UDP and admin ports,
 * no backup, loopback peer limits; each is killed and its data directory removed with the scope.
 * The daemon's own suite (apps/node/test) has a richer harness with log waiting and signals.
 */

const MAIN = Path.resolve(import.meta.dirname, "../../../apps/node/src/main.ts")

export interface Daemon {
  readonly child: ChildProcess
  readonly address: AddrPort
  /** `[::1]:port`, as flags take it. */
  readonly addressText: string
  /** Base URL of the admin API. */
  readonly admin: string
  readonly nodeId: bigint
  readonly publicKey: string
  readonly stderr: () => string
  readonly dataDir: string
}

interface LogLine {
  readonly message: string
  readonly annotations: Record<string, unknown>
}

/** Without DAVE_* from the caller's environment, which would change the daemon's settings. */
const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("DAVE_")))

/** Starts a daemon with `edges` and waits for its "listening" line. */
export const start = (
  edges: ReadonlyArray<AddrPort> = [],
  timeoutMs = 30_000
): Effect.Effect<Daemon, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<Daemon, Error>((resume) => {
      const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-testkit-daemon-"))
      const args = [
        "--conditions=source",
        MAIN,
        "--listen",
        "[::1]:0",
        "--data-dir",
        dataDir,
        "--no-backup",
        "--peer-limits",
        "loopback",
        "--capacity",
        "16MiB",
        "--admin",
        "127.0.0.1:0",
        ...edges.flatMap((e) => ["--edge", Address.toString(e)])
      ]
      const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env: cleanEnv() })
      let text = ""
      let settled = false
      const finish = (result: Effect.Effect<Daemon, Error>) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resume(result)
      }
      const timer = setTimeout(() => {
        child.kill("SIGKILL")
        finish(Effect.fail(new Error(`daemon did not start within ${timeoutMs} ms: ${text.slice(-2000)}`)))
      }, timeoutMs)
      child.on("exit", (code) =>
        finish(Effect.fail(new Error(`daemon exited (${code}) before listening: ${text.slice(-2000)}`)))
      )
      child.stderr!.setEncoding("utf8")
      child.stderr!.on("data", (chunk: string) => {
        text += chunk
        // Only the lines up to "listening" matter; afterwards keep a bounded tail.
        if (settled && text.length > 64_000) text = text.slice(-32_000)
        for (const raw of text.split("\n")) {
          if (!raw.startsWith("{") || !raw.includes('"listening"')) continue
          const line = JSON.parse(raw) as LogLine
          if (line.message !== "listening") continue
          const a = line.annotations
          finish(
            Effect.succeed({
              child,
              address: Address.parse(String(a.address))!,
              addressText: String(a.address),
              admin: `http://${String(a.admin)}`,
              nodeId: BigInt(String(a.nodeId)),
              publicKey: String(a.publicKey),
              stderr: () => text,
              dataDir
            })
          )
        }
      })
    }),
    (d) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            if (d.child.exitCode !== null || d.child.signalCode !== null) return resolve()
            d.child.once("exit", () => resolve())
            d.child.kill("SIGKILL")
          })
      ).pipe(Effect.andThen(Effect.sync(() => Fs.rmSync(d.dataDir, { recursive: true, force: true }))))
  )

/** Three daemons on ::1, the second and third with the first as their edge. */
export const startThree: Effect.Effect<ReadonlyArray<Daemon>, Error, Scope.Scope> = Effect.gen(function* () {
  const first = yield* start()
  const rest = yield* Effect.all([start([first.address]), start([first.address])], { concurrency: "unbounded" })
  return [first, ...rest]
})

/** A UDP port on ::1 that nobody listens on (bound once, then released). */
export const freeUdpPort: Effect.Effect<number> = Effect.promise(async () => {
  const Dgram = await import("node:dgram")
  return new Promise<number>((resolve) => {
    const socket = Dgram.createSocket("udp6")
    socket.bind(0, "::1", () => {
      const port = socket.address().port
      socket.close(() => resolve(port))
    })
  })
})
