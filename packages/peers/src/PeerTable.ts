import type { AddrPort, Ping, Pong } from "@dave/protocol"
import { Clock, Context, Effect, Layer, Metric, Option, Random } from "effect"
import * as PeerMetrics from "./PeerMetrics.ts"
import * as PeerOptions from "./PeerOptions.ts"
import {
  type AddResult,
  type Admission,
  type Candidate,
  type ChallengeReplyOutcome,
  type ClosestOptions,
  type CounterKey,
  type NetworkUsage,
  PeerTableCore,
  type PeerView,
  type PingReply,
  type PongOutcome,
  type StorageChallengeRequest,
  type StorageChallengeSpec,
  type TickResult
} from "./PeerTableCore.ts"
import * as Rng from "./Rng.ts"

/** Shortest time between two refreshes of the table's gauges. */
const GAUGE_EVERY_MS = 1_000

/**
 * The PeerTable service: the deterministic core behind effect's Clock and Random, so a TestClock and
 * a seeded Random make a simulation reproducible, with its counters exported as metrics. It holds
 * state and decides; the node does the I/O. Every method reads the time when it runs.
 */
export interface PeerTableShape {
  readonly options: PeerOptions.PeerOptions
  /**
   * The core itself, for a hot path that reads the time once per message and calls it synchronously
   * (the node's datagram dispatch). Its counters reach the metrics at the next service call.
   */
  readonly core: PeerTableCore
  readonly addEdge: (addr: AddrPort) => Effect.Effect<AddResult>
  /** First call for every datagram read (loopback filter, rate limits, amplification accounting). */
  readonly admit: (from: AddrPort, sizeBytes: number) => Effect.Effect<Admission>
  readonly onPing: (from: AddrPort, ping: Ping) => Effect.Effect<PingReply>
  /** Checks a PONG; `verify` is the Ed25519 check of the answer, run only when the cheap checks pass. */
  readonly onPong: <E, R>(
    from: AddrPort,
    pong: Pong,
    verify: (
      challenge: Uint8Array,
      salt: Uint8Array,
      pubKey: Uint8Array,
      sig: Uint8Array
    ) => Effect.Effect<boolean, E, R>
  ) => Effect.Effect<PongOutcome, E, R>
  /** PINGs to send now and peers dropped since the last tick; run it every second or more often. */
  readonly tick: Effect.Effect<TickResult>
  readonly trySpendReply: (to: AddrPort, sizeBytes: number) => Effect.Effect<boolean>
  readonly isVerified: (addr: AddrPort) => Effect.Effect<boolean>
  readonly isActive: (addr: AddrPort) => Effect.Effect<boolean>
  readonly active: Effect.Effect<ReadonlyArray<PeerView>>
  readonly closest: (
    targetId: bigint,
    count: number,
    options?: ClosestOptions
  ) => Effect.Effect<ReadonlyArray<Candidate>>
  readonly getTargets: (
    targetId: bigint,
    count: number,
    options?: ClosestOptions
  ) => Effect.Effect<ReadonlyArray<Candidate>>
  readonly sampleAddrs: (count: number, exclude: ReadonlyArray<AddrPort>) => Effect.Effect<ReadonlyArray<AddrPort>>
  readonly get: (addr: AddrPort) => Effect.Effect<Option.Option<PeerView>>
  readonly snapshot: Effect.Effect<ReadonlyArray<PeerView>>
  readonly networkUsage: Effect.Effect<NetworkUsage>
  readonly pingIntervalMs: Effect.Effect<number>
  readonly recordChallenge: (addr: AddrPort, passed: boolean) => Effect.Effect<boolean>
  readonly recordContribution: (addr: AddrPort) => Effect.Effect<boolean>
  readonly offerStorageChallenge: (to: AddrPort, spec: StorageChallengeSpec) => Effect.Effect<boolean>
  readonly pickChallenges: Effect.Effect<ReadonlyArray<StorageChallengeRequest>>
  readonly onChallengeReply: (
    from: AddrPort,
    pubKey: Uint8Array,
    key: Uint8Array,
    valid: boolean
  ) => Effect.Effect<ChallengeReplyOutcome>
  readonly setOwnAddress: (from: AddrPort, addr: AddrPort) => Effect.Effect<boolean>
  readonly isOwnAddress: (addr: AddrPort) => Effect.Effect<boolean>
  readonly edgeForAddrQuery: Effect.Effect<Option.Option<AddrPort>>
}

export class PeerTable extends Context.Service<PeerTable, PeerTableShape>()("@dave/peers/PeerTable") {}

export interface MakeOptions extends Partial<PeerOptions.PeerOptions> {
  /** Added to every metric series, e.g. `{ node: "n3" }` when many nodes share one process. */
  readonly metricAttributes?: Readonly<Record<string, string>>
  /** Export counters and gauges as effect Metrics (default true; a large simulation reads the core). */
  readonly metrics?: boolean
}

export const make = (options: MakeOptions = {}): Effect.Effect<PeerTableShape, PeerOptions.PeerOptionsError> =>
  Effect.gen(function* () {
    const { metricAttributes = {}, metrics = true, ...overrides } = options
    const core = yield* Effect.fromResult(PeerTableCore.make(overrides))
    return fromCore(core, metricAttributes, metrics)
  })

/** Wraps an existing core (for a caller that also drives it directly, e.g. a simulator). */
export const fromCore = (
  core: PeerTableCore,
  metricAttributes: Readonly<Record<string, string>> = {},
  metrics = true
): PeerTableShape => {
  const counters = new Map<CounterKey, ReturnType<typeof PeerMetrics.counterFor>>()
  const counterFor = (key: CounterKey) => {
    let c = counters.get(key)
    if (c === undefined) {
      c = PeerMetrics.counterFor(key, metricAttributes)
      counters.set(key, c)
    }
    return c
  }
  const gauge = (g: Metric.Metric<number, Metric.GaugeState<number>>) =>
    Object.keys(metricAttributes).length === 0 ? g : Metric.withAttributes(g, metricAttributes)
  const gauges = {
    total: gauge(PeerMetrics.peersTotal),
    active: gauge(PeerMetrics.peersActive),
    edgesOnline: gauge(PeerMetrics.edgesOnline),
    interval: gauge(PeerMetrics.pingIntervalMs)
  }

  const flush: Effect.Effect<void> = Effect.suspend(() => {
    if (!metrics) return Effect.void
    const counts = core.drainCounts()
    if (counts.length === 0) return Effect.void
    return Effect.forEach(counts, ([key, n]) => Metric.update(counterFor(key), n), { discard: true })
  })

  const withNow = <A>(f: (nowMs: number) => A): Effect.Effect<A> =>
    Effect.flatMap(Clock.currentTimeMillis, (nowMs) => {
      const result = f(nowMs)
      return Effect.as(flush, result)
    })

  const withNowRng = <A>(f: (nowMs: number, rng: Rng.Rng) => A): Effect.Effect<A> =>
    Effect.flatMap(Effect.service(Random.Random), (random) =>
      withNow((nowMs) => f(nowMs, Rng.fromRandom(random, core.options.challengeBytes)))
    )

  // Refreshed at most once a second: the node ticks several times a second, and four gauge updates
  // per tick were a visible share of an idle network's CPU.
  let gaugesAtMs = Number.NEGATIVE_INFINITY
  const updateGauges = (nowMs: number): Effect.Effect<void> => {
    if (!metrics || (nowMs >= gaugesAtMs && nowMs - gaugesAtMs < GAUGE_EVERY_MS)) return Effect.void
    gaugesAtMs = nowMs
    return Effect.all(
      [
        Metric.update(gauges.total, core.size),
        Metric.update(gauges.active, core.activeCount(nowMs)),
        Metric.update(gauges.edgesOnline, core.edgesOnline(nowMs)),
        Metric.update(gauges.interval, core.pingIntervalMs())
      ],
      { discard: true }
    )
  }

  return {
    options: core.options,
    core,
    addEdge: (addr) => withNow((nowMs) => core.addEdge(addr, nowMs)),
    admit: (from, sizeBytes) => withNow((nowMs) => core.admit(from, sizeBytes, nowMs)),
    onPing: (from, ping) => withNowRng((nowMs, rng) => core.onPing(from, ping, nowMs, rng)),
    onPong: (from, pong, verify) =>
      Effect.gen(function* () {
        const check = yield* withNow((nowMs) => core.checkPong(from, pong, nowMs))
        if (check._tag === "Rejected") return check
        const valid = yield* verify(pong.challenge, pong.salt, pong.pubKey, pong.sig)
        return yield* withNow((nowMs) => core.completePong(check.ticket, valid, nowMs))
      }),
    tick: Effect.flatMap(
      withNowRng((nowMs, rng) => [nowMs, core.tick(nowMs, rng)] as const),
      ([nowMs, result]) => Effect.as(updateGauges(nowMs), result)
    ),
    trySpendReply: (to, sizeBytes) => withNow((nowMs) => core.trySpendReply(to, sizeBytes, nowMs)),
    isVerified: (addr) => Effect.sync(() => core.isVerified(addr)),
    isActive: (addr) => withNow((nowMs) => core.isActive(addr, nowMs)),
    active: withNow((nowMs) => core.active(nowMs)),
    closest: (targetId, count, options) => withNow((nowMs) => core.closest(targetId, count, nowMs, options)),
    getTargets: (targetId, count, options) => withNow((nowMs) => core.getTargets(targetId, count, nowMs, options)),
    sampleAddrs: (count, exclude) => withNowRng((nowMs, rng) => core.sampleAddrs(count, exclude, nowMs, rng)),
    get: (addr) => withNow((nowMs) => Option.fromUndefinedOr(core.get(addr, nowMs))),
    snapshot: withNow((nowMs) => core.snapshot(nowMs)),
    networkUsage: withNow((nowMs) => core.networkUsage(nowMs)),
    pingIntervalMs: Effect.sync(() => core.pingIntervalMs()),
    recordChallenge: (addr, passed) => withNow((nowMs) => core.recordChallenge(addr, passed, nowMs)),
    recordContribution: (addr) => withNow((nowMs) => core.recordContribution(addr, nowMs)),
    offerStorageChallenge: (to, spec) => withNowRng((nowMs, rng) => core.offerStorageChallenge(to, spec, nowMs, rng)),
    pickChallenges: withNowRng((nowMs, rng) => core.pickChallenges(nowMs, rng)),
    onChallengeReply: (from, pubKey, key, valid) =>
      withNow((nowMs) => core.onChallengeReply(from, pubKey, key, valid, nowMs)),
    setOwnAddress: (from, addr) => withNow((nowMs) => core.setOwnAddress(from, addr, nowMs)),
    isOwnAddress: (addr) => Effect.sync(() => core.isOwnAddress(addr)),
    edgeForAddrQuery: withNow((nowMs) => Option.fromUndefinedOr(core.edgeForAddrQuery(nowMs)))
  }
}

/** The live layer: internet defaults overridden by `options`. */
export const layer = (options: MakeOptions = {}): Layer.Layer<PeerTable, PeerOptions.PeerOptionsError> =>
  Layer.effect(PeerTable, Effect.map(make(options), PeerTable.of))

/**
 * For tests and simulations: loopback-friendly caps and rate limits, and challenge bytes drawn from
 * effect's Random, so a seeded Random reproduces a run byte for byte.
 */
export const layerTest = (options: MakeOptions = {}): Layer.Layer<PeerTable, PeerOptions.PeerOptionsError> =>
  layer({ ...PeerOptions.loopback, challengeBytes: "random", ...options })
