/**
 * A child process that floods one address with invalid datagrams at a target rate, for the flood
 * run (Flood.ts): `node FloodSender.ts --from-host H --to-host H --to-port P --rate N --seconds S
 * [--threads T]`. With T > 1 the rate is split over T worker threads of this one process (one
 * thread cannot send 50,000 datagrams/s on a busy machine). Prints `ready` once every socket is
 * bound, then, when done, one JSON line: `{"sent":..,"elapsedMs":..,"ratePerSecond":..,"steadyRatePerSecond":..}`
 * (the steady rate leaves out the first --warm-up-ms). Bounded
 * by --seconds; loopback addresses only.
 */
import * as Dgram from "node:dgram"
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads"
import { Codec } from "@dave/protocol"
import { Result } from "effect"
import * as In from "./FuzzInput.ts"

interface Job {
  readonly fromHost: string
  readonly toHost: string
  readonly toPort: number
  readonly rate: number
  readonly seconds: number
  /** The first ms of the flood, left out of the steady rate (the honest GETs skip them too). */
  readonly warmUpMs: number
  readonly seed: number
}

interface Sent {
  readonly sent: number
  readonly elapsedMs: number
  /** Sent after the warm-up, and over how long: the window the honest GETs are timed in. */
  readonly steadySent: number
  readonly steadyMs: number
}

type FromWorker = { readonly ready: true } | Sent

const SOCKETS = 8
/** Most datagrams sent between two yields to the event loop. */
const MAX_BURST = 2_000
/**
 * Most of the schedule a sender that fell behind may catch up, in ms of its rate. Without a bound a
 * slow start (a cold JIT, a descheduled thread) is repaid later in back-to-back bursts far above the
 * asked rate; with it the flood stays at its rate and a shortfall shows in the achieved rate.
 */
const MAX_DEBT_MS = 5

/** 1024 datagrams that do not decode: defined ops with wrong lengths, unknown ops, random bytes. */
const pool = (seed: number): Array<Uint8Array> => {
  const next = In.prng(seed)
  const out: Array<Uint8Array> = []
  for (let i = 0; out.length < 1024 && i < 100_000; i++) {
    const bytes = In.fillRandom(new Uint8Array(1 + In.below(next, 200)), next)
    bytes[0] = i % 3 === 0 ? In.below(next, 256) : In.below(next, 8)
    if (Result.isFailure(Codec.decode(bytes))) out.push(bytes)
  }
  return out
}

const bind = (job: Job): Promise<Dgram.Socket> =>
  new Promise((resolve, reject) => {
    const s = Dgram.createSocket({ type: job.fromHost.includes(":") ? "udp6" : "udp4" })
    s.once("error", reject)
    s.bind(0, job.fromHost, () => {
      s.removeAllListeners("error")
      s.on("error", () => {})
      s.connect(job.toPort, job.toHost, () => resolve(s))
    })
  })

/** Sends at `job.rate` for `job.seconds`; `onReady` once the sockets are bound, before the first send. */
const flood = async (job: Job, onReady: () => Promise<void>): Promise<Sent> => {
  const datagrams = pool(job.seed)
  const sockets = await Promise.all(Array.from({ length: SOCKETS }, () => bind(job)))
  await onReady()
  const startedMs = performance.now()
  const endMs = startedMs + job.seconds * 1000
  const maxDebt = Math.max(1, Math.ceil((job.rate * MAX_DEBT_MS) / 1000))
  const steadyFromMs = startedMs + Math.min(job.warmUpMs, (job.seconds * 1000) / 2)
  let sent = 0
  let sentAtSteady = -1
  // Datagrams of the schedule given up because the sender was too far behind.
  let forgiven = 0
  while (performance.now() < endMs) {
    if (sentAtSteady < 0 && performance.now() >= steadyFromMs) sentAtSteady = sent
    const scheduled = Math.floor((job.rate * (performance.now() - startedMs)) / 1000) - forgiven
    if (scheduled - sent > maxDebt) forgiven += scheduled - sent - maxDebt
    const due = Math.min(MAX_BURST, scheduled - sent, maxDebt)
    for (let k = 0; k < due; k++, sent++) sockets[sent % SOCKETS]!.send(datagrams[sent % datagrams.length]!)
    await new Promise((resolve) => (due > 0 ? setImmediate(resolve) : setTimeout(resolve, 1)))
  }
  const elapsedMs = performance.now() - startedMs
  for (const s of sockets) s.close()
  const steadySent = sent - Math.max(0, sentAtSteady)
  return { sent, elapsedMs, steadySent, steadyMs: performance.now() - Math.max(startedMs, steadyFromMs) }
}

const arg = (name: string, fallback?: string): string => {
  const at = process.argv.indexOf(`--${name}`)
  const value = at < 0 ? fallback : process.argv[at + 1]
  if (value === undefined) throw new Error(`missing --${name}`)
  return value
}

const main = async (): Promise<void> => {
  const threads = Math.max(1, Math.min(8, Number(arg("threads", "1"))))
  const base = {
    fromHost: arg("from-host"),
    toHost: arg("to-host"),
    toPort: Number(arg("to-port")),
    rate: Number(arg("rate")) / threads,
    seconds: Number(arg("seconds")),
    warmUpMs: Number(arg("warm-up-ms", "0"))
  }
  if (!/^127\.|^::1$/.test(base.fromHost) || !/^127\.|^::1$/.test(base.toHost)) {
    throw new Error("loopback addresses only")
  }
  // Every thread binds first; all start sending together once the parent says go.
  const workers = Array.from(
    { length: threads },
    (_, i) =>
      new Worker(new URL(import.meta.url), {
        workerData: { ...base, seed: 8 + i } satisfies Job,
        execArgv: ["--conditions=source"]
      })
  )
  const replies = workers.map((w) => {
    const ready = new Promise<void>((resolve) => w.once("message", () => resolve()))
    return { ready, done: ready.then(() => new Promise<FromWorker>((resolve) => w.once("message", resolve))) }
  })
  await Promise.all(replies.map((r) => r.ready))
  console.log("ready")
  for (const w of workers) w.postMessage("go")
  const results = (await Promise.all(replies.map((r) => r.done))) as Array<Sent>
  const sent = results.reduce((n, r) => n + r.sent, 0)
  const elapsedMs = Math.max(...results.map((r) => r.elapsedMs))
  const steadySent = results.reduce((n, r) => n + r.steadySent, 0)
  const steadyMs = Math.max(...results.map((r) => r.steadyMs))
  console.log(
    JSON.stringify({
      sent,
      elapsedMs: Math.round(elapsedMs),
      ratePerSecond: Math.round((sent / elapsedMs) * 1000),
      steadyRatePerSecond: Math.round((steadySent / steadyMs) * 1000)
    })
  )
}

if (isMainThread) {
  await main()
} else {
  const job = workerData as Job
  const go = new Promise<void>((resolve) => parentPort!.once("message", () => resolve()))
  const result = await flood(job, async () => {
    parentPort!.postMessage({ ready: true } satisfies FromWorker)
    await go
  })
  parentPort!.postMessage(result satisfies FromWorker)
}
