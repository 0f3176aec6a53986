import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Address, type AddrPort } from "@dave/protocol"

/**
 * Our daemon (apps/node/src/main.ts) as a child process on 127.0.0.1 with loopback peer limits and
 * no backup. Every daemon started here is killed when this process exits.
 */

const DAEMON_MAIN = Path.resolve(import.meta.dirname, "../../apps/node/src/main.ts")
const LISTEN_LIMIT_MS = 90_000
const STOP_LIMIT_MS = 5_000

export interface Daemon {
  readonly child: ChildProcess
  readonly address: AddrPort
  readonly nodeId: bigint
  /** host:port of the admin API, or "off". */
  readonly admin: string
  readonly exited: Promise<void>
}

export interface DaemonOptions {
  readonly dataDir: string
  readonly edge?: AddrPort
  /** "127.0.0.1:0" (default) or "off". */
  readonly admin?: string
  readonly capacity?: string
  readonly execArgv?: ReadonlyArray<string>
}

/**
 * V8's compile cache, shared by the daemons of one run: each daemon otherwise spends ~1.5 s of CPU
 * compiling effect and our sources, which with 20 daemons on 2 cores is most of a network's start.
 */
const compileCache = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-bench-compile-cache-"))

const children = new Set<ChildProcess>()
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  Fs.rmSync(compileCache, { recursive: true, force: true })
})

export const start = (options: DaemonOptions): Promise<Daemon> =>
  new Promise((resolve, reject) => {
    const args = ["--listen", "127.0.0.1:0", "--data-dir", options.dataDir, "--peer-limits", "loopback", "--no-backup"]
    args.push("--admin", options.admin ?? "127.0.0.1:0", "--capacity", options.capacity ?? "64MiB")
    if (options.edge !== undefined) args.push("--edge", Address.toString(options.edge))
    const child = spawn(process.execPath, [...(options.execArgv ?? []), "--conditions=source", DAEMON_MAIN, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, DAVE_EDGES: "", DAVE_CONFIG: "", NODE_COMPILE_CACHE: compileCache }
    })
    children.add(child)
    const exited = new Promise<void>((done) => child.on("exit", () => done()))
    const timer = setTimeout(
      () => reject(new Error(`a daemon did not log "listening" in ${LISTEN_LIMIT_MS} ms`)),
      LISTEN_LIMIT_MS
    )
    let buffered = ""
    let listening = false
    child.stderr!.setEncoding("utf8")
    child.stderr!.on("data", (chunk: string) => {
      // After "listening" the log is read and dropped, so the daemon never blocks on a full pipe.
      if (listening) return
      buffered += chunk
      const lines = buffered.split("\n")
      buffered = lines.pop()!
      for (const text of lines) {
        if (!text.startsWith("{")) continue
        const line = JSON.parse(text) as { message: string; annotations: Record<string, unknown> }
        if (line.message !== "listening") continue
        listening = true
        clearTimeout(timer)
        const a = line.annotations
        const address = Address.parse(String(a.address))
        if (address === undefined) return reject(new Error(`bad address ${String(a.address)}`))
        return resolve({ child, address, nodeId: BigInt(String(a.nodeId)), admin: String(a.admin ?? "off"), exited })
      }
    })
    child.on("exit", (code) => {
      clearTimeout(timer)
      if (!listening) reject(new Error(`a daemon exited before listening (code ${code})`))
    })
  })

/** SIGTERM, then SIGKILL for any still running after STOP_LIMIT_MS. */
export const stop = async (daemons: ReadonlyArray<Daemon>): Promise<void> => {
  for (const d of daemons) if (d.child.exitCode === null) d.child.kill("SIGTERM")
  const all = Promise.all(daemons.map((d) => d.exited))
  const timedOut = (ms: number) => new Promise<"late">((resolve) => setTimeout(() => resolve("late"), ms))
  if ((await Promise.race([all, timedOut(STOP_LIMIT_MS)])) === "late") {
    for (const d of daemons) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill("SIGKILL")
    await Promise.race([all, timedOut(STOP_LIMIT_MS)])
  }
  for (const d of daemons) children.delete(d.child)
}
