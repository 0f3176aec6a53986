import { type AddrPort, Constants, NodeId, type Ping, type Pong } from "@dave/protocol"
import { Result } from "effect"
import { AmplificationBudget } from "./AmplificationBudget.ts"
import { BoundedMap } from "./BoundedMap.ts"
import * as NetPrefix from "./NetPrefix.ts"
import * as PeerOptions from "./PeerOptions.ts"
import { RateLimiter } from "./RateLimiter.ts"
import * as Reliability from "./Reliability.ts"
import type { Rng } from "./Rng.ts"
import { SendWindow } from "./SendWindow.ts"

/**
 * The peer table as a deterministic state machine: every method takes the current time, and the
 * ones that draw randomness take an Rng. It does no I/O: the node feeds it what arrives and sends
 * what it returns. See README.md for the rules and where they differ from the reference.
 */

/** How a peer entered the table. */
export type Origin = "edge" | "inbound" | "introduced"

export type DropReason = "silent" | "introduced-unanswered" | "unreliable" | "evicted" | "own-address" | "self"

export type RefuseReason = "own-address" | "ip-cap" | "prefix-cap" | "full" | "cooldown" | "introduced-cap" | "edge-cap"

export type PongRejectReason =
  | "own-address"
  | "unknown-peer"
  | "no-challenge"
  | "challenge-mismatch"
  | "too-many-addrs"
  | "lists-own-address"
  | "bad-key"
  | "self"
  | "key-mismatch"
  | "bad-signature"

export type AdmitRejectReason = "own-address" | "rate-limited-ip" | "rate-limited-prefix"

export type CounterKey =
  | "pongs_accepted"
  | `pongs_rejected:${PongRejectReason}`
  | `dropped:${DropReason}`
  | `refused:${RefuseReason}`
  | "rate_limited:ip"
  | "rate_limited:prefix"
  | "amplification_denied:pong"
  | "amplification_denied:ping"
  | "amplification_denied:reply"
  | "pings_sent"
  | "challenges:passed"
  | "challenges:failed"

export type Admission = { readonly admitted: true } | { readonly admitted: false; readonly reason: AdmitRejectReason }

export type AddResult =
  | { readonly added: true; readonly existed: boolean }
  | { readonly added: false; readonly reason: RefuseReason }

export interface PingReply {
  /** Whether to answer with a signed PONG (the amplification budget may forbid it). */
  readonly replyAllowed: boolean
  /** Addresses for the PONG: at most 12, empty toward unverified or not-yet-active requesters. */
  readonly addrs: ReadonlyArray<AddrPort>
}

/** A PONG that passed the cheap checks and whose signature the caller must now verify. */
export interface PongTicket {
  readonly peer: unknown
  readonly from: AddrPort
  readonly pong: Pong
}

export type PongCheck =
  | { readonly _tag: "Verify"; readonly ticket: PongTicket }
  | { readonly _tag: "Rejected"; readonly reason: PongRejectReason }

export type PongOutcome =
  | {
      readonly _tag: "Accepted"
      readonly nodeId: bigint
      /** True on the first solve at this address: the key was just pinned. */
      readonly firstSolve: boolean
      /** Addresses from the PONG that entered the table as introduced candidates. */
      readonly introduced: ReadonlyArray<AddrPort>
    }
  | { readonly _tag: "Rejected"; readonly reason: PongRejectReason }

/** Checks an answer: Ed25519 over BLAKE3(challenge ‖ salt) by pubKey. Supplied by the node. */
export type VerifyAnswer = (challenge: Uint8Array, salt: Uint8Array, pubKey: Uint8Array, sig: Uint8Array) => boolean

export interface OutgoingPing {
  readonly to: AddrPort
  readonly challenge: Uint8Array
}

export interface Dropped {
  readonly addr: AddrPort
  readonly reason: DropReason
}

export interface TickResult {
  /** PINGs to send now, each with a fresh challenge. */
  readonly pings: ReadonlyArray<OutgoingPing>
  /** Peers removed since the previous tick (by this tick's pruning or by earlier calls). */
  readonly dropped: ReadonlyArray<Dropped>
}

export interface PeerView {
  readonly addr: AddrPort
  readonly nodeId: bigint | undefined
  readonly publicKey: Uint8Array | undefined
  readonly origin: Origin
  readonly edge: boolean
  readonly active: boolean
  /** Answered one of our challenges (its key is pinned). */
  readonly verified: boolean
  readonly reliability: number
  readonly addedMs: number
  readonly lastSeenMs: number | undefined
  readonly lastSolvedMs: number | undefined
  readonly pingIntervalMs: number
  /** Self-reported, unverified (PING status). */
  readonly usedBytes: bigint
  readonly capacityBytes: bigint
  readonly challengesPassed: number
  readonly challengesFailed: number
  readonly contributions: number
}

export interface Candidate {
  readonly nodeId: bigint
  /** Undefined for ourselves. */
  readonly addr: AddrPort | undefined
  readonly self: boolean
  readonly reliability: number
}

export interface ClosestOptions {
  /** Add ourselves as a candidate (needs `selfPublicKey` in the options). */
  readonly includeSelf?: boolean
  readonly excludeAddrs?: ReadonlyArray<AddrPort>
  readonly excludeIds?: ReadonlyArray<bigint>
}

export interface StorageChallengeSpec {
  readonly pubKey: Uint8Array
  readonly key: Uint8Array
  /** When the entry expires: after that the challenge is void. */
  readonly expiresMs: number
}

export interface StorageChallengeRequest {
  readonly to: AddrPort
  readonly pubKey: Uint8Array
  readonly key: Uint8Array
}

export type ChallengeReplyOutcome = "passed" | "failed" | "unexpected"

export interface NetworkUsage {
  readonly usedBytes: bigint
  readonly capacityBytes: bigint
  readonly peers: number
}

interface PendingStorageChallenge {
  readonly pubKey: Uint8Array
  readonly key: Uint8Array
  readonly expiresMs: number
  sentMs: number | undefined
}

interface ActiveCache {
  readonly version: number
  readonly builtMs: number
  /** The first time a cached peer may change state by time alone. */
  readonly validUntilMs: number
  readonly peers: ReadonlyArray<Peer>
  readonly scores: Float64Array
  /** Running sums of the sampling weights. */
  readonly cumulative: Float64Array
  /** addr key → position in `peers`. */
  readonly index: ReadonlyMap<string, number>
  /**
   * The peers' node IDs, high and low 32 bits, side by side: `closest` scans these instead of the
   * peer objects, which with many tables in one process are rarely in the CPU cache.
   */
  readonly idHi: Uint32Array
  readonly idLo: Uint32Array
  /** Verified peers that solved recently, activated or not: what PONG address lists sample. */
  readonly live: SamplePool
}

interface SamplePool {
  readonly peers: ReadonlyArray<Peer>
  readonly scores: Float64Array
  readonly cumulative: Float64Array
  readonly index: ReadonlyMap<string, number>
}

const samplePool = (peers: ReadonlyArray<Peer>, score: (p: Peer) => number): SamplePool => {
  const n = peers.length
  const scores = new Float64Array(n)
  const cumulative = new Float64Array(n)
  const index = new Map<string, number>()
  let total = 0
  for (let i = 0; i < n; i++) {
    const p = peers[i]!
    scores[i] = score(p)
    total += Reliability.weight(scores[i]!)
    cumulative[i] = total
    index.set(p.key, i)
  }
  return { peers, scores, cumulative, index }
}

/** Sets one peer's score in a pool and shifts the running sums after it. */
const rescore = (pool: SamplePool, key: string, score: number): void => {
  const i = pool.index.get(key)
  if (i === undefined) return
  const delta = Reliability.weight(score) - Reliability.weight(pool.scores[i]!)
  pool.scores[i] = score
  for (let j = i; j < pool.cumulative.length; j++) pool.cumulative[j] = pool.cumulative[j]! + delta
}

interface Peer {
  readonly addr: AddrPort
  readonly key: string
  readonly ipKey: string
  readonly prefixKey: string
  origin: Origin
  readonly addedMs: number
  pubKey: Uint8Array | undefined
  nodeId: bigint | undefined
  /** The node ID's high and low 32 bits, for fast distance comparisons. */
  idHi: number
  idLo: number
  lastSolvedMs: number | undefined
  lastSeenMs: number | undefined
  challenge: Uint8Array | undefined
  previousChallenge: Uint8Array | undefined
  firstAttemptMs: number | undefined
  lastPingMs: number | undefined
  nextPingMs: number
  pingsSent: number
  intervalMs: number
  previousIntervalMs: number
  usedBytes: bigint
  capacityBytes: bigint
  /** Its last PING reported a capacity of 0: a light client that stores nothing. */
  storesNothing: boolean
  reliability: Reliability.Reliability
  storage: PendingStorageChallenge | undefined
}

/**
 * Share of the ping budget that steady-state pings may use; the rest is headroom for newcomers and
 * for catching up, so that a full table still meets every peer's interval.
 */
const BUDGET_UTILISATION = 0.8
/** Self-reported figures above this (1 EiB) are clamped: they are unverified (reference defect 17). */
const MAX_REPORTED_BYTES = 1n << 60n
const MAX_OWN_ALIASES = 16

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const clampReported = (x: bigint): bigint => (x < 0n ? 0n : x > MAX_REPORTED_BYTES ? MAX_REPORTED_BYTES : x)

export class PeerTableCore {
  readonly options: PeerOptions.PeerOptions
  readonly selfNodeId: bigint | undefined
  readonly #peers = new Map<string, Peer>()
  readonly #edges: Array<Peer> = []
  #nonEdgeCount = 0
  #introducedPending = 0
  readonly #perIp = new Map<string, number>()
  readonly #perPrefix = new Map<string, number>()
  readonly #amplification: AmplificationBudget
  readonly #rateLimiter: RateLimiter
  readonly #pingWindow: SendWindow
  readonly #introCooldown: BoundedMap<string, number>
  readonly #banned: BoundedMap<string, number>
  readonly #ownAliases = new BoundedMap<string, true>(MAX_OWN_ALIASES)
  #ownAddress: AddrPort | undefined
  #ownKey: string | undefined
  /** Bumped whenever the set of active peers or their order inputs may have changed. */
  #version = 0
  #cache: ActiveCache | undefined
  #addrQuery: { readonly key: string; readonly sentMs: number } | undefined
  #dropped: Array<Dropped> = []
  #lastActiveEvictionMs = Number.NEGATIVE_INFINITY
  readonly #totals = new Map<CounterKey, number>()
  readonly #pending = new Map<CounterKey, number>()

  private constructor(options: PeerOptions.PeerOptions) {
    this.options = options
    this.selfNodeId = options.selfPublicKey === undefined ? undefined : NodeId.fromPublicKey(options.selfPublicKey)
    this.#amplification = new AmplificationBudget({
      factor: options.amplificationFactor,
      windowMs: options.amplificationWindowMs,
      bucketMs: Math.min(1_000, options.amplificationWindowMs),
      maxTracked: options.maxTracked
    })
    this.#rateLimiter = new RateLimiter({
      perIpPerSecond: options.perIpPerSecond,
      perIpBurst: options.perIpBurst,
      perPrefixPerSecond: options.perPrefixPerSecond,
      perPrefixBurst: options.perPrefixBurst,
      maxTracked: options.maxTracked
    })
    this.#pingWindow = new SendWindow(options.maxPingsPerSecond, 1_000)
    this.#introCooldown = new BoundedMap(options.maxTracked)
    this.#banned = new BoundedMap(options.maxTracked)
  }

  /** Builds a table from option overrides, checking them. */
  static make(
    overrides: Partial<PeerOptions.PeerOptions> = {}
  ): Result.Result<PeerTableCore, PeerOptions.PeerOptionsError> {
    return Result.map(PeerOptions.make(overrides), (o) => new PeerTableCore(o))
  }

  // ---------------------------------------------------------------- counters

  #count(key: CounterKey, n = 1): void {
    this.#totals.set(key, (this.#totals.get(key) ?? 0) + n)
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + n)
  }

  /** Counter increments since the previous drain (for metrics). The key set is finite. */
  drainCounts(): ReadonlyArray<readonly [CounterKey, number]> {
    if (this.#pending.size === 0) return []
    const out = Array.from(this.#pending)
    this.#pending.clear()
    return out
  }

  /** Cumulative counter values. */
  total(key: CounterKey): number {
    return this.#totals.get(key) ?? 0
  }

  // ---------------------------------------------------------------- timing rules

  /**
   * The ping interval for verified non-edge peers at the current table size: the minimum up to
   * `fullRatePeers`, then growing with the cube of the size up to `maxPingIntervalMs`, and never
   * shorter than the ping budget allows. Every PING costs a signature at the peer and a verification
   * here, which at the reference's 1 s made an idle network of a hundred nodes busy.
   */
  pingIntervalMs(): number {
    const o = this.options
    const n = this.#nonEdgeCount
    const spreadMs = Math.ceil((n * 1_000) / (o.maxPingsPerSecond * BUDGET_UTILISATION))
    const ratio = n / o.fullRatePeers
    const idleMs = ratio <= 1 ? o.minPingIntervalMs : Math.ceil(o.minPingIntervalMs * ratio * ratio * ratio)
    return Math.max(o.minPingIntervalMs, spreadMs, Math.min(o.maxPingIntervalMs, idleMs))
  }

  #scale(p: Peer): number {
    if (p.origin === "edge") return 1
    return Math.max(1, Math.max(p.intervalMs, p.previousIntervalMs) / this.options.minPingIntervalMs)
  }

  #isActive(p: Peer, nowMs: number): boolean {
    if (p.lastSolvedMs === undefined) return false
    if (nowMs - p.lastSolvedMs >= this.options.deactivateAfterMs * this.#scale(p)) return false
    // Only an edge can sit at our own address (others are removed): it is us, never selectable.
    if (p.origin === "edge" && this.#isOwnKey(p.key)) return false
    return p.origin === "edge" || nowMs - p.addedMs >= this.options.activateAfterMs
  }

  #isSilent(p: Peer, nowMs: number): boolean {
    // The grace period starts at our first attempt to PING it, so a peer queued behind the ping
    // budget is not dropped before it was ever asked.
    const since = p.lastSolvedMs ?? p.firstAttemptMs
    return since !== undefined && nowMs - since >= this.options.dropAfterMs * this.#scale(p)
  }

  #introducedExhausted(p: Peer): boolean {
    return p.origin === "introduced" && p.pubKey === undefined && p.pingsSent >= this.options.introducedPingLimit
  }

  // ---------------------------------------------------------------- membership

  #isOwnKey(key: string): boolean {
    return key === this.#ownKey || this.#ownAliases.has(key)
  }

  #isOwn(addr: AddrPort): boolean {
    return this.#isOwnKey(NetPrefix.addrKey(addr))
  }

  #track(p: Peer, sign: 1 | -1): void {
    if (p.origin === "edge") return
    this.#nonEdgeCount += sign
    this.#perIp.set(p.ipKey, (this.#perIp.get(p.ipKey) ?? 0) + sign)
    this.#perPrefix.set(p.prefixKey, (this.#perPrefix.get(p.prefixKey) ?? 0) + sign)
    if (this.#perIp.get(p.ipKey) === 0) this.#perIp.delete(p.ipKey)
    if (this.#perPrefix.get(p.prefixKey) === 0) this.#perPrefix.delete(p.prefixKey)
    if (p.origin === "introduced" && p.pubKey === undefined) this.#introducedPending += sign
  }

  #newPeer(addr: AddrPort, keys: NetPrefix.Keys, origin: Origin, nowMs: number): Peer {
    const intervalMs = origin === "edge" ? this.options.minPingIntervalMs : this.pingIntervalMs()
    return {
      addr: { ip: Uint8Array.from(addr.ip), port: addr.port },
      key: keys.addr,
      ipKey: keys.ip,
      prefixKey: keys.prefix,
      origin,
      addedMs: nowMs,
      pubKey: undefined,
      nodeId: undefined,
      idHi: 0,
      idLo: 0,
      lastSolvedMs: undefined,
      lastSeenMs: undefined,
      challenge: undefined,
      previousChallenge: undefined,
      firstAttemptMs: undefined,
      lastPingMs: undefined,
      nextPingMs: nowMs,
      pingsSent: 0,
      intervalMs,
      previousIntervalMs: intervalMs,
      usedBytes: 0n,
      capacityBytes: 0n,
      storesNothing: false,
      reliability: Reliability.initial(nowMs),
      storage: undefined
    }
  }

  #remove(p: Peer, reason: DropReason): void {
    if (this.#peers.get(p.key) !== p) return
    this.#peers.delete(p.key)
    this.#track(p, -1)
    this.#version++
    this.#count(`dropped:${reason}`)
    // Drops are reported by the next tick; the list is bounded in case ticks stop.
    if (this.#dropped.length >= 4 * (this.options.maxPeers + this.options.maxEdges)) this.#dropped.shift()
    this.#dropped.push({ addr: p.addr, reason })
  }

  /** Least useful evictable peer: non-edge, not active; unverified first, then low reliability, then stale. */
  #evictionVictim(nowMs: number): Peer | undefined {
    let best: Peer | undefined
    let bestRank: [number, number, number, number] | undefined
    for (const p of this.#peers.values()) {
      if (p.origin === "edge" || this.#isActive(p, nowMs)) continue
      const rank: [number, number, number, number] = [
        p.pubKey === undefined ? 0 : 1,
        p.pubKey === undefined && p.pingsSent > 0 ? 0 : 1,
        Reliability.score(p.reliability, nowMs, this.options.reliability),
        p.lastSolvedMs ?? p.addedMs
      ]
      if (bestRank === undefined || lexLess(rank, bestRank)) {
        best = p
        bestRank = rank
      }
    }
    return best
  }

  /**
   * The active non-edge peer to give up for a newcomer: the least reliable, and among equals the
   * youngest, so peers that have stayed longest (the likeliest to stay, as in Kademlia) are kept
   * and a run of newcomers displaces its own kind first.
   */
  #activeEvictionVictim(nowMs: number): Peer | undefined {
    let best: Peer | undefined
    let bestRank: [number, number] | undefined
    for (const p of this.#peers.values()) {
      if (p.origin === "edge") continue
      const rank: [number, number] = [Reliability.score(p.reliability, nowMs, this.options.reliability), -p.addedMs]
      if (bestRank === undefined || lexLess(rank, bestRank)) {
        best = p
        bestRank = rank
      }
    }
    return best
  }

  #isCooling(map: BoundedMap<string, number>, key: string, nowMs: number): boolean {
    const untilMs = map.get(key)
    if (untilMs === undefined) return false
    if (nowMs < untilMs) return true
    map.delete(key)
    return false
  }

  #tryAdd(addr: AddrPort, keys: NetPrefix.Keys, origin: "inbound" | "introduced", nowMs: number): Peer | RefuseReason {
    const o = this.options
    if (this.#isOwnKey(keys.addr)) return "own-address"
    if (this.#isCooling(this.#banned, keys.addr, nowMs)) return "cooldown"
    if (origin === "introduced") {
      if (this.#isCooling(this.#introCooldown, keys.addr, nowMs)) return "cooldown"
      if (this.#introducedPending >= o.maxIntroduced) return "introduced-cap"
    }
    if ((this.#perIp.get(keys.ip) ?? 0) >= o.maxPeersPerIp) return "ip-cap"
    if ((this.#perPrefix.get(keys.prefix) ?? 0) >= o.maxPeersPerPrefix) return "prefix-cap"
    if (this.#nonEdgeCount >= o.maxPeers) {
      // A candidate someone else named never displaces a peer; one that reached us itself may
      // displace the least useful peer that is not active.
      if (origin === "introduced") return "full"
      const victim = this.#evictionVictim(nowMs) ?? this.#activeVictimIfDue(nowMs)
      if (victim === undefined) return "full"
      this.#remove(victim, "evicted")
    }
    const p = this.#newPeer(addr, keys, origin, nowMs)
    this.#peers.set(p.key, p)
    this.#track(p, 1)
    return p
  }

  #activeVictimIfDue(nowMs: number): Peer | undefined {
    const intervalMs = this.options.activeEvictionIntervalMs
    if (intervalMs === 0 || nowMs - this.#lastActiveEvictionMs < intervalMs) return undefined
    const victim = this.#activeEvictionVictim(nowMs)
    if (victim === undefined) return undefined
    this.#lastActiveEvictionMs = nowMs
    // Still alive, it keeps pinging us: held off for the interval, it cannot displace the newcomer
    // it made room for before that one has had time to be verified and become active.
    this.#banned.set(victim.key, nowMs + intervalMs)
    return victim
  }

  #refuse(reason: RefuseReason): void {
    this.#count(`refused:${reason}`)
  }

  /** Adds a configured edge: pinged every second, never dropped, exempt from the caps. */
  addEdge(addr: AddrPort, nowMs: number): AddResult {
    const keys = NetPrefix.keys(addr)
    const existing = this.#peers.get(keys.addr)
    if (existing?.origin === "edge") return { added: true, existed: true }
    if (this.#isOwnKey(keys.addr)) return { added: false, reason: "own-address" }
    if (this.#edges.length >= this.options.maxEdges) return { added: false, reason: "edge-cap" }
    if (existing !== undefined) {
      this.#track(existing, -1)
      existing.origin = "edge"
      existing.intervalMs = this.options.minPingIntervalMs
      existing.previousIntervalMs = this.options.minPingIntervalMs
      existing.nextPingMs = Math.min(existing.nextPingMs, nowMs)
      this.#edges.push(existing)
      this.#version++
      return { added: true, existed: true }
    }
    const p = this.#newPeer(addr, keys, "edge", nowMs)
    this.#peers.set(p.key, p)
    this.#edges.push(p)
    return { added: true, existed: false }
  }

  // ---------------------------------------------------------------- inbound traffic

  /**
   * First call for every datagram read: drops our own address (loopback) and rate-limited sources,
   * and counts the bytes toward the sender's amplification budget.
   */
  admit(from: AddrPort, sizeBytes: number, nowMs: number): Admission {
    const keys = NetPrefix.keys(from)
    if (this.#isOwnKey(keys.addr)) return { admitted: false, reason: "own-address" }
    const decision = this.#rateLimiter.takeKeys(keys, nowMs)
    if (decision !== "ok") {
      this.#count(`rate_limited:${decision}`)
      return { admitted: false, reason: decision === "ip" ? "rate-limited-ip" : "rate-limited-prefix" }
    }
    this.#amplification.noteReceivedKey(keys.addr, sizeBytes, nowMs)
    const p = this.#peers.get(keys.addr)
    if (p !== undefined) p.lastSeenMs = nowMs
    return { admitted: true }
  }

  /**
   * A PING arrived (after `admit`). Records the sender's status, adds it to the table subject to the
   * caps, and says whether to answer. Toward an unverified sender the PONG is bare and must fit the
   * amplification budget; when our own first challenge to it is due, 49 bytes are kept for that.
   */
  onPing(from: AddrPort, ping: Ping, nowMs: number, rng: Rng): PingReply {
    const keys = NetPrefix.keys(from)
    if (this.#isOwnKey(keys.addr)) return { replyAllowed: false, addrs: [] }
    let p = this.#peers.get(keys.addr)
    if (p === undefined) {
      const added = this.#tryAdd(from, keys, "inbound", nowMs)
      if (typeof added === "string") this.#refuse(added)
      else p = added
    }
    if (p !== undefined) {
      p.capacityBytes = clampReported(ping.capacity)
      const storesNothing = p.capacityBytes === 0n
      if (storesNothing !== p.storesNothing) this.#version++ // the cached candidate lists change
      p.storesNothing = storesNothing
      p.usedBytes = clampReported(ping.used)
      if (p.usedBytes > p.capacityBytes) p.usedBytes = p.capacityBytes
    }
    if (p?.pubKey !== undefined) {
      // A verified requester gets addresses at once (13.9 withholds them only from unverified ones).
      const addrs = this.sampleAddrs(Constants.NPEER_LIMIT, [from], nowMs, rng)
      return { replyAllowed: true, addrs }
    }
    const reserve = p !== undefined && p.origin === "inbound" && p.nextPingMs <= nowMs ? Constants.PING_LEN : 0
    const fits = this.#amplification.availableKey(keys.addr, nowMs) >= Constants.PONG_MIN_LEN + reserve
    if (!fits || !this.#amplification.trySpendKey(keys.addr, Constants.PONG_MIN_LEN, nowMs)) {
      this.#count("amplification_denied:pong")
      return { replyAllowed: false, addrs: [] }
    }
    return { replyAllowed: true, addrs: [] }
  }

  /**
   * The cheap checks of a PONG (3.4, 13.12): the sender is in the table, the echoed challenge is its
   * current or previous one (consumed here, so each is used once), at most 12 addresses, none of
   * them ours, not signed by our own key, and the key matches the one pinned to the address. A PONG
   * echoing neither challenge consumes nothing (a blind spoofer cannot cancel the real answer).
   */
  checkPong(from: AddrPort, pong: Pong, _nowMs: number): PongCheck {
    const reject = (reason: PongRejectReason): PongCheck => {
      this.#count(`pongs_rejected:${reason}`)
      return { _tag: "Rejected", reason }
    }
    if (this.#isOwn(from)) return reject("own-address")
    const p = this.#peers.get(NetPrefix.addrKey(from))
    if (p === undefined) return reject("unknown-peer")
    if (p.challenge === undefined && p.previousChallenge === undefined) return reject("no-challenge")
    if (p.challenge !== undefined && bytesEqual(pong.challenge, p.challenge)) p.challenge = undefined
    else if (p.previousChallenge !== undefined && bytesEqual(pong.challenge, p.previousChallenge))
      p.previousChallenge = undefined
    else return reject("challenge-mismatch")
    if (pong.addrs.length > Constants.NPEER_LIMIT) return reject("too-many-addrs")
    if (pong.addrs.some((a) => this.#isOwn(a))) return reject("lists-own-address")
    if (pong.pubKey.length !== Constants.PUBKEY_LEN) return reject("bad-key")
    if (this.options.selfPublicKey !== undefined && bytesEqual(pong.pubKey, this.options.selfPublicKey)) {
      // We reached ourselves through another address: remember it as ours and never talk to it.
      this.#ownAliases.set(p.key, true)
      this.#version++
      if (p.origin !== "edge") this.#remove(p, "self")
      return reject("self")
    }
    if (p.pubKey !== undefined && !bytesEqual(p.pubKey, pong.pubKey)) return reject("key-mismatch")
    return { _tag: "Verify", ticket: { peer: p, from: p.addr, pong } }
  }

  /** Second half of a PONG: `valid` is the caller's signature check of the ticket's answer. */
  completePong(ticket: PongTicket, valid: boolean, nowMs: number): PongOutcome {
    const reject = (reason: PongRejectReason): PongOutcome => {
      this.#count(`pongs_rejected:${reason}`)
      return { _tag: "Rejected", reason }
    }
    const p = ticket.peer as Peer
    if (this.#peers.get(p.key) !== p) return reject("unknown-peer")
    if (!valid) return reject("bad-signature")
    const { pong } = ticket
    if (p.pubKey !== undefined && !bytesEqual(p.pubKey, pong.pubKey)) return reject("key-mismatch")
    const firstSolve = p.pubKey === undefined
    if (firstSolve) {
      if (p.origin === "introduced") this.#introducedPending -= 1
      p.pubKey = Uint8Array.from(pong.pubKey)
      p.nodeId = NodeId.fromPublicKey(p.pubKey)
      p.idHi = Number(p.nodeId >> 32n)
      p.idLo = Number(p.nodeId & 0xffffffffn)
      if (p.origin !== "edge") {
        // From now on it is pinged at the table's interval, and its windows follow that interval.
        p.intervalMs = this.pingIntervalMs()
        p.nextPingMs = (p.lastPingMs ?? nowMs) + p.intervalMs
      }
    }
    // A solve only extends an active peer's life, which the selection cache's validity already
    // covers; any other peer may change state.
    if (!this.#isActive(p, nowMs)) this.#version++
    p.lastSolvedMs = nowMs
    p.lastSeenMs = nowMs
    this.#count("pongs_accepted")
    const introduced = this.#introduce(pong.addrs, p, nowMs)
    return { _tag: "Accepted", nodeId: p.nodeId!, firstSolve, introduced }
  }

  /** Both halves of a PONG with a synchronous signature check. */
  onPong(from: AddrPort, pong: Pong, nowMs: number, verifyAnswer: VerifyAnswer): PongOutcome {
    const check = this.checkPong(from, pong, nowMs)
    if (check._tag === "Rejected") return check
    const valid = verifyAnswer(pong.challenge, pong.salt, pong.pubKey, pong.sig)
    return this.completePong(check.ticket, valid, nowMs)
  }

  #introduce(addrs: ReadonlyArray<AddrPort>, from: Peer, nowMs: number): ReadonlyArray<AddrPort> {
    const added: Array<AddrPort> = []
    for (const addr of addrs.slice(0, Constants.NPEER_LIMIT)) {
      if (addr.ip.length !== Constants.IP_LEN || addr.port === 0 || addr.ip.every((b) => b === 0)) continue
      const keys = NetPrefix.keys(addr)
      if (keys.addr === from.key || this.#peers.has(keys.addr)) continue
      const result = this.#tryAdd(addr, keys, "introduced", nowMs)
      if (typeof result === "string") this.#refuse(result)
      else added.push(result.addr)
    }
    return added
  }

  // ---------------------------------------------------------------- schedule

  /**
   * Pruning and pinging. Edges get a PING every `minPingIntervalMs`. Other peers share a budget of
   * `maxPingsPerSecond` (in any 1 s window): verified peers are pinged every `pingIntervalMs()`,
   * which stretches with the table, unverified ones every `minPingIntervalMs` (introduced ones at
   * most `introducedPingLimit` times). Verified peers go first when the budget is short.
   */
  tick(nowMs: number, rng: Rng): TickResult {
    const due = this.#prune(nowMs)
    const intervalMs = this.pingIntervalMs()
    const pings: Array<OutgoingPing> = []
    for (const e of this.#edges) {
      if (e.nextPingMs <= nowMs && !this.#isOwn(e.addr))
        pings.push(this.#ping(e, nowMs, rng, this.options.minPingIntervalMs))
    }
    due.sort(
      (a, b) =>
        (a.pubKey === undefined ? 1 : 0) - (b.pubKey === undefined ? 1 : 0) ||
        a.nextPingMs - b.nextPingMs ||
        (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
    )
    for (const p of due) {
      if (!this.#pingWindow.canSend(nowMs)) break
      if (p.origin === "inbound" && p.pubKey === undefined) {
        // It reached us by sending: our challenge counts against its amplification budget (13.9).
        if (!this.#amplification.trySpendKey(p.key, Constants.PING_LEN, nowMs)) {
          this.#count("amplification_denied:ping")
          p.firstAttemptMs ??= nowMs
          p.nextPingMs = nowMs + this.options.minPingIntervalMs
          continue
        }
      }
      this.#pingWindow.record(nowMs)
      pings.push(this.#ping(p, nowMs, rng, intervalMs))
    }
    const dropped = this.#dropped
    this.#dropped = []
    return { pings, dropped }
  }

  #ping(p: Peer, nowMs: number, rng: Rng, intervalMs: number): OutgoingPing {
    const challenge = new Uint8Array(Constants.CHALLENGE_LEN)
    rng.fillBytes(challenge)
    p.previousChallenge = p.challenge
    p.challenge = challenge
    p.firstAttemptMs ??= nowMs
    p.lastPingMs = nowMs
    p.pingsSent += 1
    const baseMs = Math.max(p.intervalMs, p.previousIntervalMs)
    p.previousIntervalMs = p.intervalMs
    p.intervalMs = p.origin === "edge" || p.pubKey === undefined ? this.options.minPingIntervalMs : intervalMs
    if (Math.max(p.intervalMs, p.previousIntervalMs) !== baseMs) this.#version++
    p.nextPingMs = nowMs + p.intervalMs
    this.#count("pings_sent")
    return { to: p.addr, challenge }
  }

  /** Drops dead peers; returns the non-edge peers left whose PING is due (one pass per tick). */
  #prune(nowMs: number): Array<Peer> {
    const o = this.options
    const due: Array<Peer> = []
    // Deleting the entry being visited does not disturb a Map's iteration.
    for (const p of this.#peers.values()) {
      // Only a failed storage challenge can remove the peer here: look it up again only then.
      if (p.storage !== undefined) {
        this.#expireStorageChallenge(p, nowMs)
        if (this.#peers.get(p.key) !== p) continue
      }
      if (p.origin === "edge") continue
      if (this.#introducedExhausted(p) && nowMs - p.lastPingMs! >= 2 * o.minPingIntervalMs) {
        this.#introCooldown.set(p.key, nowMs + o.introducedCooldownMs)
        this.#remove(p, "introduced-unanswered")
      } else if (this.#isSilent(p, nowMs)) {
        this.#remove(p, "silent")
      } else if (p.nextPingMs <= nowMs && !this.#introducedExhausted(p)) {
        due.push(p)
      }
    }
    return due
  }

  // ---------------------------------------------------------------- replies toward a peer

  /** Whether the address answered one of our challenges (its key is pinned). */
  isVerified(addr: AddrPort): boolean {
    return this.#peers.get(NetPrefix.addrKey(addr))?.pubKey !== undefined
  }

  /**
   * Spends reply bytes toward `to`: free for verified peers, else from its amplification budget.
   * The node asks before any reply other than the PONG (which `onPing` decides); a GET_ACK with
   * data goes only to verified peers, whatever the budget.
   */
  trySpendReply(to: AddrPort, sizeBytes: number, nowMs: number): boolean {
    if (this.isVerified(to)) return true
    if (this.#amplification.trySpend(to, sizeBytes, nowMs)) return true
    this.#count("amplification_denied:reply")
    return false
  }

  // ---------------------------------------------------------------- own address

  /**
   * Accepts our public address from a GETMYADDRPORT_ACK, only from the edge that
   * `edgeForAddrQuery` chose within `addrQueryTimeoutMs`. A peer at that address is us: removed.
   */
  setOwnAddress(from: AddrPort, addr: AddrPort, nowMs: number): boolean {
    const q = this.#addrQuery
    if (q === undefined || q.key !== NetPrefix.addrKey(from) || nowMs - q.sentMs > this.options.addrQueryTimeoutMs)
      return false
    if (this.#peers.get(q.key)?.origin !== "edge") return false
    this.#addrQuery = undefined
    this.#ownAddress = { ip: Uint8Array.from(addr.ip), port: addr.port }
    this.#ownKey = NetPrefix.addrKey(addr)
    this.#version++
    const p = this.#peers.get(NetPrefix.addrKey(addr))
    if (p !== undefined && p.origin !== "edge") this.#remove(p, "own-address")
    return true
  }

  isOwnAddress(addr: AddrPort): boolean {
    return this.#isOwn(addr)
  }

  get ownAddress(): AddrPort | undefined {
    return this.#ownAddress
  }

  /** An edge that solved within `deactivateAfterMs` to ask GETMYADDRPORT; records the query. */
  edgeForAddrQuery(nowMs: number): AddrPort | undefined {
    const edge = this.#edges.find(
      (e) => e.lastSolvedMs !== undefined && nowMs - e.lastSolvedMs < this.options.deactivateAfterMs
    )
    if (edge === undefined) return undefined
    this.#addrQuery = { key: edge.key, sentMs: nowMs }
    return edge.addr
  }

  // ---------------------------------------------------------------- reliability

  #score(p: Peer, nowMs: number): number {
    return Reliability.score(p.reliability, nowMs, this.options.reliability)
  }

  /** Outcome of a storage challenge; a non-edge peer that keeps failing is dropped. */
  recordChallenge(addr: AddrPort, passed: boolean, nowMs: number): boolean {
    const p = this.#peers.get(NetPrefix.addrKey(addr))
    if (p === undefined) return false
    this.#applyChallenge(p, passed, nowMs)
    return true
  }

  #applyChallenge(p: Peer, passed: boolean, nowMs: number): void {
    const o = this.options
    p.reliability = Reliability.recordChallenge(p.reliability, passed, nowMs, o.reliability)
    this.#version++
    this.#count(passed ? "challenges:passed" : "challenges:failed")
    if (p.origin === "edge" || passed) return
    if (
      p.reliability.consecutiveFailures >= o.dropAfterConsecutiveFailures ||
      this.#score(p, nowMs) <= o.dropBelowScore
    ) {
      this.#banned.set(p.key, nowMs + o.unreliableCooldownMs)
      this.#remove(p, "unreliable")
    }
  }

  /** A valid, novel PUT arrived from this verified peer. */
  recordContribution(addr: AddrPort, nowMs: number): boolean {
    const p = this.#peers.get(NetPrefix.addrKey(addr))
    if (p?.pubKey === undefined) return false
    p.reliability = Reliability.recordContribution(p.reliability, nowMs, this.options.reliability)
    // Only this peer's score changed: patch the cached selection instead of rebuilding it (every
    // stored PUT lands here, and a rebuild walks the whole table). An outdated cache is rebuilt anyway.
    const c = this.#cache
    if (c !== undefined && c.version === this.#version) {
      const score = this.#score(p, nowMs)
      rescore(c, p.key, score)
      rescore(c.live, p.key, score)
    }
    return true
  }

  reliability(addr: AddrPort, nowMs: number): number | undefined {
    const p = this.#peers.get(NetPrefix.addrKey(addr))
    return p === undefined ? undefined : this.#score(p, nowMs)
  }

  // ---------------------------------------------------------------- storage challenges (5.6)

  /**
   * We just sent a PUT of this entry to `to` as a replica: with probability
   * `storageChallengeProbability`, remember to ask for it later, unless a challenge is pending.
   */
  offerStorageChallenge(to: AddrPort, spec: StorageChallengeSpec, nowMs: number, rng: Rng): boolean {
    const p = this.#peers.get(NetPrefix.addrKey(to))
    if (p?.pubKey === undefined || spec.expiresMs <= nowMs) return false
    if (p.storage !== undefined && p.storage.expiresMs > nowMs) return false
    if (rng.nextDouble() >= this.options.storageChallengeProbability) return false
    p.storage = {
      pubKey: Uint8Array.from(spec.pubKey),
      key: Uint8Array.from(spec.key),
      expiresMs: spec.expiresMs,
      sentMs: undefined
    }
    return true
  }

  /**
   * A round of storage challenges (the node runs one every 10 s): up to `storageChallengesPerRound`
   * random active peers that hold an unsent challenge. The node sends each a GET and reports the
   * verified answer to `onChallengeReply`; no answer within the deadline counts as a failure.
   */
  pickChallenges(nowMs: number, rng: Rng): ReadonlyArray<StorageChallengeRequest> {
    const ready: Array<Peer> = []
    for (const p of this.#peers.values()) {
      const s = p.storage
      if (s !== undefined && s.sentMs === undefined && s.expiresMs > nowMs && this.#isActive(p, nowMs)) ready.push(p)
    }
    const picked = partialShuffle(ready, this.options.storageChallengesPerRound, rng)
    return picked.map((p) => {
      p.storage!.sentMs = nowMs
      return { to: p.addr, pubKey: p.storage!.pubKey, key: p.storage!.key }
    })
  }

  /** A GET_ACK from `from`; `valid` = the node verified work and signature (a "not found" fails). */
  onChallengeReply(
    from: AddrPort,
    pubKey: Uint8Array,
    key: Uint8Array,
    valid: boolean,
    nowMs: number
  ): ChallengeReplyOutcome {
    const p = this.#peers.get(NetPrefix.addrKey(from))
    const s = p?.storage
    if (p === undefined || s?.sentMs === undefined || !bytesEqual(s.pubKey, pubKey) || !bytesEqual(s.key, key))
      return "unexpected"
    p.storage = undefined
    const passed = valid && nowMs - s.sentMs <= this.options.storageChallengeDeadlineMs
    this.#applyChallenge(p, passed, nowMs)
    return passed ? "passed" : "failed"
  }

  #expireStorageChallenge(p: Peer, nowMs: number): void {
    const s = p.storage
    if (s === undefined) return
    if (s.sentMs !== undefined && nowMs - s.sentMs > this.options.storageChallengeDeadlineMs) {
      p.storage = undefined
      this.#applyChallenge(p, false, nowMs)
    } else if (s.sentMs === undefined && s.expiresMs <= nowMs) {
      p.storage = undefined
    }
  }

  // ---------------------------------------------------------------- selection

  /**
   * The active peers with what selection needs, rebuilt only when the table changed or a peer's
   * state is due to change with time (activation, deactivation), and at least every second so
   * that sampling weights follow the reliability decay. Being active is a function of the state
   * and the time, so the cache answers exactly what a scan would.
   */
  #active(nowMs: number): ActiveCache {
    const c = this.#cache
    if (c !== undefined && c.version === this.#version && nowMs >= c.builtMs && nowMs < c.validUntilMs) return c
    const o = this.options
    const peers: Array<Peer> = []
    const live: Array<Peer> = []
    let validUntilMs = nowMs + o.selectionRefreshMs
    for (const p of this.#peers.values()) {
      if (p.lastSolvedMs === undefined) continue
      const inactiveAtMs = p.lastSolvedMs + o.deactivateAfterMs * this.#scale(p)
      if (nowMs < inactiveAtMs && !p.storesNothing && !(p.origin === "edge" && this.#isOwnKey(p.key))) {
        live.push(p)
        validUntilMs = Math.min(validUntilMs, inactiveAtMs)
      }
      if (this.#isActive(p, nowMs)) {
        peers.push(p)
        validUntilMs = Math.min(validUntilMs, inactiveAtMs)
      } else if (p.origin !== "edge" && nowMs < inactiveAtMs && nowMs < p.addedMs + o.activateAfterMs) {
        validUntilMs = Math.min(validUntilMs, p.addedMs + o.activateAfterMs)
      }
    }
    const score = (p: Peer) => this.#score(p, nowMs)
    const active = samplePool(peers, score)
    const idHi = new Uint32Array(peers.length)
    const idLo = new Uint32Array(peers.length)
    for (let i = 0; i < peers.length; i++) {
      idHi[i] = peers[i]!.idHi
      idLo[i] = peers[i]!.idLo
    }
    const cache: ActiveCache = {
      version: this.#version,
      builtMs: nowMs,
      validUntilMs,
      peers,
      scores: active.scores,
      cumulative: active.cumulative,
      index: active.index,
      idHi,
      idLo,
      live: samplePool(live, score)
    }
    this.#cache = cache
    return cache
  }

  isActive(addr: AddrPort, nowMs: number): boolean {
    const p = this.#peers.get(NetPrefix.addrKey(addr))
    return p !== undefined && this.#isActive(p, nowMs)
  }

  active(nowMs: number): ReadonlyArray<PeerView> {
    return this.#active(nowMs).peers.map((p) => this.#view(p, nowMs))
  }

  activeCount(nowMs: number): number {
    return this.#active(nowMs).peers.length
  }

  /** Edges that solved within `deactivateAfterMs`. */
  edgesOnline(nowMs: number): number {
    let n = 0
    for (const e of this.#edges) if (this.#isActive(e, nowMs)) n++
    return n
  }

  /**
   * Active peers (and ourselves if asked) with a known node ID, by XOR distance to `targetId`,
   * without peers whose last PING reported a capacity of 0 (light clients, which store nothing);
   * equally distant ones (the same ID at several addresses) by reliability, and one per ID.
   */
  closest(targetId: bigint, count: number, nowMs: number, options: ClosestOptions = {}): ReadonlyArray<Candidate> {
    const limit = Math.max(0, Math.floor(count))
    if (limit === 0 || !NodeId.isNodeId(targetId)) return []
    const c = this.#active(nowMs)
    const tHi = Number(targetId >> 32n)
    const tLo = Number(targetId & 0xffffffffn)
    const excludeKeys =
      options.excludeAddrs === undefined ? undefined : new Set(options.excludeAddrs.map(NetPrefix.addrKey))
    const excludeIds = options.excludeIds === undefined ? undefined : new Set(options.excludeIds)
    // The top `limit`, nearest first, as parallel arrays: positions in the cache (−1 is us) and XOR
    // distances. Two entries at one distance share a node ID: the better ranked stays (`ranksAbove`).
    const at: Array<number> = []
    const hiOf: Array<number> = []
    const loOf: Array<number> = []
    const offer = (index: number, dHi: number, dLo: number): void => {
      let j = at.length
      // Bounded by `limit`: the top never holds more.
      while (j > 0 && (dHi < hiOf[j - 1]! || (dHi === hiOf[j - 1]! && dLo < loOf[j - 1]!))) j--
      if (j > 0 && dHi === hiOf[j - 1]! && dLo === loOf[j - 1]!) {
        if (this.#ranksAbove(c, index, at[j - 1]!, nowMs)) at[j - 1] = index
        return
      }
      if (j >= limit) return
      at.splice(j, 0, index)
      hiOf.splice(j, 0, dHi)
      loOf.splice(j, 0, dLo)
      if (at.length > limit) {
        at.pop()
        hiOf.pop()
        loOf.pop()
      }
    }
    const self = this.selfNodeId
    if (options.includeSelf === true && self !== undefined && excludeIds?.has(self) !== true) {
      offer(-1, (Number(self >> 32n) ^ tHi) >>> 0, (Number(self & 0xffffffffn) ^ tLo) >>> 0)
    }
    const { idHi, idLo, peers } = c
    const filtered = excludeKeys !== undefined || excludeIds !== undefined
    for (let i = 0; i < peers.length; i++) {
      const dHi = (idHi[i]! ^ tHi) >>> 0
      const dLo = (idLo[i]! ^ tLo) >>> 0
      const n = at.length
      if (n === limit && (dHi > hiOf[n - 1]! || (dHi === hiOf[n - 1]! && dLo > loOf[n - 1]!))) continue
      const p = peers[i]!
      if (p.storesNothing) continue
      if (filtered && (excludeKeys?.has(p.key) === true || excludeIds?.has(p.nodeId!) === true)) continue
      offer(i, dHi, dLo)
    }
    return at.map((i) => {
      if (i < 0) return { nodeId: self!, addr: undefined, self: true, reliability: Number.POSITIVE_INFINITY }
      const p = c.peers[i]!
      return { nodeId: p.nodeId!, addr: p.addr, self: false, reliability: c.scores[i]! }
    })
  }

  /**
   * Of two cache positions at the same distance (one node ID at two addresses, or us), whether `a`
   * ranks above `b`: more reliable, then solved more recently, then the smaller address key.
   */
  #ranksAbove(c: ActiveCache, a: number, b: number, nowMs: number): boolean {
    const score = (i: number) => (i < 0 ? Number.POSITIVE_INFINITY : c.scores[i]!)
    const solved = (i: number) => (i < 0 ? nowMs : c.peers[i]!.lastSolvedMs!)
    const key = (i: number) => (i < 0 ? "" : c.peers[i]!.key)
    if (score(a) !== score(b)) return score(a) > score(b)
    if (solved(a) !== solved(b)) return solved(a) > solved(b)
    return key(a) < key(b)
  }

  /**
   * GET targets: of the `2 × count` closest, those with a non-negative reliability first (each
   * group still by distance), so peers that recently failed storage challenges are asked last.
   */
  getTargets(targetId: bigint, count: number, nowMs: number, options: ClosestOptions = {}): ReadonlyArray<Candidate> {
    const limit = Math.max(0, Math.floor(count))
    const pool = this.closest(targetId, 2 * limit, nowMs, options)
    const good = pool.filter((c) => c.reliability >= 0)
    const poor = pool.filter((c) => c.reliability < 0)
    return [...good, ...poor].slice(0, limit)
  }

  /**
   * Up to `count` (at most 12) addresses of live peers for a PONG, without `exclude`, sampled without
   * replacement with weights that grow with reliability: each pick is drawn in proportion to weight
   * among the peers not yet picked. Live = answered one of our challenges within its active window,
   * whether or not its activation delay has passed: it proved its key and that it is there, and
   * listing it early lets a new network form in one activation delay instead of two.
   */
  sampleAddrs(count: number, exclude: ReadonlyArray<AddrPort>, nowMs: number, rng: Rng): ReadonlyArray<AddrPort> {
    const limit = Math.min(Constants.NPEER_LIMIT, Math.max(0, Math.floor(count)))
    const c = this.#active(nowMs).live
    const n = c.peers.length
    const skip = new Set<number>()
    for (const a of exclude) {
      const i = c.index.get(NetPrefix.addrKey(a))
      if (i !== undefined) skip.add(i)
    }
    if (limit === 0 || n - skip.size <= 0) return []
    const picked: Array<number> = []
    const total = c.cumulative[n - 1]!
    // Draw with rejection of excluded and already-picked peers, a bounded number of times; when
    // few peers remain that is wasteful, so finish by weighted random keys over the rest.
    const maxDraws = 4 * limit + 8
    for (let draw = 0; draw < maxDraws && picked.length < limit && picked.length + skip.size < n; draw++) {
      const i = upperBound(c.cumulative, rng.nextDouble() * total)
      if (skip.has(i)) continue
      skip.add(i)
      picked.push(i)
    }
    if (picked.length < limit && picked.length + (skip.size - picked.length) < n) {
      const rest: Array<{ readonly i: number; readonly k: number }> = []
      for (let i = 0; i < n; i++) {
        if (skip.has(i)) continue
        // Efraimidis–Spirakis: the smallest −ln(u)/w are a weighted sample without replacement.
        rest.push({ i, k: -Math.log(1 - rng.nextDouble()) / Reliability.weight(c.scores[i]!) })
      }
      rest.sort((a, b) => a.k - b.k)
      for (const r of rest.slice(0, limit - picked.length)) picked.push(r.i)
    }
    return picked.map((i) => c.peers[i]!.addr)
  }

  // ---------------------------------------------------------------- views

  get size(): number {
    return this.#peers.size
  }

  get edgeCount(): number {
    return this.#edges.length
  }

  get(addr: AddrPort, nowMs: number): PeerView | undefined {
    const p = this.#peers.get(NetPrefix.addrKey(addr))
    return p === undefined ? undefined : this.#view(p, nowMs)
  }

  /** Every peer, sorted by address, for the admin `/peers` page. */
  snapshot(nowMs: number): ReadonlyArray<PeerView> {
    return Array.from(this.#peers.values())
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((p) => this.#view(p, nowMs))
  }

  /** Sum of the (self-reported, clamped) used space and capacity of active peers (5.7). */
  networkUsage(nowMs: number): NetworkUsage {
    let usedBytes = 0n
    let capacityBytes = 0n
    const { peers } = this.#active(nowMs)
    for (const p of peers) {
      usedBytes += p.usedBytes
      capacityBytes += p.capacityBytes
    }
    return { usedBytes, capacityBytes, peers: peers.length }
  }

  #view(p: Peer, nowMs: number): PeerView {
    return {
      addr: p.addr,
      nodeId: p.nodeId,
      publicKey: p.pubKey,
      origin: p.origin,
      edge: p.origin === "edge",
      active: this.#isActive(p, nowMs),
      verified: p.pubKey !== undefined,
      reliability: this.#score(p, nowMs),
      addedMs: p.addedMs,
      lastSeenMs: p.lastSeenMs,
      lastSolvedMs: p.lastSolvedMs,
      pingIntervalMs: p.intervalMs,
      usedBytes: p.usedBytes,
      capacityBytes: p.capacityBytes,
      challengesPassed: p.reliability.passed,
      challengesFailed: p.reliability.failed,
      contributions: p.reliability.contributions
    }
  }
}

const lexLess = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!
  return false
}

/** A closest() candidate: `index` into the active cache (−1 for ourselves) and its sort keys. */
/** First index whose cumulative weight exceeds `x` (clamped to the last index). */
const upperBound = (cumulative: Float64Array, x: number): number => {
  let lo = 0
  let hi = cumulative.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (cumulative[mid]! > x) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** The first `count` elements of a Fisher–Yates shuffle of a copy of `items`. */
const partialShuffle = <A>(items: ReadonlyArray<A>, count: number, rng: Rng): Array<A> => {
  const a = items.slice()
  const n = Math.min(count, a.length)
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rng.nextDouble() * (a.length - i))
    const t = a[i]!
    a[i] = a[j]!
    a[j] = t
  }
  return a.slice(0, n)
}
