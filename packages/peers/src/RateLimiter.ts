import type { AddrPort } from "@dave/protocol"
import { BoundedMap } from "./BoundedMap.ts"
import * as NetPrefix from "./NetPrefix.ts"

/**
 * Token buckets per source IP and per network prefix (IPv4 /24, IPv6 /48). A datagram is admitted
 * only when both buckets hold a token; it then takes one from each. Both maps are bounded and evict
 * the least recently used bucket, which forgets that source's debt: an attacker must cycle more
 * sources than the map holds to profit, and the prefix bucket still limits it.
 */

export interface RateLimiterOptions {
  readonly perIpPerSecond: number
  readonly perIpBurst: number
  readonly perPrefixPerSecond: number
  readonly perPrefixBurst: number
  /** Most sources (and most prefixes) tracked at once. */
  readonly maxTracked: number
}

export type RateDecision = "ok" | "ip" | "prefix"

interface Bucket {
  tokens: number
  updatedMs: number
}

const refill = (bucket: Bucket, nowMs: number, perSecond: number, burst: number): void => {
  const elapsedMs = Math.max(0, nowMs - bucket.updatedMs)
  bucket.tokens = Math.min(burst, bucket.tokens + (elapsedMs * perSecond) / 1000)
  bucket.updatedMs = Math.max(bucket.updatedMs, nowMs)
}

export class RateLimiter {
  readonly options: RateLimiterOptions
  readonly #ips: BoundedMap<string, Bucket>
  readonly #prefixes: BoundedMap<string, Bucket>

  constructor(options: RateLimiterOptions) {
    this.options = options
    this.#ips = new BoundedMap(options.maxTracked)
    this.#prefixes = new BoundedMap(options.maxTracked)
  }

  /** Takes one token from the source's IP and prefix buckets, or says which one is empty. */
  take(from: AddrPort, nowMs: number): RateDecision {
    return this.takeKeys(NetPrefix.keys(from), nowMs)
  }

  /** `take` for keys the caller already computed. */
  takeKeys(keys: NetPrefix.Keys, nowMs: number): RateDecision {
    const o = this.options
    const ip = this.#ips.get(keys.ip) ?? { tokens: o.perIpBurst, updatedMs: nowMs }
    const prefix = this.#prefixes.get(keys.prefix) ?? { tokens: o.perPrefixBurst, updatedMs: nowMs }
    refill(ip, nowMs, o.perIpPerSecond, o.perIpBurst)
    refill(prefix, nowMs, o.perPrefixPerSecond, o.perPrefixBurst)
    // Store both even when refusing, so the refill clock and the LRU position stay current.
    this.#ips.set(keys.ip, ip)
    this.#prefixes.set(keys.prefix, prefix)
    if (ip.tokens < 1) return "ip"
    if (prefix.tokens < 1) return "prefix"
    ip.tokens -= 1
    prefix.tokens -= 1
    return "ok"
  }

  get trackedCount(): number {
    return this.#ips.size + this.#prefixes.size
  }
}
