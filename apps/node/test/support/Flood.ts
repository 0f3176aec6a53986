import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { Message } from "@dave/protocol"
import { Effect, Fiber, type Scope } from "effect"
import { seedOf } from "./Client.ts"
import { makeAuthor, putBytes, quantile, startDaemon, tempDir } from "./HardenDaemon.ts"
import { type GetReply, getMany, type Probe, probe } from "./Probe.ts"
import { breakdown, scrape, total } from "./Scrape.ts"

/**
 * Issue 8.2: one process floods a live daemon with invalid datagrams from 127.0.0.2 while this one,
 * a verified honest peer on 127.0.1.1 (another IP and another /24), times GETs of entries it stored
 * before. The daemon runs with the internet peer limits, so its socket's per-source guard drops the
 * flood on arrival and what passes meets the peer table's per-IP limit. The sender holds its rate
 * without catch-up bursts; the report gives the daemon's read rate, CPU, run-queue wait and
 * event-loop delay per second, so a stall can be told apart from the machine's other load.
 * Goals: the flood reaches its rate, honest p99 < 10 ms (a GET that gets no answer counts as
 * infinitely slow), every entry stored before is served after, and the rate limiting and drops
 * show in /metrics.
 */

export const P99_LIMIT_MS = 10

export interface FloodOptions {
  readonly ratePerSecond: number
  /** Threads of the flood process sharing the rate. */
  readonly threads: number
  readonly floodMs: number
  /** Entries the honest peer stores before the flood and reads back after it. */
  readonly entries: number
  /** Time between two honest GETs. */
  readonly getEveryMs: number
  /** Honest GETs timed without the flood first, for comparison. */
  readonly baselineMs: number
}

export interface Latency {
  readonly gets: number
  readonly unanswered: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  /** The slowest GET sent in each second of the run (infinite: unanswered). */
  readonly maxMsBySecond: ReadonlyArray<number>
}

export interface FloodReport {
  readonly flood: {
    readonly sent: number
    readonly elapsedMs: number
    readonly ratePerSecond: number
    /** Over the window the honest GETs are timed in (after the warm-up). */
    readonly steadyRatePerSecond: number
  }
  readonly baseline: Latency
  readonly underFlood: Latency
  readonly entries: number
  readonly entriesLost: number
  readonly rateLimited: Record<string, number>
  readonly droppedByReason: Record<string, number>
  /** Datagrams the socket dropped on arrival by source rate (SourceGuard), by scope (ip, prefix). */
  readonly socketLimited: Record<string, number>
  /** Datagrams the daemon passed on to the node (not dropped by the socket's guard). */
  readonly daemonDatagramsIn: number
  /** Datagrams the daemon read in each second of the flood (passed on or dropped by the guard), from its metrics. */
  readonly readPerSecond: ReadonlyArray<number>
  /** The daemon's CPU ms and its longest event-loop delay (ms) in each second of the flood, from its metrics. */
  readonly cpuMsPerSecond: ReadonlyArray<number>
  /**
   * How long the daemon's main thread waited for a CPU while runnable in each second (Linux
   * /proc/PID/schedstat; empty elsewhere): contention from other processes, not the daemon's doing.
   */
  readonly cpuWaitMsPerSecond: ReadonlyArray<number>
  readonly loopDelayMaxMsPerSecond: ReadonlyArray<number>
  /** Kernel receive-buffer drops, from /metrics (`dave_transport_kernel_drops_total`). */
  readonly kernelDrops: number
  readonly receiveQueueDrops: number
  /** The daemon's CPU time over the flood, from /metrics (`process_cpu_seconds_total`). */
  readonly daemonCpuSeconds: number
  readonly daemonAlive: boolean
}

const FLOOD_HOST = "127.0.0.2"
const HONEST_HOST = "127.0.1.1"
const SENDER = Path.resolve(import.meta.dirname, "FloodSender.ts")

interface FloodChild {
  readonly ready: Effect.Effect<void, Error>
  readonly done: Effect.Effect<FloodReport["flood"], Error>
}

/** Starts the flood process (killed with the scope); `ready` once its sockets are bound. */
const floodProcess = (toPort: number, options: FloodOptions): Effect.Effect<FloodChild, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(
        process.execPath,
        [
          "--conditions=source",
          SENDER,
          ...["--from-host", FLOOD_HOST, "--to-host", "127.0.0.1", "--to-port", String(toPort)],
          ...["--rate", String(options.ratePerSecond), "--seconds", String(options.floodMs / 1000)],
          ...["--threads", String(options.threads), "--warm-up-ms", String(warmUpMs(options))]
        ],
        { stdio: ["ignore", "pipe", "pipe"] }
      )
      let stdout = ""
      let stderr = ""
      const lineWaiters: Array<() => void> = []
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk
        for (const w of lineWaiters.splice(0)) w()
      })
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk
      })
      const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
      const ready = Effect.callback<void, Error>((resume) => {
        const check = () => {
          if (stdout.includes("ready\n")) resume(Effect.void)
          else if (child.exitCode !== null) resume(Effect.fail(new Error(`the flood process exited: ${stderr}`)))
          else lineWaiters.push(check)
        }
        check()
        child.on("exit", check)
      }).pipe(
        Effect.timeoutOrElse({
          duration: 30_000,
          orElse: () => Effect.fail(new Error("the flood process did not start within 30 s"))
        })
      )
      const done = Effect.tryPromise({
        try: async () => {
          await exited
          const last = stdout.trim().split("\n").pop() ?? ""
          return JSON.parse(last) as FloodReport["flood"]
        },
        catch: () => new Error(`the flood process gave no figures: ${stdout.slice(-300)} ${stderr.slice(-300)}`)
      })
      return { child, ready, done }
    }),
    ({ child }) =>
      Effect.sync(() => {
        if (child.exitCode === null) child.kill("SIGKILL")
      })
  )

/** Times one GET every `everyMs` for `durationMs`, each answered or given up after 1 s. */
const timeGets = (
  p: Probe,
  to: Parameters<Probe["get"]>[0],
  dats: ReadonlyArray<Message.Dat>,
  durationMs: number,
  everyMs: number
): Effect.Effect<Latency> =>
  Effect.promise(async () => {
    const replies: Array<Promise<GetReply>> = []
    const startedMs = performance.now()
    const most = Math.ceil(durationMs / everyMs)
    for (let i = 0; i < most && performance.now() - startedMs < durationMs; i++) {
      const dat = dats[i % dats.length]!
      replies.push(p.get(to, dat.pubKey, dat.key, 1_000))
      const waitMs = startedMs + (i + 1) * everyMs - performance.now()
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
    }
    const done = await Promise.all(replies)
    const ms = done.map((r) => (r.entry === "timeout" || r.entry === undefined ? Number.POSITIVE_INFINITY : r.rttMs))
    const perSecond = Math.max(1, Math.round(1000 / everyMs))
    const maxMsBySecond = Array.from({ length: Math.ceil(ms.length / perSecond) }, (_, s) =>
      Math.max(...ms.slice(s * perSecond, (s + 1) * perSecond))
    )
    return {
      gets: done.length,
      unanswered: done.filter((r) => r.entry === "timeout").length,
      p50Ms: quantile(ms, 0.5),
      p99Ms: quantile(ms, 0.99),
      maxMs: Math.max(...ms),
      maxMsBySecond
    }
  })

/** The flood's first ms, left out of the honest timing and the steady flood rate. */
const warmUpMs = (options: FloodOptions): number => Math.min(500, options.floodMs / 10)

export const run = (options: FloodOptions): Effect.Effect<FloodReport, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* tempDir("dave-flood-")
    const daemon = yield* startDaemon({ listen: "127.0.0.1:0", peerLimits: "internet", dataDir: dir, backup: false })
    const honest = yield* probe(HONEST_HOST, seedOf(71))
    yield* honest.awaitVerifiedBy(daemon.address, 10_000)
    const author = yield* makeAuthor(seedOf(72))
    const dats = yield* Effect.forEach(
      Array.from({ length: options.entries }, (_, i) => i),
      (i) => author.sign(`flood-${i}`, `value ${i}`, Date.now() - 1_000)
    )
    // Within the per-IP rate limit (200/s): 10 PUTs every 100 ms.
    for (let i = 0; i < dats.length; i += 10) {
      for (const dat of dats.slice(i, i + 10)) honest.send(daemon.address, putBytes(dat))
      yield* Effect.sleep(100)
    }
    const stored = yield* storedCount(honest, daemon.address, dats)
    if (stored < dats.length) {
      return yield* Effect.fail(new Error(`only ${stored} of ${dats.length} entries stored before the flood`))
    }
    const baseline = yield* timeGets(honest, daemon.address, dats, options.baselineMs, options.getEveryMs)
    const before = yield* scrape(daemon.admin)
    const flood = yield* floodProcess(daemon.address.port, options)
    yield* flood.ready
    // The daemon's read rate, second by second (its metrics move once a second).
    const readPerSecond: Array<number> = []
    const cpuMsPerSecond: Array<number> = []
    const cpuWaitMsPerSecond: Array<number> = []
    const pid = daemon.child.pid ?? 0
    const loopDelayMaxMsPerSecond: Array<number> = []
    const sampler = yield* Effect.forkScoped(
      Effect.gen(function* () {
        let last = readTotal(before)
        let lastCpu = total(before, "process_cpu_seconds_total")
        let lastWaitNs = runQueueWaitNs(pid)
        for (let s = 0; s < Math.ceil(options.floodMs / 1000) + 1; s++) {
          yield* Effect.sleep(1_000)
          const m = yield* Effect.orElseSucceed(scrape(daemon.admin), () => undefined)
          if (m === undefined) continue
          const now = readTotal(m)
          const cpu = total(m, "process_cpu_seconds_total")
          readPerSecond.push(now - last)
          cpuMsPerSecond.push(Math.round((cpu - lastCpu) * 1000))
          loopDelayMaxMsPerSecond.push(Math.round(total(m, "nodejs_eventloop_delay_max_seconds") * 1000))
          last = now
          lastCpu = cpu
          const waitNs = runQueueWaitNs(pid)
          if (waitNs !== undefined && lastWaitNs !== undefined)
            cpuWaitMsPerSecond.push(Math.round((waitNs - lastWaitNs) / 1e6))
          lastWaitNs = waitNs
        }
      })
    )
    // The flood's first moments (its sockets warming up) are left out of the timing.
    yield* Effect.sleep(warmUpMs(options))
    const underFlood = yield* timeGets(
      honest,
      daemon.address,
      dats,
      options.floodMs - Math.min(1_000, options.floodMs / 5),
      options.getEveryMs
    )
    const floodFigures = yield* flood.done
    yield* Fiber.interrupt(sampler)
    // Metrics reach /metrics within a second.
    yield* Effect.sleep(1_200)
    const daemonAlive = !daemon.exited()
    const after = daemonAlive ? yield* scrape(daemon.admin) : before
    const entriesAfter = daemonAlive ? yield* storedCount(honest, daemon.address, dats) : 0
    const delta = (name: string, where: Record<string, string> = {}) =>
      total(after, name, where) - total(before, name, where)
    const minus = (a: Record<string, number>, b: Record<string, number>) =>
      Object.fromEntries(
        Object.entries(a)
          .map(([k, n]) => [k, n - (b[k] ?? 0)] as const)
          .filter(([, n]) => n > 0)
      )
    return {
      flood: floodFigures,
      baseline,
      underFlood,
      entries: dats.length,
      entriesLost: dats.length - entriesAfter,
      rateLimited: minus(
        breakdown(after, "dave_peers_rate_limited_total", "scope"),
        breakdown(before, "dave_peers_rate_limited_total", "scope")
      ),
      droppedByReason: minus(
        breakdown(after, "dave_node_dropped_total", "reason"),
        breakdown(before, "dave_node_dropped_total", "reason")
      ),
      socketLimited: minus(
        {
          ip: total(after, "dave_transport_rate_limited_ip_total"),
          prefix: total(after, "dave_transport_rate_limited_prefix_total")
        },
        {
          ip: total(before, "dave_transport_rate_limited_ip_total"),
          prefix: total(before, "dave_transport_rate_limited_prefix_total")
        }
      ),
      daemonDatagramsIn: delta("dave_transport_datagrams_in_total"),
      readPerSecond,
      cpuMsPerSecond,
      cpuWaitMsPerSecond,
      loopDelayMaxMsPerSecond,
      kernelDrops: delta("dave_transport_kernel_drops_total"),
      receiveQueueDrops: delta("dave_transport_receive_queue_dropped_total"),
      daemonCpuSeconds: delta("process_cpu_seconds_total"),
      daemonAlive
    }
  })

/** Nanoseconds the process's main thread has waited on a run queue (Linux); undefined elsewhere. */
const runQueueWaitNs = (pid: number): number | undefined => {
  try {
    const fields = Fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").trim().split(" ")
    const waitNs = Number(fields[1])
    return Number.isFinite(waitNs) ? waitNs : undefined
  } catch {
    return undefined
  }
}

/** Datagrams the daemon read from its socket: passed on to the node or dropped by the source guard. */
const readTotal = (m: Parameters<typeof total>[0]): number =>
  total(m, "dave_transport_datagrams_in_total") +
  total(m, "dave_transport_rate_limited_ip_total") +
  total(m, "dave_transport_rate_limited_prefix_total")

/** How many of `dats` the daemon serves with their exact value. */
const storedCount = (p: Probe, to: Parameters<Probe["get"]>[0], dats: ReadonlyArray<Message.Dat>) =>
  Effect.gen(function* () {
    let served = 0
    // A few rounds: PUTs are verified off the event loop, and a read may meet the rate limit.
    for (let round = 0; round < 10 && served < dats.length; round++) {
      const replies = yield* getMany(p, to, dats, { window: 16, timeoutMs: 500, attempts: 2 })
      served = replies.filter(
        (r, i) => r.entry !== "timeout" && r.entry !== undefined && sameValue(r.entry.dat, dats[i]!)
      ).length
      if (served < dats.length) yield* Effect.sleep(300)
    }
    return served
  })

const sameValue = (a: Message.Dat, b: Message.Dat): boolean => Buffer.from(a.value).equals(Buffer.from(b.value))

const fmt = (ms: number): string => (Number.isFinite(ms) ? ms.toFixed(2) : "inf")

export const shortfalls = (r: FloodReport, options: FloodOptions): Array<string> => {
  const out: Array<string> = []
  if (!r.daemonAlive) out.push("the daemon died")
  if (r.flood.steadyRatePerSecond < options.ratePerSecond * 0.98) {
    out.push(`the flood reached ${r.flood.steadyRatePerSecond}/s of the ${options.ratePerSecond}/s asked`)
  }
  if (!(r.underFlood.p99Ms < P99_LIMIT_MS))
    out.push(`honest GET p99 ${fmt(r.underFlood.p99Ms)} ms under the flood (limit ${P99_LIMIT_MS} ms)`)
  if (r.entriesLost > 0) out.push(`${r.entriesLost} of ${r.entries} stored entries not served after the flood`)
  if (Object.keys(r.rateLimited).length + Object.keys(r.socketLimited).length === 0) {
    out.push("no rate limiting shows in /metrics")
  }
  if (Object.keys(r.droppedByReason).length === 0) out.push("no drops show in /metrics")
  return out
}

const latencyLine = (label: string, l: Latency): string =>
  `flood: honest GETs ${label}: ${l.gets}, unanswered ${l.unanswered}, p50 ${fmt(l.p50Ms)} ms, p99 ${fmt(l.p99Ms)} ms, max ${fmt(l.maxMs)} ms`

export const lines = (r: FloodReport, options: FloodOptions): Array<string> => {
  const read = r.readPerSecond.reduce((a, b) => a + b, 0)
  const cpuUsPerDatagram = read === 0 ? 0 : (r.daemonCpuSeconds * 1e6) / read
  return [
    `flood: invalid datagrams from ${FLOOD_HOST}, honest GETs from ${HONEST_HOST} (another IP and /24), ` +
      `daemon on 127.0.0.1 with internet peer limits`,
    `flood: sent ${r.flood.sent} invalid datagrams in ${(r.flood.elapsedMs / 1000).toFixed(1)} s from one process ` +
      `(${options.threads} thread${options.threads === 1 ? "" : "s"}), ` +
      `${r.flood.ratePerSecond}/s; ${r.flood.steadyRatePerSecond}/s while GETs were timed  (goal: ${options.ratePerSecond}/s)`,
    latencyLine("without flood", r.baseline),
    `${latencyLine("under flood", r.underFlood)}  (goal: p99 < ${P99_LIMIT_MS} ms)`,
    `flood: stored entries found after ${r.entries - r.entriesLost} of ${r.entries}, lost ${r.entriesLost}  (goal: 0 lost)`,
    `flood: /metrics socket rate limited ${JSON.stringify(r.socketLimited)}; peer rate limited ${JSON.stringify(r.rateLimited)}; ` +
      `node dropped ${JSON.stringify(r.droppedByReason)}  (goal: shown)`,
    `flood: /metrics kernel receive-buffer drops ${r.kernelDrops}, receive-queue drops ${r.receiveQueueDrops}, ` +
      `passed to the node ${r.daemonDatagramsIn}`,
    `flood: daemon read per second ${r.readPerSecond.join(" ")}`,
    `flood: daemon CPU ms per second ${r.cpuMsPerSecond.join(" ")}`,
    `flood: daemon waited for a CPU (ms) per second ${r.cpuWaitMsPerSecond.join(" ") || "(no /proc schedstat)"}`,
    `flood: daemon longest event-loop delay (ms) per second ${r.loopDelayMaxMsPerSecond.join(" ")}`,
    `flood: slowest honest GET in each second of the flood (ms) ${r.underFlood.maxMsBySecond.map(fmt).join(" ")}`,
    `flood: daemon CPU ${r.daemonCpuSeconds.toFixed(2)} s over the flood, ${cpuUsPerDatagram.toFixed(1)} µs per datagram read`
  ]
}
