import { NetPrefix, Reliability } from "@dave/peers"
import { Address, type AddrPort, NodeId } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Driver, distinct, keyFor, makeCore, ping, rng, v4 } from "./helpers.ts"

const params = Reliability.defaultParams

/** A table whose peers (one per key) are all verified and active at `d.nowMs`. */
const activeTable = (keys: ReadonlyArray<Uint8Array>, overrides: Parameters<typeof makeCore>[0] = {}) => {
  const d = new Driver(makeCore({ maxPeers: 1_000, ...overrides }))
  const addrs = keys.map((k, i) => {
    const a = distinct(i)
    d.setLive(a, k)
    d.pingers.set(Address.key(a), a)
    return a
  })
  d.runUntil(6_000)
  for (const a of addrs) expect(d.core.isActive(a, d.nowMs)).toBe(true)
  return { d, addrs }
}

describe("reliability score", () => {
  it("is capped, decays with its half-life, and caps contributions separately", () => {
    let r = Reliability.initial(0)
    for (let i = 0; i < 10; i++) r = Reliability.recordChallenge(r, true, 0, params)
    expect(Reliability.score(r, 0, params)).toBe(params.challengeMax)
    expect(Reliability.score(r, params.halfLifeMs, params)).toBeCloseTo(params.challengeMax / 2, 10)
    let c = Reliability.initial(0)
    for (let i = 0; i < 100; i++) c = Reliability.recordContribution(c, 0, params)
    expect(Reliability.score(c, 0, params)).toBeCloseTo(params.contributionMax, 10)
    c = Reliability.recordChallenge(c, false, 0, params)
    expect(Reliability.score(c, 0, params)).toBeCloseTo(params.contributionMax + params.failPoints, 10)
    expect(c.consecutiveFailures).toBe(1)
    for (let i = 0; i < 10; i++) c = Reliability.recordChallenge(c, false, 0, params)
    expect(c.challenge).toBe(params.challengeMin)
  })

  it("stays within its caps for any sequence of events (property)", () => {
    const event = fc.record({ dtMs: fc.integer({ min: 0, max: 10_000_000 }), kind: fc.constantFrom(0, 1, 2) })
    fc.assert(
      fc.property(fc.array(event, { maxLength: 200 }), (events) => {
        let r = Reliability.initial(0)
        let t = 0
        for (const e of events) {
          t += e.dtMs
          r =
            e.kind === 2
              ? Reliability.recordContribution(r, t, params)
              : Reliability.recordChallenge(r, e.kind === 1, t, params)
          const s = Reliability.score(r, t, params)
          expect(s).toBeLessThanOrEqual(params.challengeMax + params.contributionMax)
          expect(s).toBeGreaterThanOrEqual(params.challengeMin)
        }
      })
    )
  })
})

describe("selection", () => {
  it("closest() orders by XOR distance like a brute force, skipping unverified peers (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), { minLength: 1, maxLength: 20 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.integer({ min: 1, max: 8 }),
        (ids, target, count) => {
          const { d } = activeTable(ids.map((id) => keyFor(id)))
          d.inbound(v4("198.51.100.1", 1)) // in the table, but with no ID yet
          const got = d.core.closest(target, count, d.nowMs).map((c) => c.nodeId)
          const want = [...ids].sort((a, b) => {
            const x = NodeId.distance(a, target)
            const y = NodeId.distance(b, target)
            return x < y ? -1 : x > y ? 1 : 0
          })
          expect(got).toEqual(want.slice(0, count))
        }
      ),
      { numRuns: 30 }
    )
  })

  it("active sets and closest() stay exact while peers come, go and change reliability (property)", () => {
    const step = fc.record({
      dtMs: fc.integer({ min: 1, max: 2_500 }),
      toggle: fc.integer({ min: -1, max: 11 }),
      judge: fc.integer({ min: -1, max: 11 }),
      passed: fc.boolean(),
      target: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
    })
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => {
        const d = new Driver(makeCore({ maxPingsPerSecond: 4 }))
        // 12 peers, two of which share a key (one ID at two addresses)
        const addrs = Array.from({ length: 12 }, (_, i) => distinct(i))
        const keys = addrs.map((_, i) => keyFor(BigInt(i === 11 ? 3 : i + 1) * 0x0123456789abn))
        addrs.forEach((a, i) => {
          d.setLive(a, keys[i])
          d.pingers.set(Address.key(a), a)
        })
        for (const s of steps) {
          if (s.toggle >= 0) {
            const a = addrs[s.toggle]!
            d.setLive(a, d.live.has(Address.key(a)) ? undefined : keys[s.toggle])
          }
          if (s.judge >= 0) d.core.recordChallenge(addrs[s.judge]!, s.passed, d.nowMs)
          d.runUntil(d.nowMs + s.dtMs, 500)
          const now = d.nowMs
          const views = d.core.snapshot(now).filter((v) => v.active)
          expect(d.core.activeCount(now)).toBe(views.length)
          const sorted = [...views].sort((a, b) => {
            const x = NodeId.distance(a.nodeId!, s.target)
            const y = NodeId.distance(b.nodeId!, s.target)
            if (x !== y) return x < y ? -1 : 1
            if (a.reliability !== b.reliability) return b.reliability - a.reliability
            if (a.lastSolvedMs !== b.lastSolvedMs) return b.lastSolvedMs! - a.lastSolvedMs!
            return NetPrefix.addrKey(a.addr) < NetPrefix.addrKey(b.addr) ? -1 : 1
          })
          const want = sorted.filter((v, i) => sorted.findIndex((w) => w.nodeId === v.nodeId) === i).slice(0, 4)
          const got = d.core.closest(s.target, 4, now)
          expect(got.map((c) => Address.key(c.addr!))).toEqual(want.map((v) => Address.key(v.addr)))
        }
      }),
      { numRuns: 40 }
    )
  })

  it("includes ourselves when asked and honours exclusions", () => {
    const selfKey = keyFor(0b1000n)
    const { d, addrs } = activeTable([keyFor(0b0001n), keyFor(0b0011n), keyFor(0b1111n)], { selfPublicKey: selfKey })
    const ids = (cs: ReadonlyArray<{ readonly nodeId: bigint; readonly self: boolean }>) => cs.map((c) => c.nodeId)
    expect(ids(d.core.closest(0b1001n, 2, d.nowMs, { includeSelf: true }))).toEqual([0b1000n, 0b1111n])
    expect(d.core.closest(0b1001n, 1, d.nowMs, { includeSelf: true })[0]?.self).toBe(true)
    expect(ids(d.core.closest(0b1001n, 2, d.nowMs, { excludeAddrs: [addrs[2]!] }))).toEqual([0b0001n, 0b0011n])
    expect(ids(d.core.closest(0b0000n, 3, d.nowMs, { excludeIds: [0b0001n] }))).toEqual([0b0011n, 0b1111n])
  })

  it("between equally distant candidates (one ID at two addresses) the more reliable wins", () => {
    const shared = keyFor(77n)
    const { d, addrs } = activeTable([shared, shared, keyFor(1_000n)])
    const [a, b] = addrs as [AddrPort, AddrPort]
    d.core.recordChallenge(a, false, d.nowMs)
    d.core.recordChallenge(b, true, d.nowMs)
    let top = d.core.closest(77n, 2, d.nowMs)
    expect(top.map((c) => c.nodeId)).toEqual([77n, 1_000n]) // one entry per ID
    expect(top[0]!.addr).toEqual(b)
    d.core.recordChallenge(a, true, d.nowMs)
    d.core.recordChallenge(a, true, d.nowMs)
    d.core.recordChallenge(a, true, d.nowMs)
    d.core.recordChallenge(a, true, d.nowMs)
    top = d.core.closest(77n, 2, d.nowMs)
    expect(top[0]!.addr).toEqual(a)
    // distance still comes first: the far peer stays second however reliable
    for (let i = 0; i < 5; i++) d.core.recordChallenge(addrs[2]!, true, d.nowMs)
    expect(d.core.closest(77n, 2, d.nowMs).map((c) => c.nodeId)).toEqual([77n, 1_000n])
  })

  it("getTargets asks peers with a negative score last", () => {
    const { d, addrs } = activeTable([keyFor(1n), keyFor(2n), keyFor(4n), keyFor(8n)])
    d.core.recordChallenge(addrs[0]!, false, d.nowMs)
    const targets = d.core.getTargets(0n, 3, d.nowMs).map((c) => c.nodeId)
    expect(targets).toEqual([2n, 4n, 8n])
    expect(d.core.closest(0n, 3, d.nowMs).map((c) => c.nodeId)).toEqual([1n, 2n, 4n])
  })

  it("PONG address samples favour reliable peers and never include the requester or inactive peers", () => {
    const keys = Array.from({ length: 10 }, (_, i) => keyFor(BigInt(i + 1)))
    const { d, addrs } = activeTable(keys)
    const good = new Set(addrs.slice(0, 5).map(Address.key))
    addrs.slice(0, 5).forEach((a) => {
      for (let i = 0; i < 4; i++) d.core.recordChallenge(a, true, d.nowMs)
    })
    addrs.slice(5).forEach((a) => {
      d.core.recordChallenge(a, false, d.nowMs)
    })
    const r = rng("sampling")
    let goodHits = 0
    const draws = 4_000
    for (let i = 0; i < draws; i++) {
      const [pick] = d.core.sampleAddrs(1, [], d.nowMs, r)
      if (good.has(Address.key(pick!))) goodHits++
    }
    // weights 4 against 0.5: expected share 0.89
    expect(goodHits / draws).toBeGreaterThan(0.84)
    expect(goodHits / draws).toBeLessThan(0.94)
    d.inbound(distinct(500)) // unverified: never listed
    const requester = addrs[3]!
    const reply = d.core.onPing(requester, ping(), d.nowMs, r)
    expect(reply.replyAllowed).toBe(true)
    expect(reply.addrs.length).toBe(9)
    expect(reply.addrs.some((x) => Address.equals(x, requester))).toBe(false)
    expect(reply.addrs.some((x) => Address.equals(x, distinct(500)))).toBe(false)
  })

  it("a verified peer that is not yet active gets no addresses", () => {
    const d = new Driver(makeCore())
    const a = distinct(1)
    d.setLive(a, keyFor(1n))
    d.inbound(a)
    d.tickOnce()
    expect(d.core.isVerified(a)).toBe(true)
    d.nowMs = 1_000
    expect(d.inbound(a)).toEqual({ replyAllowed: true, addrs: [] })
  })
})

describe("storage challenges and failing peers", () => {
  const spec = (nowMs: number) => ({
    pubKey: keyFor(123n),
    key: new TextEncoder().encode("hello"),
    expiresMs: nowMs + 60_000
  })

  it("records, sends, verifies and times out challenges", () => {
    const { d, addrs } = activeTable([keyFor(1n)], { storageChallengeProbability: 1 })
    const a = addrs[0]!
    const r = rng(5)
    expect(d.core.offerStorageChallenge(a, spec(d.nowMs), d.nowMs, r)).toBe(true)
    expect(d.core.offerStorageChallenge(a, spec(d.nowMs), d.nowMs, r)).toBe(false) // one pending per peer
    const [req] = d.core.pickChallenges(d.nowMs, r)
    expect(req).toMatchObject({ to: a, key: new TextEncoder().encode("hello") })
    expect(d.core.pickChallenges(d.nowMs, r)).toEqual([]) // already in flight
    expect(d.core.onChallengeReply(a, req!.pubKey, new Uint8Array(1), true, d.nowMs + 10)).toBe("unexpected")
    expect(d.core.onChallengeReply(a, req!.pubKey, req!.key, true, d.nowMs + 10)).toBe("passed")
    expect(d.core.get(a, d.nowMs)?.challengesPassed).toBe(1)
    // a second one goes unanswered: the tick after the deadline fails it
    d.core.offerStorageChallenge(a, spec(d.nowMs), d.nowMs, r)
    d.core.pickChallenges(d.nowMs, r)
    d.nowMs += d.core.options.storageChallengeDeadlineMs + 1
    d.tickOnce()
    expect(d.core.get(a, d.nowMs)?.challengesFailed).toBe(1)
    expect(d.core.total("challenges:failed")).toBe(1)
  })

  it("never records a challenge with probability 0, and forgets one whose entry expired", () => {
    const zero = activeTable([keyFor(1n)], { storageChallengeProbability: 0 })
    expect(zero.d.core.offerStorageChallenge(zero.addrs[0]!, spec(0), zero.d.nowMs, rng())).toBe(false)
    const { d, addrs } = activeTable([keyFor(1n)], { storageChallengeProbability: 1 })
    d.core.offerStorageChallenge(addrs[0]!, { ...spec(0), expiresMs: d.nowMs + 100 }, d.nowMs, rng())
    d.nowMs += 200
    d.tickOnce()
    expect(d.core.pickChallenges(d.nowMs, rng())).toEqual([])
    expect(d.core.get(addrs[0]!, d.nowMs)?.challengesFailed).toBe(0)
  })

  it("drops a peer after 3 failures in a row and keeps it out for a while; edges stay", () => {
    const { d, addrs } = activeTable([keyFor(1n), keyFor(2n)])
    const [bad, good] = addrs as [AddrPort, AddrPort]
    d.core.recordChallenge(bad, false, d.nowMs)
    d.core.recordChallenge(bad, true, d.nowMs) // resets the run
    d.core.recordChallenge(bad, false, d.nowMs)
    d.core.recordChallenge(bad, false, d.nowMs)
    expect(d.core.get(bad, d.nowMs)).toBeDefined()
    d.core.recordChallenge(bad, false, d.nowMs)
    expect(d.core.get(bad, d.nowMs)).toBeUndefined()
    expect(d.tickOnce().dropped).toEqual([{ addr: bad, reason: "unreliable" }])
    d.inbound(bad)
    expect(d.core.get(bad, d.nowMs)).toBeUndefined()
    expect(d.core.total("refused:cooldown")).toBe(1)
    expect(d.core.get(good, d.nowMs)).toBeDefined()
    const edge = v4("192.0.2.1", 1)
    d.core.addEdge(edge, d.nowMs)
    for (let i = 0; i < 10; i++) d.core.recordChallenge(edge, false, d.nowMs)
    expect(d.core.get(edge, d.nowMs)?.reliability).toBeLessThan(0)
  })

  it("credits contributions only to verified peers", () => {
    const { d, addrs } = activeTable([keyFor(1n)])
    expect(d.core.recordContribution(addrs[0]!, d.nowMs)).toBe(true)
    expect(d.core.get(addrs[0]!, d.nowMs)?.contributions).toBe(1)
    d.inbound(distinct(9))
    expect(d.core.recordContribution(distinct(9), d.nowMs)).toBe(false)
  })

  it("sums self-reported usage over active peers, clamped", () => {
    const { d, addrs } = activeTable([keyFor(1n), keyFor(2n)])
    d.core.onPing(addrs[0]!, ping(100n, 1_000n), d.nowMs, rng())
    d.core.onPing(addrs[1]!, ping(5_000n, 2_000n), d.nowMs, rng()) // used > capacity
    d.core.onPing(distinct(7), ping(1n << 62n, -5n), d.nowMs, rng()) // not active: not counted
    expect(d.core.networkUsage(d.nowMs)).toEqual({ usedBytes: 2_100n, capacityBytes: 3_000n, peers: 2 })
  })
})
