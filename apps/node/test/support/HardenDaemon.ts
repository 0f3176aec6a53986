import * as Dgram from "node:dgram"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { DatSigning, Hasher, Signer, Work } from "@dave/crypto"
import { type AddrPort, Constants, type Message } from "@dave/protocol"
import { Effect, type Scope } from "effect"
import { freeTcpPort } from "./Admin.ts"
import { encode } from "./Client.ts"
import { type DaemonProcess, start } from "./DaemonProcess.ts"
import { inspectEnv } from "./Inspector.ts"
import { hostOf, isV4 } from "./Probe.ts"

/** The daemons of the hardening runs, their scratch directories, and plain fast UDP senders. */

export interface DaemonSpec {
  /** `127.0.0.1:0` or `[::1]:0`; the admin API is always on 127.0.0.1 with an ephemeral port. */
  readonly listen: string
  readonly peerLimits: "loopback" | "internet"
  readonly dataDir: string
  readonly backup: boolean
  /** Listen for the V8 inspector on 127.0.0.1 (for heap readings). */
  readonly inspect?: boolean
}

export interface HardenDaemon extends DaemonProcess {
  readonly admin: string
  /** The inspector's port, when `inspect` was asked for. */
  readonly inspectPort: number | undefined
}

const daemonArgs = (spec: DaemonSpec): Array<string> => [
  "--listen",
  spec.listen,
  "--data-dir",
  spec.dataDir,
  "--peer-limits",
  spec.peerLimits,
  "--capacity",
  "64MiB",
  "--admin",
  "127.0.0.1:0",
  ...(spec.backup ? [] : ["--no-backup"])
]

/** Starts a daemon (killed with the scope) and waits for its "listening" line. */
export const startDaemon = (spec: DaemonSpec): Effect.Effect<HardenDaemon, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const inspectPort = spec.inspect === true ? yield* freeTcpPort : undefined
    const daemon = yield* start(daemonArgs(spec), 30_000, inspectPort === undefined ? {} : inspectEnv(inspectPort))
    if (daemon.admin === undefined) return yield* Effect.fail(new Error("the daemon runs without its admin API"))
    return { ...daemon, admin: daemon.admin, inspectPort }
  })

/** A fresh directory under the OS temp dir, removed with the scope. */
export const tempDir = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )

/** Plain dgram sockets on `host` (ephemeral ports) that send without an Effect per datagram. */
export interface Senders {
  readonly sockets: ReadonlyArray<Dgram.Socket>
  readonly ports: ReadonlyArray<number>
  /** Sends from socket `i % sockets`. */
  readonly send: (i: number, to: AddrPort, bytes: Uint8Array) => void
  /** Bytes handed to each socket for sending, and received by each. */
  readonly sentBytes: ReadonlyArray<number>
  readonly receivedBytes: ReadonlyArray<number>
}

export const senders = (
  host: string,
  count: number,
  onMessage: (socketIndex: number, payload: Buffer) => void = () => {}
): Effect.Effect<Senders, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const sentBytes = new Array<number>(count).fill(0)
    const receivedBytes = new Array<number>(count).fill(0)
    const sockets = yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) =>
        Effect.acquireRelease(
          Effect.callback<Dgram.Socket, Error>((resume) => {
            const s = Dgram.createSocket({ type: isV4(host) ? "udp4" : "udp6" })
            s.once("error", (e) => resume(Effect.fail(new Error(`bind ${host}: ${e.message}`))))
            s.bind(0, host, () => {
              s.removeAllListeners("error")
              // ICMP errors from a dead port: the datagram is lost, which is all a sender learns.
              s.on("error", () => {})
              s.on("message", (m) => {
                receivedBytes[i]! += m.length
                onMessage(i, m)
              })
              resume(Effect.succeed(s))
            })
          }),
          (s) => Effect.sync(() => s.close())
        )
    )
    return {
      sockets,
      ports: sockets.map((s) => s.address().port),
      send: (i, to, bytes) => {
        const k = i % sockets.length
        sentBytes[k]! += bytes.length
        sockets[k]!.send(bytes, to.port, hostOf(to))
      },
      sentBytes,
      receivedBytes
    }
  })

/** Sends `frames` (each framed) on one TCP connection to the side channel; resolves when it closes. */
export const tcpSend = (to: AddrPort, chunks: ReadonlyArray<Uint8Array>, waitMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = Net.connect({ host: hostOf(to), port: to.port + 1 })
    const timer = setTimeout(() => {
      socket.destroy()
      resolve(false)
    }, waitMs)
    socket.on("connect", () => {
      for (const c of chunks) socket.write(c)
      socket.end()
    })
    socket.on("error", () => {})
    socket.on("close", () => {
      clearTimeout(timer)
      resolve(true)
    })
    socket.resume()
  })

export const framed = (message: Uint8Array): Uint8Array => {
  const out = new Uint8Array(message.length + 2)
  out[0] = message.length & 0xff
  out[1] = message.length >>> 8
  out.set(message, 2)
  return out
}

export const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** `p`-quantile (0..1) of `values` by the nearest-rank method; NaN for none. */
export const quantile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}

/** A test author: signs dats with little work (difficulty 8), its services built once. */
export interface Author {
  readonly publicKey: Uint8Array
  readonly sign: (key: string, value: string, timeMs: number) => Effect.Effect<Message.Dat>
}

export const makeAuthor = (seed: Uint8Array): Effect.Effect<Author> =>
  Effect.gen(function* () {
    const signer = yield* Effect.orDie(Signer.makeNative(seed))
    const hasher = yield* Hasher.makeWasm
    const work = Work.makeSingleThread(hasher)
    const sign = (key: string, value: string, timeMs: number): Effect.Effect<Message.Dat> =>
      DatSigning.signDat({
        key: new TextEncoder().encode(key),
        value: new TextEncoder().encode(value),
        timeMs,
        difficulty: Constants.MIN_WORK
      }).pipe(
        Effect.provideService(Signer.Signer, signer),
        Effect.provideService(Hasher.Hasher, hasher),
        Effect.provideService(Work.Work, work)
      )
    return { publicKey: signer.publicKey, sign }
  })

export const putBytes = (dat: Message.Dat): Uint8Array =>
  encode({ _tag: "Put", entry: { replicas: [0n, 0n, 0n, 0n, 0n], dat } })

export const mb = (bytes: number): string => (bytes / 1e6).toFixed(2)
