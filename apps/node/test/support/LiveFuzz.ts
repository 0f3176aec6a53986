import * as NodeCrypto from "node:crypto"
// By the package name: the hardening scripts run this file with plain node, which needs the source path.
import * as KernelUdp from "@dave/node/KernelUdp"
import { Constants, Dat, type Message } from "@dave/protocol"
import { Effect, type Scope } from "effect"
import { encode, seedOf } from "./Client.ts"
import * as In from "./FuzzInput.ts"
import {
  framed,
  type HardenDaemon,
  makeAuthor,
  mb,
  putBytes,
  type Senders,
  senders,
  sleepMs,
  startDaemon,
  tcpSend,
  tempDir
} from "./HardenDaemon.ts"
import { addrAckBytes, freshPingAnswer, signedPong } from "./Hostile.ts"
import { type HeapReading, heapAfterGc } from "./Inspector.ts"
import { type Probe, probe } from "./Probe.ts"
import { breakdown, scrape, total } from "./Scrape.ts"

/**
 * Issue 8.1, against a live daemon: hostile datagrams (FuzzInput's families) over UDP and as frames
 * on the TCP side channel, with health checks spread over the run. The node must not crash, must
 * keep answering PINGs from strangers and serving GETs to a verified peer, and its heap after a
 * full GC (read through the inspector) must not grow more than 5 MB over its size after a warm-up.
 * Datagrams are paced by the daemon's socket queue (/proc/net/udp6) so that they reach its
 * decoder rather than overflow the kernel buffer; the figures say how many did.
 */

export const HEAP_GROWTH_LIMIT_BYTES = 5_000_000

export interface LiveFuzzOptions {
  /** Datagrams in all, TCP frames included. */
  readonly datagrams: number
  readonly seed: number
  /** Share sent as TCP side-channel frames. */
  readonly tcpShare: number
  /** Upper bound on the sending rate. */
  readonly maxPerSecond: number
  /** Health checks spread over the run (besides the first and the last). */
  readonly checks: number
  /** The run stops sending when this has passed, and says so. */
  readonly timeLimitMs: number
  readonly log?: (line: string) => void
}

export interface LiveFuzzReport {
  readonly families: ReadonlyArray<{ readonly name: string; readonly via: "udp" | "tcp"; readonly sent: number }>
  readonly sentUdp: number
  readonly sentTcpFrames: number
  readonly tcpConnections: number
  readonly tcpConnectionsHung: number
  readonly elapsedMs: number
  readonly stoppedByTimeLimit: boolean
  /** Datagrams the daemon read off its socket during the run (its own metric). */
  readonly daemonDatagramsIn: number
  readonly kernelDrops: number
  readonly receiveQueueDrops: number
  /** Datagrams over 1424 bytes, which the daemon's transport drops before decoding. */
  readonly oversizeDrops: number
  readonly tcpFramesIn: number
  readonly droppedByReason: Record<string, number>
  readonly healthChecks: number
  readonly healthFailures: ReadonlyArray<string>
  readonly crashed: boolean
  readonly errorLogs: ReadonlyArray<string>
  readonly heapBaseline: HeapReading
  readonly heapFinal: HeapReading
}

const KEPT_VALUE = "fuzz-kept"

/** The valid messages every mutation starts from. */
const corpusOf = (kept: Message.Dat, largest: Message.Dat, daemon: HardenDaemon) =>
  Effect.gen(function* () {
    const challenge = NodeCrypto.randomBytes(Constants.CHALLENGE_LEN)
    const twelve = Array.from({ length: Constants.NPEER_LIMIT }, (_, i) => ({ ...daemon.address, port: 1000 + i }))
    return [
      putBytes(kept),
      putBytes(largest),
      encode({ _tag: "GetAck", entry: { replicas: [1n, 2n, 3n, 4n, 5n], dat: kept } }),
      encode({ _tag: "GetAck", entry: Dat.notFound(kept.pubKey, kept.key) }),
      encode({ _tag: "Ping", challenge, used: 5n, capacity: 1000n }),
      yield* signedPong(challenge, seedOf(31), []),
      yield* signedPong(challenge, seedOf(32), twelve),
      encode({ _tag: "Get", pubKey: kept.pubKey, key: kept.key }),
      Uint8Array.of(Constants.Op.GetMyAddrPort),
      addrAckBytes(daemon.address)
    ]
  })

interface Planned {
  readonly family: In.Family
  readonly via: "udp" | "tcp"
}

const plan = (corpus: ReadonlyArray<Uint8Array>, options: LiveFuzzOptions): Array<Planned> => {
  const udp = Math.round(options.datagrams * (1 - options.tcpShare))
  const tcp = options.datagrams - udp
  const puts = corpus.filter((m) => m[0] === Constants.Op.Put)
  const rounds = Math.max(1, Math.floor((0.3 * udp) / (In.MAX_DATAGRAM_BYTES + 1)))
  const random = In.randomEveryLength(rounds, options.seed)
  const flips = In.spread(In.truncationsAndFlips(corpus), Math.floor(0.15 * udp))
  const lengths = In.spread(In.hostileLengths(corpus), Math.floor(0.1 * udp))
  const udpHavoc = In.havoc(corpus, Math.max(0, udp - random.count - flips.count - lengths.count), options.seed)
  const tcpFlips = In.spread(In.asFrames(In.truncationsAndFlips(puts)), Math.floor(0.3 * tcp))
  const tcpLengths = In.spread(In.asFrames(In.hostileLengths(puts)), Math.floor(0.2 * tcp))
  const tcpRandom = In.spread(In.asFrames(In.randomEveryLength(1, options.seed + 1)), Math.floor(0.1 * tcp))
  const tcpHavoc = In.asFrames(
    In.havoc(puts, Math.max(0, tcp - tcpFlips.count - tcpLengths.count - tcpRandom.count), options.seed + 2)
  )
  return [
    ...[random, flips, lengths, udpHavoc].map((family) => ({ family, via: "udp" as const })),
    ...[tcpFlips, tcpLengths, tcpRandom, tcpHavoc].map((family) => ({ family, via: "tcp" as const }))
  ].filter((p) => p.family.count > 0)
}

/** Frame streams the side channel must refuse: bad lengths, and frames cut short or dribbled. */
const hostileStreams = (put: Uint8Array): Array<ReadonlyArray<Uint8Array>> => {
  const header = (n: number) => Uint8Array.of(n & 0xff, n >>> 8)
  const whole = framed(put)
  return [
    [header(0)],
    [header(Constants.MAX_MSG_LEN + 1), put],
    [header(0xffff), put],
    [whole, header(0)],
    [whole, whole.slice(0, 100)],
    [header(put.length)],
    Array.from(whole.subarray(0, 64), (b) => Uint8Array.of(b)),
    [whole.slice(0, 1), whole.slice(1)],
    Array.from({ length: 200 }, () => whole)
  ]
}

/** Most bytes left unread in the daemon's socket before the sender waits. */
const HIGH_WATER_BYTES = 1 << 20
const LOW_WATER_BYTES = 256 << 10
const BURST = 128

/** Sends a UDP family, pacing on the daemon's receive queue and `maxPerSecond`; returns how many it sent. */
const pumpUdp = async (
  out: Senders,
  daemon: HardenDaemon,
  family: In.Family,
  options: LiveFuzzOptions,
  deadlineMs: number
): Promise<number> => {
  const startedMs = performance.now()
  let sent = 0
  while (sent < family.count && Date.now() < deadlineMs) {
    const end = Math.min(family.count, sent + BURST)
    for (; sent < end; sent++) out.send(sent, daemon.address, family.at(sent))
    const aheadMs = (sent / options.maxPerSecond) * 1000 - (performance.now() - startedMs)
    if (aheadMs > 1) await sleepMs(aheadMs)
    // Bounded wait for the daemon to read what it was sent.
    let queued = KernelUdp.read(daemon.address.port)?.receiveQueueBytes ?? 0
    for (let wait = 0; queued > HIGH_WATER_BYTES && wait < 2_000; wait++) {
      await sleepMs(1)
      if (wait % 4 === 3) queued = KernelUdp.read(daemon.address.port)?.receiveQueueBytes ?? 0
      if (queued < LOW_WATER_BYTES) break
    }
    if (sent % 4096 < BURST) await new Promise((resolve) => setImmediate(resolve))
  }
  return sent
}

const FRAMES_PER_CONNECTION = 100
const TCP_CONCURRENCY = 4

/** Sends a family as frames, FRAMES_PER_CONNECTION per connection, a few connections at a time. */
const pumpTcp = async (
  daemon: HardenDaemon,
  family: In.Family,
  deadlineMs: number,
  counts: { connections: number; hung: number }
): Promise<number> => {
  let next = 0
  let sent = 0
  const worker = async (): Promise<void> => {
    while (next < family.count && Date.now() < deadlineMs) {
      const first = next
      next = Math.min(family.count, next + FRAMES_PER_CONNECTION)
      const frames = Array.from({ length: next - first }, (_, k) => framed(family.at(first + k)))
      const closed = await tcpSend(daemon.address, frames, 5_000)
      counts.connections++
      if (!closed) counts.hung++
      sent += frames.length
    }
  }
  await Promise.all(Array.from({ length: TCP_CONCURRENCY }, worker))
  return sent
}

export const run = (options: LiveFuzzOptions): Effect.Effect<LiveFuzzReport, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const log = options.log ?? (() => {})
    const dir = yield* tempDir("dave-fuzz-")
    const daemon = yield* startDaemon({
      listen: "[::1]:0",
      peerLimits: "loopback",
      dataDir: dir,
      backup: false,
      inspect: true
    })
    const author = yield* makeAuthor(seedOf(41))
    const kept = yield* author.sign("kept", KEPT_VALUE, Date.now() - 1_000)
    const largest = yield* author.sign("largest", "x".repeat(Constants.MAX_KEY_VALUE_LEN - 7), Date.now() - 1_000)
    const peer = yield* probe("::1", seedOf(42))
    yield* peer.awaitVerifiedBy(daemon.address, 10_000)
    peer.send(daemon.address, putBytes(kept))
    peer.send(daemon.address, putBytes(largest))
    // PUTs are verified off the daemon's event loop: wait until the kept one is served.
    for (let i = 0; i < 50 && (yield* Effect.promise(() => servedValue(peer, daemon, kept))) !== KEPT_VALUE; i++) {
      yield* Effect.sleep(100)
    }
    const corpus = yield* corpusOf(kept, largest, daemon)
    const out = yield* senders("::1", 4)
    const healthFailures: Array<string> = []
    let healthChecks = 0

    const health = (label: string) =>
      Effect.gen(function* () {
        healthChecks++
        if (daemon.exited()) return healthFailures.push(`${label}: the daemon exited`)
        const answered = yield* freshPingAnswer(daemon.address, 3_000)
        if (answered === 0) healthFailures.push(`${label}: a stranger's PINGs got no answer`)
        const served = yield* Effect.promise(() => servedValue(peer, daemon, kept))
        if (served !== KEPT_VALUE) healthFailures.push(`${label}: the kept entry was not served (${served})`)
        log(
          `${label}: alive, PING answered with ${answered} B, kept entry ${served === KEPT_VALUE ? "served" : "MISSING"}`
        )
      })

    yield* Effect.scoped(health("start"))
    const families = plan(corpus, options)
    // Warm-up: a slice of havoc reaches every handler once before the baseline is taken.
    const warmUp = In.havoc(corpus, Math.min(20_000, Math.ceil(options.datagrams / 50)), options.seed + 7)
    yield* Effect.promise(() => pumpUdp(out, daemon, warmUp, options, Date.now() + 60_000))
    yield* Effect.sleep(500)
    const gcStartedMs = Date.now()
    const heapBaseline = yield* heapAfterGc(daemon.inspectPort!)
    log(
      `heap after warm-up and GC: ${mb(heapBaseline.heapUsedBytes)} MB (rss ${mb(heapBaseline.rssBytes)} MB), ` +
        `read in ${Date.now() - gcStartedMs} ms`
    )
    const before = yield* scrape(daemon.admin)
    const kernelBefore = KernelUdp.read(daemon.address.port)?.drops ?? 0

    const startedMs = Date.now()
    const deadlineMs = startedMs + options.timeLimitMs
    const perCheck = Math.max(1, Math.ceil(options.datagrams / (options.checks + 1)))
    const sentByFamily: Array<{ name: string; via: "udp" | "tcp"; sent: number }> = []
    const tcpCounts = { connections: 0, hung: 0 }
    let sinceCheck = 0
    for (const { family, via } of families) {
      let sent = 0
      const familyStartMs = Date.now()
      // Sent in slices, so that health checks fall inside long families too.
      for (let offset = 0; offset < family.count && Date.now() < deadlineMs; ) {
        const slice = Math.min(family.count - offset, perCheck - sinceCheck)
        const part: In.Family = { name: family.name, count: slice, at: (i) => family.at(offset + i) }
        const done =
          via === "udp"
            ? yield* Effect.promise(() => pumpUdp(out, daemon, part, options, deadlineMs))
            : yield* Effect.promise(() => pumpTcp(daemon, part, deadlineMs, tcpCounts))
        offset += done
        sent += done
        sinceCheck += done
        if (sinceCheck >= perCheck) {
          sinceCheck = 0
          yield* Effect.scoped(health(`after ${sentByFamily.reduce((n, f) => n + f.sent, 0) + sent} datagrams`))
        }
        if (done < slice) break
      }
      sentByFamily.push({ name: family.name, via, sent })
      log(`${via} ${family.name}: ${sent} sent in ${Date.now() - familyStartMs} ms`)
    }
    for (const stream of hostileStreams(putBytes(kept))) {
      const closed = yield* Effect.promise(() => tcpSend(daemon.address, stream, 5_000))
      tcpCounts.connections++
      if (!closed) tcpCounts.hung++
    }
    const elapsedMs = Date.now() - startedMs
    yield* Effect.sleep(1_500)
    yield* Effect.scoped(health("end"))
    const crashed = daemon.exited()
    const heapFinal = crashed ? heapBaseline : yield* heapAfterGc(daemon.inspectPort!)
    const after = crashed ? before : yield* scrape(daemon.admin)
    const delta = (name: string) => total(after, name) - total(before, name)
    const droppedBefore = breakdown(before, "dave_node_dropped_total", "reason")
    const droppedByReason = Object.fromEntries(
      Object.entries(breakdown(after, "dave_node_dropped_total", "reason"))
        .map(([reason, n]) => [reason, n - (droppedBefore[reason] ?? 0)] as const)
        .filter(([, n]) => n > 0)
    )
    const udpSent = sentByFamily.filter((f) => f.via === "udp").reduce((n, f) => n + f.sent, 0)
    return {
      families: sentByFamily,
      sentUdp: udpSent,
      sentTcpFrames: sentByFamily.filter((f) => f.via === "tcp").reduce((n, f) => n + f.sent, 0),
      tcpConnections: tcpCounts.connections,
      tcpConnectionsHung: tcpCounts.hung,
      elapsedMs,
      stoppedByTimeLimit: Date.now() >= deadlineMs,
      daemonDatagramsIn: delta("dave_transport_datagrams_in_total"),
      kernelDrops: (KernelUdp.read(daemon.address.port)?.drops ?? kernelBefore) - kernelBefore,
      receiveQueueDrops: delta("dave_transport_receive_queue_dropped_total"),
      oversizeDrops: delta("dave_transport_oversize_dropped_total"),
      tcpFramesIn: delta("dave_transport_tcp_frames_in_total"),
      droppedByReason,
      healthChecks,
      healthFailures,
      crashed,
      errorLogs: daemon.logs
        .filter((l) => l.level === "ERROR" || l.level === "FATAL")
        .map((l) => JSON.stringify(l).slice(0, 400)),
      heapBaseline,
      heapFinal
    } satisfies LiveFuzzReport
  })

/** The value the daemon serves the verified probe for `dat`'s key, after up to three tries. */
const servedValue = async (p: Probe, daemon: HardenDaemon, dat: Message.Dat): Promise<string> => {
  for (let attempt = 0; attempt < 3; attempt++) {
    const reply = await p.get(daemon.address, dat.pubKey, dat.key, 1_000)
    if (reply.entry === "timeout") continue
    return reply.entry === undefined ? "not found" : new TextDecoder().decode(reply.entry.dat.value)
  }
  return "no answer"
}

export const heapGrowthBytes = (r: LiveFuzzReport): number => r.heapFinal.heapUsedBytes - r.heapBaseline.heapUsedBytes

/** What falls short of the goals; empty when the run met them all. */
export const shortfalls = (r: LiveFuzzReport, options: LiveFuzzOptions): Array<string> => {
  const out: Array<string> = []
  if (r.crashed) out.push("the daemon crashed")
  out.push(...r.healthFailures)
  out.push(...r.errorLogs.map((l) => `error logged: ${l}`))
  if (heapGrowthBytes(r) > HEAP_GROWTH_LIMIT_BYTES) {
    out.push(`heap grew ${mb(heapGrowthBytes(r))} MB after GC (limit ${mb(HEAP_GROWTH_LIMIT_BYTES)} MB)`)
  }
  if (r.tcpConnectionsHung > 0) out.push(`${r.tcpConnectionsHung} TCP connections not closed by the daemon in 5 s`)
  const sent = r.sentUdp + r.sentTcpFrames
  if (sent < options.datagrams) out.push(`sent ${sent} of ${options.datagrams} datagrams before the time limit`)
  return out
}

export const lines = (r: LiveFuzzReport, options: LiveFuzzOptions): Array<string> => {
  const sent = r.sentUdp + r.sentTcpFrames
  const rate = (sent / Math.max(1, r.elapsedMs)) * 1000
  return [
    ...r.families.map((f) => `  ${f.via} ${f.name}: ${f.sent}`),
    `fuzz: datagrams sent ${sent} (UDP ${r.sentUdp}, TCP frames ${r.sentTcpFrames} on ${r.tcpConnections} connections) ` +
      `in ${(r.elapsedMs / 1000).toFixed(1)} s, ${rate.toFixed(0)}/s  (goal: ${options.datagrams})`,
    `fuzz: daemon read ${r.daemonDatagramsIn} UDP datagrams (+ ${r.oversizeDrops} over 1424 B dropped unread) and ` +
      `${r.tcpFramesIn} TCP frames; kernel drops ${r.kernelDrops}, receive-queue drops ${r.receiveQueueDrops}`,
    `fuzz: dropped by reason ${JSON.stringify(r.droppedByReason)}`,
    `fuzz: crashed ${r.crashed}  (goal: false)`,
    `fuzz: health checks ${r.healthChecks}, failed ${r.healthFailures.length}  (goal: 0 failed: PING answered, GET served)`,
    `fuzz: TCP connections the daemon left open ${r.tcpConnectionsHung}  (goal: 0)`,
    `fuzz: error log lines ${r.errorLogs.length}  (goal: 0)`,
    `fuzz: heap after GC ${mb(r.heapBaseline.heapUsedBytes)} -> ${mb(r.heapFinal.heapUsedBytes)} MB, growth ` +
      `${mb(heapGrowthBytes(r))} MB  (goal: <= ${mb(HEAP_GROWTH_LIMIT_BYTES)} MB); rss ${mb(r.heapBaseline.rssBytes)} -> ` +
      `${mb(r.heapFinal.rssBytes)} MB, external ${mb(r.heapBaseline.externalBytes)} -> ${mb(r.heapFinal.externalBytes)} MB`
  ]
}
