import { SourceGuard } from "@dave/network"
import { PeerOptions, RateLimiter } from "@dave/peers"
import { Address } from "@dave/protocol"
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"

const limits: SourceGuard.SourceLimits = {
  perIpPerSecond: 100,
  perIpBurst: 10,
  perPrefixPerSecond: 1_000,
  perPrefixBurst: 25,
  maxTracked: 64
}

/** Offers `count` datagrams from `host` at `nowMs`; returns how many were admitted and why the rest were not. */
const offer = (guard: SourceGuard.SourceGuard, host: string, count: number, nowMs: number) => {
  const outcome = { ok: 0, ip: 0, prefix: 0 }
  const source = guard.source(host, nowMs)
  assert.isDefined(source)
  for (let i = 0; i < count; i++) outcome[guard.admit(source!, nowMs)]++
  return outcome
}

describe("SourceGuard", () => {
  it("a source gets its burst, then its rate; the refusals name the IP bucket", () => {
    const guard = SourceGuard.make(limits)
    assert.deepStrictEqual(offer(guard, "127.0.0.2", 50, 0), { ok: 10, ip: 40, prefix: 0 })
    // 100/s refills one token every 10 ms
    assert.deepStrictEqual(offer(guard, "127.0.0.2", 5, 30), { ok: 3, ip: 2, prefix: 0 })
    // a long pause refills up to the burst, not beyond
    assert.deepStrictEqual(offer(guard, "127.0.0.2", 50, 60_000), { ok: 10, ip: 40, prefix: 0 })
  })

  it("sources of one /24 share a prefix bucket; another /24 and IPv6 have their own", () => {
    const guard = SourceGuard.make(limits)
    const inPrefix = ["127.0.0.2", "127.0.0.3", "127.0.0.4"].map((h) => offer(guard, h, 10, 0))
    assert.deepStrictEqual(
      inPrefix.map((o) => o.ok),
      [10, 10, 5]
    )
    assert.strictEqual(inPrefix[2]!.prefix, 5)
    assert.deepStrictEqual(offer(guard, "127.0.1.1", 10, 0), { ok: 10, ip: 0, prefix: 0 })
    assert.deepStrictEqual(offer(guard, "::ffff:127.0.0.5", 1, 0), { ok: 0, ip: 0, prefix: 1 })
    assert.deepStrictEqual(offer(guard, "::1", 10, 0), { ok: 10, ip: 0, prefix: 0 })
  })

  it("keeps the parsed IP of a source; refuses a host that does not parse", () => {
    const guard = SourceGuard.make(limits)
    const source = guard.source("127.0.0.9", 0)
    assert.strictEqual(Address.ipToString(source!.ip), "127.0.0.9")
    assert.strictEqual(guard.source("127.0.0.9", 5), source)
    assert.isUndefined(guard.source("not an address", 0))
  })

  it("tracks at most maxTracked sources; a forgotten source comes back with a full bucket", () => {
    const guard = SourceGuard.make(limits)
    offer(guard, "10.0.0.1", 10, 0)
    for (let i = 0; i < 200; i++) guard.source(`10.1.${i}.1`, 0)
    assert.strictEqual(guard.trackedCount(), limits.maxTracked)
    assert.strictEqual(offer(guard, "10.0.0.1", 10, 0).ok, 10)
  })

  it("unlimited admits everything", () => {
    const guard = SourceGuard.make(SourceGuard.unlimited)
    assert.deepStrictEqual(offer(guard, "127.0.0.2", 100_000, 0), { ok: 100_000, ip: 0, prefix: 0 })
  })

  it("the internet limits sit above the peer table's own defaults", () => {
    const d = PeerOptions.defaults
    const g = SourceGuard.internet
    assert.isAbove(g.perIpPerSecond, d.perIpPerSecond)
    assert.isAbove(g.perIpBurst, d.perIpBurst)
    assert.isAbove(g.perPrefixPerSecond, d.perPrefixPerSecond)
    assert.isAbove(g.perPrefixBurst, d.perPrefixBurst)
  })

  it("never refuses traffic the peer table's rate limiter admits in full (internet defaults)", () => {
    const gaps = fc.array(fc.tuple(fc.nat(20), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 400 })
    fc.assert(
      fc.property(gaps, fc.integer({ min: 1, max: 254 }), (arrivals, lastOctet) => {
        const peer = new RateLimiter.RateLimiter({ ...PeerOptions.defaults })
        const guard = SourceGuard.make(SourceGuard.internet)
        const host = `192.0.2.${lastOctet}`
        const from = { ip: Address.parseIp(host)!, port: 1 }
        let nowMs = 0
        for (const [gapMs, datagramsAtOnce] of arrivals) {
          nowMs += gapMs
          for (let k = 0; k < datagramsAtOnce; k++) {
            // Only what the peer limiter admits is sent: a conforming honest peer.
            if (peer.take(from, nowMs) !== "ok") continue
            if (guard.admit(guard.source(host, nowMs)!, nowMs) !== "ok") return false
          }
        }
        return true
      }),
      { numRuns: 200 }
    )
  })
})
