import { Data, Result } from "effect"
import * as Reliability from "./Reliability.ts"
import type { ChallengeBytes } from "./Rng.ts"

/**
 * Every tunable of the peer table, with defaults meant for the internet. A test network of many
 * nodes on one loopback address raises `maxPeersPerIp`, `maxPeersPerPrefix` and the rate limits.
 */
export interface PeerOptions {
  /** Most non-edge peers in the table (edges have their own bound). */
  readonly maxPeers: number
  readonly maxEdges: number
  /** Most non-edge peers sharing one IP address. */
  readonly maxPeersPerIp: number
  /** Most non-edge peers sharing one IPv4 /24 or IPv6 /48. */
  readonly maxPeersPerPrefix: number
  /** Most addresses learned from PONGs that have not answered yet. */
  readonly maxIntroduced: number
  /** Most PINGs per second to non-edge peers, in any 1 s window. */
  readonly maxPingsPerSecond: number
  /** Fastest ping interval: the reference's 1 s. Edges always use it. */
  readonly minPingIntervalMs: number
  /**
   * Tables of up to this many non-edge peers ping each one every `minPingIntervalMs`. Beyond it the
   * interval grows with the cube of the table size (so each node's idle ping rate falls as the
   * table grows), up to `maxPingIntervalMs`.
   */
  readonly fullRatePeers: number
  /** Longest ping interval of a verified peer, unless the ping budget or `minPingIntervalMs` needs a longer one. */
  readonly maxPingIntervalMs: number
  /** A non-edge peer becomes selectable only after being known this long. */
  readonly activateAfterMs: number
  /** Active only if it solved within this (at the fastest interval; scales with the interval). */
  readonly deactivateAfterMs: number
  /** Dropped if it has not solved for this long (at the fastest interval; scales with the interval). */
  readonly dropAfterMs: number
  /** PINGs an introduced address gets in all before it is forgotten unless it answers. */
  readonly introducedPingLimit: number
  /** After forgetting an introduced address, how long further introductions of it are ignored. */
  readonly introducedCooldownMs: number
  /** After dropping an unreliable peer, how long its address may not rejoin. */
  readonly unreliableCooldownMs: number
  /**
   * When the table is full of active peers, a newcomer that pinged us itself may displace one
   * active peer at most this often (the youngest of the least reliable, which may not rejoin for
   * the same time); 0 never. Without it a
   * node whose table is full never verifies a newcomer, so a newcomer whose edges are all full
   * never learns an address.
   */
  readonly activeEvictionIntervalMs: number
  /** Bytes sent per byte received toward unverified addresses. */
  readonly amplificationFactor: number
  readonly amplificationWindowMs: number
  readonly perIpPerSecond: number
  readonly perIpBurst: number
  readonly perPrefixPerSecond: number
  readonly perPrefixBurst: number
  /** Most addresses tracked by each of the rate limiter, amplification budget and cooldown maps. */
  readonly maxTracked: number
  /** Probability of recording a storage challenge when a PUT goes to a replica (reference: 0.1). */
  readonly storageChallengeProbability: number
  /** Storage challenges sent per round (the node runs a round every 10 s). */
  readonly storageChallengesPerRound: number
  /** A storage challenge unanswered this long counts as failed. */
  readonly storageChallengeDeadlineMs: number
  /** Drop a non-edge peer after this many storage challenges failed in a row. */
  readonly dropAfterConsecutiveFailures: number
  /** Drop a non-edge peer whose reliability falls to this score. */
  readonly dropBelowScore: number
  readonly reliability: Reliability.ReliabilityParams
  /** An own-address answer is accepted only from an edge asked within this long. */
  readonly addrQueryTimeoutMs: number
  /** Longest the cached active set and selection weights are reused (default 1000 ms). */
  readonly selectionRefreshMs: number
  /** Where PING challenges come from (see Rng). */
  readonly challengeBytes: ChallengeBytes
  /** Our node's public key: PONGs signed with it come from ourselves and are refused. */
  readonly selfPublicKey?: Uint8Array | undefined
}

export const defaults: PeerOptions = {
  maxPeers: 256,
  maxEdges: 64,
  maxPeersPerIp: 4,
  maxPeersPerPrefix: 16,
  maxIntroduced: 64,
  maxPingsPerSecond: 32,
  minPingIntervalMs: 1_000,
  fullRatePeers: 16,
  // Deactivated 3 minutes and dropped 12 after the last answer at this interval: within the
  // 15 minutes a BEP 5 node stays "good" without contact.
  maxPingIntervalMs: 60_000,
  activateAfterMs: 5_000,
  deactivateAfterMs: 3_000,
  dropAfterMs: 12_000,
  introducedPingLimit: 3,
  introducedCooldownMs: 10 * 60_000,
  unreliableCooldownMs: 10 * 60_000,
  activeEvictionIntervalMs: 30_000,
  amplificationFactor: 3,
  amplificationWindowMs: 5_000,
  perIpPerSecond: 200,
  perIpBurst: 400,
  perPrefixPerSecond: 800,
  perPrefixBurst: 1_600,
  maxTracked: 4_096,
  storageChallengeProbability: 0.1,
  storageChallengesPerRound: 5,
  storageChallengeDeadlineMs: 1_500,
  dropAfterConsecutiveFailures: 3,
  dropBelowScore: -6,
  reliability: Reliability.defaultParams,
  addrQueryTimeoutMs: 5_000,
  selectionRefreshMs: 1_000,
  challengeBytes: "secure"
}

/** Settings that suit many nodes on one loopback address (tests, simulations). */
export const loopback: Partial<PeerOptions> = {
  maxPeersPerIp: 100_000,
  maxPeersPerPrefix: 100_000,
  perIpPerSecond: 1_000_000,
  perIpBurst: 1_000_000,
  perPrefixPerSecond: 1_000_000,
  perPrefixBurst: 1_000_000
}

export class PeerOptionsError extends Data.TaggedError("PeerOptionsError")<{
  readonly option: string
  readonly message: string
}> {}

const positiveInts: ReadonlyArray<keyof PeerOptions> = [
  "maxPeers",
  "maxEdges",
  "maxPeersPerIp",
  "maxPeersPerPrefix",
  "maxIntroduced",
  "maxPingsPerSecond",
  "minPingIntervalMs",
  "fullRatePeers",
  "maxPingIntervalMs",
  "deactivateAfterMs",
  "dropAfterMs",
  "introducedPingLimit",
  "amplificationWindowMs",
  "maxTracked",
  "storageChallengesPerRound",
  "storageChallengeDeadlineMs",
  "dropAfterConsecutiveFailures",
  "addrQueryTimeoutMs",
  "selectionRefreshMs"
]
const nonNegative: ReadonlyArray<keyof PeerOptions> = [
  "activateAfterMs",
  "introducedCooldownMs",
  "unreliableCooldownMs",
  "activeEvictionIntervalMs",
  "amplificationFactor"
]
const positive: ReadonlyArray<keyof PeerOptions> = [
  "perIpPerSecond",
  "perIpBurst",
  "perPrefixPerSecond",
  "perPrefixBurst"
]

const fail = (option: string, message: string) => Result.fail(new PeerOptionsError({ option, message }))

/** Merges `overrides` over the defaults and checks every value. */
export const make = (overrides: Partial<PeerOptions> = {}): Result.Result<PeerOptions, PeerOptionsError> => {
  const o: PeerOptions = { ...defaults, ...overrides }
  for (const name of positiveInts) {
    const v = o[name]
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) return fail(name, `must be a positive integer`)
  }
  for (const name of nonNegative) {
    const v = o[name]
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) return fail(name, `must be a finite number >= 0`)
  }
  for (const name of positive) {
    const v = o[name]
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) return fail(name, `must be a finite number > 0`)
  }
  const p = o.storageChallengeProbability
  if (!(p >= 0 && p <= 1)) return fail("storageChallengeProbability", "must be within [0, 1]")
  if (o.deactivateAfterMs > o.dropAfterMs) return fail("deactivateAfterMs", "must not exceed dropAfterMs")
  if (!Number.isFinite(o.dropBelowScore)) return fail("dropBelowScore", "must be finite")
  if (!(o.reliability.halfLifeMs > 0)) return fail("reliability.halfLifeMs", "must be > 0")
  if (o.reliability.challengeMin > 0 || o.reliability.challengeMax < 0 || o.reliability.contributionMax < 0)
    return fail("reliability", "caps must bracket zero")
  if (o.challengeBytes !== "secure" && o.challengeBytes !== "random")
    return fail("challengeBytes", `must be "secure" or "random"`)
  if (o.selfPublicKey !== undefined && o.selfPublicKey.length !== 32) return fail("selfPublicKey", "must be 32 bytes")
  return Result.succeed(o)
}
