import { AmplificationBudget, PeerOptions, RateLimiter } from "@dave/peers"
import { Address, type AddrPort, Constants } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { challengeTo, Driver, distinct, fakeVerify, keyFor, makeCore, pong, v4 } from "./helpers.ts"

const byKey = (log: ReadonlyArray<{ readonly atMs: number; readonly to: AddrPort }>) => {
  const m = new Map<string, Array<number>>()
  for (const e of log) {
    const k = Address.key(e.to)
    const list = m.get(k) ?? []
    list.push(e.atMs)
    m.set(k, list)
  }
  return m
}

/** Largest number of entries of a sorted list of times inside any window (t − windowMs, t]. */
const maxInWindow = (times: ReadonlyArray<number>, windowMs: number): number => {
  let max = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[j]! <= times[i]! - windowMs) j++
    max = Math.max(max, i - j + 1)
  }
  return max
}

describe("caps per IP and per prefix", () => {
  it("an attacker with one IP and 1,000 ports holds at most its cap; honest peers stay", () => {
    const d = new Driver(makeCore({ maxPeersPerIp: 4, maxPeers: 64 }))
    const honest = Array.from({ length: 10 }, (_, i) => distinct(i))
    honest.forEach((a, i) => {
      d.setLive(a, keyFor(BigInt(i + 1)))
      d.pingers.set(Address.key(a), a)
    })
    d.runUntil(10_000)
    for (let port = 1; port <= 1_000; port++) d.inbound(v4("66.66.66.66", port))
    d.runUntil(20_000)
    const table = d.core.snapshot(d.nowMs)
    expect(table.filter((p) => Address.ipToString(p.addr.ip) === "66.66.66.66").length).toBe(4)
    for (const a of honest) expect(d.core.isActive(a, d.nowMs)).toBe(true)
    // the rate limiter turned away what came beyond its burst; the cap refused the rest
    expect(d.core.total("rate_limited:ip")).toBeGreaterThan(0)
    expect(d.core.total("refused:ip-cap") + d.core.total("rate_limited:ip")).toBe(996)
  })

  it("caps peers per IPv4 /24 and per IPv6 /48", () => {
    const core = makeCore({ maxPeersPerPrefix: 8, maxPeers: 1_000 })
    const d = new Driver(core)
    for (let i = 1; i < 250; i++) d.inbound(v4(`5.6.7.${i}`, 4000))
    for (let i = 1; i < 250; i++) d.inbound(v4(`2001:db8:1:${i.toString(16)}::1`, 4000))
    d.inbound(v4("5.6.8.1", 4000)) // another /24
    d.inbound(v4("2001:db8:2::1", 4000)) // another /48
    const ips = core.snapshot(0).map((p) => Address.ipToString(p.addr.ip))
    expect(ips.filter((ip) => ip.startsWith("5.6.7.")).length).toBe(8)
    expect(ips.filter((ip) => ip.startsWith("2001:db8:1:")).length).toBe(8)
    expect(ips).toContain("5.6.8.1")
    expect(ips).toContain("2001:db8:2::1")
  })

  it("the loopback preset lets many nodes share one address", () => {
    const d = new Driver(makeCore({ ...PeerOptions.loopback }))
    for (let port = 40_000; port < 40_100; port++) d.inbound(v4("::1", port))
    expect(d.core.size).toBe(100)
  })
})

describe("maxPeers", () => {
  it("inactive and unverified entries are evicted first; an introduced candidate never displaces anyone", () => {
    const d = new Driver(makeCore({ maxPeers: 10 }))
    const good = Array.from({ length: 6 }, (_, i) => distinct(i))
    good.forEach((a, i) => {
      d.setLive(a, keyFor(BigInt(i + 1)))
      d.pingers.set(Address.key(a), a)
    })
    d.runUntil(8_000)
    for (const a of good) expect(d.core.isActive(a, d.nowMs)).toBe(true)
    for (let i = 100; i < 200; i++) d.inbound(distinct(i)) // 4 fit, 96 displace each other
    expect(d.core.size).toBe(10)
    for (const a of good) expect(d.core.get(a, d.nowMs)).toBeDefined()
    expect(d.core.total("dropped:evicted")).toBe(96)
    // an introduced candidate never displaces anyone
    const edge = v4("192.0.2.1", 1)
    d.core.addEdge(edge, d.nowMs)
    const c = challengeTo(d.tickOnce(), edge)!
    const outcome = d.core.onPong(edge, pong(c, keyFor(99n), [distinct(500)]), d.nowMs, fakeVerify)
    expect(outcome).toMatchObject({ _tag: "Accepted", introduced: [] })
    expect(d.core.total("refused:full")).toBe(1)
  })

  it("a table full of active peers takes one inbound newcomer per activeEvictionIntervalMs, giving up its youngest", () => {
    const full = new Driver(makeCore({ maxPeers: 3, activeEvictionIntervalMs: 30_000 }))
    for (let i = 0; i < 3; i++) {
      full.nowMs = i * 100 // distinct(2) is the youngest
      full.setLive(distinct(i), keyFor(BigInt(i + 1)))
      full.pingers.set(Address.key(distinct(i)), distinct(i))
      full.inbound(distinct(i))
    }
    full.runUntil(8_000)
    for (let i = 0; i < 3; i++) expect(full.core.isActive(distinct(i), full.nowMs)).toBe(true)

    full.inbound(distinct(50))
    expect(full.core.get(distinct(50), full.nowMs)).toBeDefined()
    expect(full.core.get(distinct(2), full.nowMs)).toBeUndefined()
    expect(full.core.get(distinct(0), full.nowMs)).toBeDefined()
    expect(full.core.get(distinct(1), full.nowMs)).toBeDefined()
    expect(full.core.total("dropped:evicted")).toBe(1)
    // Still pinging, the displaced peer is held off for the interval.
    full.inbound(distinct(2))
    expect(full.core.get(distinct(2), full.nowMs)).toBeUndefined()
    expect(full.core.total("refused:cooldown")).toBe(1)

    // The next newcomer within the interval finds only active peers, and is refused.
    full.setLive(distinct(50), keyFor(50n))
    full.pingers.set(Address.key(distinct(50)), distinct(50))
    full.runUntil(20_000)
    expect(full.core.isActive(distinct(50), full.nowMs)).toBe(true)
    full.inbound(distinct(51))
    expect(full.core.get(distinct(51), full.nowMs)).toBeUndefined()
    expect(full.core.total("refused:full")).toBe(1)

    // Once the interval has passed (the first displacement was at 8 s), one more gets in and the
    // youngest active peer, the first newcomer, makes room; the oldest peers are still kept.
    full.runUntil(38_000)
    full.inbound(distinct(52))
    expect(full.core.get(distinct(52), full.nowMs)).toBeDefined()
    expect(full.core.get(distinct(0), full.nowMs)).toBeDefined()
    expect(full.core.get(distinct(1), full.nowMs)).toBeDefined()
    expect(full.core.get(distinct(50), full.nowMs)).toBeUndefined()
    expect(full.core.total("dropped:evicted")).toBe(2)
  })

  it("with activeEvictionIntervalMs 0 a table full of active peers refuses every newcomer", () => {
    const full = new Driver(makeCore({ maxPeers: 3, activeEvictionIntervalMs: 0 }))
    for (let i = 0; i < 3; i++) {
      full.setLive(distinct(i), keyFor(BigInt(i + 1)))
      full.pingers.set(Address.key(distinct(i)), distinct(i))
    }
    full.runUntil(8_000)
    full.inbound(distinct(50))
    expect(full.core.get(distinct(50), full.nowMs)).toBeUndefined()
    expect(full.core.total("refused:full")).toBe(1)
  })
})

describe("amplification (13.9)", () => {
  it("toward a spoofed source we send at most 3 bytes per byte it sent, over any window", () => {
    const d = new Driver(makeCore())
    const victim = v4("198.51.100.1", 53)
    const received: Array<[number, number]> = []
    const sent: Array<[number, number]> = []
    for (let t = 0; t < 60_000; t += 500) {
      d.nowMs = t
      if (t % 1_000 === 0) {
        received.push([t, Constants.PING_LEN])
        const reply = d.inbound(victim)
        if (reply?.replyAllowed === true) sent.push([t, Constants.PONG_MIN_LEN + 18 * reply.addrs.length])
      }
      for (const p of d.tickOnce().pings) if (Address.equals(p.to, victim)) sent.push([t, Constants.PING_LEN])
    }
    const windowMs = d.core.options.amplificationWindowMs
    const sum = (xs: ReadonlyArray<[number, number]>, a: number, b: number) =>
      xs.filter(([t]) => t >= a && t <= b).reduce((s, [, n]) => s + n, 0)
    for (let a = 0; a < 60_000; a += 500)
      for (let b = a; b < 60_000; b += 500)
        expect(sum(sent, a, b)).toBeLessThanOrEqual(3 * sum(received, a - windowMs, b))
    // it still got challenges and some bare PONGs
    expect(sent.some(([, n]) => n === Constants.PING_LEN)).toBe(true)
    expect(sent.some(([, n]) => n === Constants.PONG_MIN_LEN)).toBe(true)
    expect(d.core.total("amplification_denied:pong")).toBeGreaterThan(0)
  })

  it("the first PING from a newcomer keeps room for our challenge; once verified, replies are free", () => {
    const d = new Driver(makeCore())
    const a = distinct(1)
    d.setLive(a, keyFor(1n))
    expect(d.inbound(a)).toEqual({ replyAllowed: false, addrs: [] })
    d.tickOnce()
    expect(d.core.isVerified(a)).toBe(true)
    d.nowMs = 100
    expect(d.inbound(a)?.replyAllowed).toBe(true)
    expect(d.core.trySpendReply(a, 1_424, 100)).toBe(true)
    // an unverified address gets no GET_ACK beyond 3× what it sent
    const stranger = distinct(2)
    d.core.admit(stranger, 39, 100)
    expect(d.core.trySpendReply(stranger, 207, 100)).toBe(false)
    expect(d.core.trySpendReply(stranger, 117, 100)).toBe(true)
    expect(d.core.trySpendReply(stranger, 1, 100)).toBe(false)
  })

  it("AmplificationBudget: every successful spend is covered by recent receipts (property)", () => {
    const event = fc.record({
      dtMs: fc.integer({ min: 0, max: 3_000 }),
      kind: fc.constantFrom("recv", "spend"),
      bytes: fc.integer({ min: 1, max: 1_500 })
    })
    fc.assert(
      fc.property(fc.array(event, { maxLength: 120 }), (events) => {
        const windowMs = 5_000
        const budget = new AmplificationBudget.AmplificationBudget({
          factor: 3,
          windowMs,
          bucketMs: 1_000,
          maxTracked: 4
        })
        const who = v4("192.0.2.9", 9)
        const recv: Array<[number, number]> = []
        const sent: Array<[number, number]> = []
        let t = 0
        for (const e of events) {
          t += e.dtMs
          if (e.kind === "recv") {
            budget.noteReceived(who, e.bytes, t)
            recv.push([t, e.bytes])
          } else if (budget.trySpend(who, e.bytes, t)) sent.push([t, e.bytes])
        }
        const sum = (xs: ReadonlyArray<[number, number]>, a: number, b: number) =>
          xs.filter(([x]) => x >= a && x <= b).reduce((s, [, n]) => s + n, 0)
        for (const [a] of sent)
          for (const [b] of sent)
            if (b >= a) expect(sum(sent, a, b)).toBeLessThanOrEqual(3 * sum(recv, a - windowMs, b))
      })
    )
  })

  it("AmplificationBudget tracks a bounded number of addresses", () => {
    const budget = new AmplificationBudget.AmplificationBudget({
      factor: 3,
      windowMs: 5_000,
      bucketMs: 1_000,
      maxTracked: 16
    })
    for (let i = 0; i < 1_000; i++) budget.noteReceived(distinct(i), 49, i)
    expect(budget.trackedCount).toBe(16)
    expect(budget.available(distinct(999), 1_000)).toBe(147)
    expect(budget.available(distinct(0), 1_000)).toBe(0)
  })
})

describe("rate limiter", () => {
  const options = { perIpPerSecond: 10, perIpBurst: 20, perPrefixPerSecond: 20, perPrefixBurst: 30, maxTracked: 8 }

  it("limits each source IP to its burst, refilling over time", () => {
    const rl = new RateLimiter.RateLimiter(options)
    const a = v4("192.0.2.1", 1)
    const decisions = Array.from({ length: 25 }, () => rl.take(a, 0))
    expect(decisions.filter((x) => x === "ok").length).toBe(20)
    expect(decisions.at(-1)).toBe("ip")
    expect(rl.take(v4("192.0.2.1", 2), 0)).toBe("ip") // another port, same IP
    const later = Array.from({ length: 10 }, () => rl.take(a, 500))
    expect(later.filter((x) => x === "ok").length).toBe(5)
  })

  it("limits a prefix across its IPs, and tracks a bounded number of sources", () => {
    const rl = new RateLimiter.RateLimiter(options)
    const decisions = Array.from({ length: 40 }, (_, i) => rl.take(v4(`192.0.2.${i + 1}`, 1), 0))
    expect(decisions.filter((x) => x === "ok").length).toBe(30)
    expect(decisions.at(-1)).toBe("prefix")
    expect(rl.trackedCount).toBeLessThanOrEqual(16)
  })

  it("admit refuses rate-limited datagrams and counts them", () => {
    const core = makeCore({ perIpPerSecond: 1, perIpBurst: 2 })
    const a = v4("192.0.2.1", 1)
    expect(core.admit(a, 49, 0).admitted).toBe(true)
    expect(core.admit(a, 49, 0).admitted).toBe(true)
    expect(core.admit(a, 49, 0)).toEqual({ admitted: false, reason: "rate-limited-ip" })
    expect(core.total("rate_limited:ip")).toBe(1)
    expect(core.admit(a, 49, 1_000).admitted).toBe(true)
  })
})

describe("ping budget", () => {
  it("1,000 peers with 32 PINGs/s: each pinged once per stretched interval, never more than 32 in a second", () => {
    const d = new Driver(
      makeCore({
        ...PeerOptions.loopback,
        maxPeers: 2_000,
        maxPingsPerSecond: 32,
        // this test is about the budget's spread: no idle stretching on top of it
        fullRatePeers: 2_000,
        // this test is about the ping schedule: let one PING pay for our challenges to its sender
        amplificationFactor: 1_000_000,
        amplificationWindowMs: 1_000_000_000
      })
    )
    const peers = Array.from({ length: 1_000 }, (_, i) => distinct(i))
    peers.forEach((a, i) => {
      d.setLive(a, keyFor(BigInt(i + 1)))
      d.inbound(a)
    })
    const tickMs = 250
    const intervalMs = d.core.pingIntervalMs()
    expect(intervalMs).toBe(Math.ceil((1_000 * 1_000) / (32 * 0.8)))
    for (let t = 0; t < 240_000; t += 5_000) {
      d.runUntil(t + 5_000, tickMs)
      if (t >= 40_000) expect(d.core.activeCount(d.nowMs)).toBe(1_000)
    }
    expect(
      maxInWindow(
        d.log.map((e) => e.atMs),
        1_000
      )
    ).toBeLessThanOrEqual(32)
    const perPeer = byKey(d.log)
    expect(perPeer.size).toBe(1_000)
    for (const times of perPeer.values()) {
      expect(times[0]!).toBeLessThan(32_000) // the first round reaches everyone
      for (let i = 1; i < times.length; i++) {
        const gapMs = times[i]! - times[i - 1]!
        expect(gapMs).toBeGreaterThanOrEqual(intervalMs)
        expect(gapMs).toBeLessThanOrEqual(intervalMs + tickMs)
      }
    }
    expect(d.dropped).toEqual([])
  })

  it("no 1 s window holds more non-edge PINGs than the budget (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 50, max: 1_500 }),
        fc.integer({ min: 0, max: 3 }),
        (n, budget, tickMs, edges) => {
          const d = new Driver(
            makeCore({ ...PeerOptions.loopback, maxPeers: 500, maxPingsPerSecond: budget, maxIntroduced: 500 })
          )
          const edgeAddrs = Array.from({ length: edges }, (_, i) => v4(`192.0.2.${i + 1}`, 1))
          for (const e of edgeAddrs) {
            d.core.addEdge(e, 0)
            d.setLive(e, keyFor(7_000n + BigInt(edges)))
          }
          for (let i = 0; i < n; i++) {
            const a = distinct(i)
            if (i % 2 === 0) d.setLive(a, keyFor(BigInt(i + 1)))
            d.pingers.set(Address.key(a), a)
          }
          d.runUntil(30_000, tickMs)
          const edgeKeys = new Set(edgeAddrs.map(Address.key))
          const nonEdge = d.log.filter((e) => !edgeKeys.has(Address.key(e.to))).map((e) => e.atMs)
          expect(maxInWindow(nonEdge, 1_000)).toBeLessThanOrEqual(budget)
          const edgePeriodMs = Math.ceil(1_000 / tickMs) * tickMs
          for (const e of edgeAddrs)
            expect(d.pingsTo(e).length).toBeGreaterThanOrEqual(Math.floor(29_000 / edgePeriodMs))
        }
      ),
      { numRuns: 20 }
    )
  })
})
