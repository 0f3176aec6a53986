import { NetPrefix, PeerOptions } from "@dave/peers"
import type { AddrPort } from "@dave/protocol"
import * as AddressConversion from "./AddressConversion.ts"

/**
 * The socket's first check on every datagram, before it is queued or decoded: token buckets per
 * source IP and per source network (IPv4 /24, IPv6 /48, as the peer table's). A flood from one
 * address then costs the node a map lookup and two refills per datagram instead of a trip through
 * the receive queue and the node's dispatch. It is a coarse guard above the peer table's own
 * per-IP and per-prefix limits (NodeStack sets it to a multiple of those), so it never refuses what
 * those would admit; it only makes refusing a flood cheap.
 */

export interface SourceLimits {
  readonly perIpPerSecond: number
  readonly perIpBurst: number
  readonly perPrefixPerSecond: number
  readonly perPrefixBurst: number
  /** Most sources (and most prefixes) tracked at once; the oldest is forgotten beyond it. */
  readonly maxTracked: number
}

/**
 * How far above the peer table's limits the socket's are. At 4×, a source the peer table limits
 * still gets 4× its admitted rate through to it, refused there at full cost, and everything beyond
 * is refused here for the price of a map lookup.
 */
export const PEER_LIMIT_FACTOR = 4

/** Tracked sources and prefixes: twice the peer table's default `maxTracked`. */
const MAX_TRACKED = 8_192

/** The guard above the given peer-table limits (the internet defaults unless told otherwise). */
export const abovePeerLimits = (
  peers: Pick<PeerOptions.PeerOptions, "perIpPerSecond" | "perIpBurst" | "perPrefixPerSecond" | "perPrefixBurst">
): SourceLimits => ({
  perIpPerSecond: peers.perIpPerSecond * PEER_LIMIT_FACTOR,
  perIpBurst: peers.perIpBurst * PEER_LIMIT_FACTOR,
  perPrefixPerSecond: peers.perPrefixPerSecond * PEER_LIMIT_FACTOR,
  perPrefixBurst: peers.perPrefixBurst * PEER_LIMIT_FACTOR,
  maxTracked: MAX_TRACKED
})

/** The default: above the peer table's internet defaults (per IP 800/s, burst 1,600; per prefix 3,200/s, burst 6,400). */
export const internet: SourceLimits = abovePeerLimits(PeerOptions.defaults)

/** No limit: for many nodes on one loopback address. */
export const unlimited: SourceLimits = {
  perIpPerSecond: Number.POSITIVE_INFINITY,
  perIpBurst: Number.POSITIVE_INFINITY,
  perPrefixPerSecond: Number.POSITIVE_INFINITY,
  perPrefixBurst: Number.POSITIVE_INFINITY,
  maxTracked: MAX_TRACKED
}

export type Decision = "ok" | "ip" | "prefix"

interface Bucket {
  tokens: number
  updatedMs: number
}

/** A source seen recently: its parsed IP (reused for every datagram from it) and its buckets. */
export interface Source {
  readonly host: string
  readonly ip: Uint8Array
  readonly ipBucket: Bucket
  readonly prefixBucket: Bucket
}

export interface SourceGuard {
  /** The source for a node:dgram host string; undefined when the host does not parse. */
  readonly source: (host: string, nowMs: number) => Source | undefined
  /** Takes a token from the source's IP and prefix buckets, or says which one is empty. */
  readonly admit: (source: Source, nowMs: number) => Decision
  readonly trackedCount: () => number
}

/** Deletes the oldest entries until `map` has room for one more (Map iterates in insertion order). */
const makeRoom = <K, V>(map: Map<K, V>, most: number): void => {
  for (const key of map.keys()) {
    if (map.size < most) return
    map.delete(key)
  }
}

const refill = (bucket: Bucket, nowMs: number, perSecond: number, burst: number): void => {
  const elapsedMs = nowMs - bucket.updatedMs
  if (elapsedMs <= 0) return
  bucket.tokens = Math.min(burst, bucket.tokens + (elapsedMs * perSecond) / 1000)
  bucket.updatedMs = nowMs
}

export const make = (limits: SourceLimits): SourceGuard => {
  if (!(limits.maxTracked >= 1)) throw new RangeError(`maxTracked must be at least 1, got ${limits.maxTracked}`)
  const sources = new Map<string, Source>()
  const prefixes = new Map<string, Bucket>()
  const limited = Number.isFinite(limits.perIpPerSecond) || Number.isFinite(limits.perPrefixPerSecond)

  const source = (host: string, nowMs: number): Source | undefined => {
    const known = sources.get(host)
    if (known !== undefined) return known
    const parsed: AddrPort | undefined = AddressConversion.fromNativeHost(host, 0)
    if (parsed === undefined) return undefined
    const prefixKey = NetPrefix.prefixKey(parsed)
    let prefixBucket = prefixes.get(prefixKey)
    if (prefixBucket === undefined) {
      makeRoom(prefixes, limits.maxTracked)
      prefixBucket = { tokens: limits.perPrefixBurst, updatedMs: nowMs }
      prefixes.set(prefixKey, prefixBucket)
    }
    makeRoom(sources, limits.maxTracked)
    // A forgotten source comes back with a full bucket: cycling more sources than are tracked is
    // what an attacker must do to profit, and its prefix bucket (kept by the sources using it) still limits it.
    const fresh: Source = {
      host,
      ip: parsed.ip,
      ipBucket: { tokens: limits.perIpBurst, updatedMs: nowMs },
      prefixBucket
    }
    sources.set(host, fresh)
    return fresh
  }

  const admit = (s: Source, nowMs: number): Decision => {
    if (!limited) return "ok"
    refill(s.ipBucket, nowMs, limits.perIpPerSecond, limits.perIpBurst)
    if (s.ipBucket.tokens < 1) return "ip"
    refill(s.prefixBucket, nowMs, limits.perPrefixPerSecond, limits.perPrefixBurst)
    if (s.prefixBucket.tokens < 1) return "prefix"
    s.ipBucket.tokens -= 1
    s.prefixBucket.tokens -= 1
    return "ok"
  }

  return { source, admit, trackedCount: () => sources.size }
}
