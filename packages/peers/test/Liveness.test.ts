import { PeerOptions, PeerTableCore } from "@dave/peers"
import { Address, type AddrPort, NodeId } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { challengeTo, Driver, distinct, fakeVerify, keyFor, makeCore, pong, rng, v4 } from "./helpers.ts"

/** Brings an inbound peer to "verified": it PINGs us, we challenge it on the next tick, it answers. */
const verifyInbound = (d: Driver, addr = distinct(1), key = keyFor(1n)) => {
  d.setLive(addr, key)
  d.inbound(addr)
  d.tickOnce()
  expect(d.core.isVerified(addr)).toBe(true)
  return { addr, key }
}

describe("options", () => {
  it("accepts the defaults and refuses bad values with a typed error", () => {
    expect(Result.isSuccess(PeerOptions.make())).toBe(true)
    const bad = PeerOptions.make({ maxPingsPerSecond: 0 })
    expect(Result.isFailure(bad) && bad.failure._tag === "PeerOptionsError" && bad.failure.option).toBe(
      "maxPingsPerSecond"
    )
    const prob = PeerTableCore.PeerTableCore.make({ storageChallengeProbability: 2 })
    expect(Result.isFailure(prob) && prob.failure.option).toBe("storageChallengeProbability")
    const key = PeerOptions.make({ selfPublicKey: new Uint8Array(5) })
    expect(Result.isFailure(key) && key.failure.option).toBe("selfPublicKey")
  })
})

describe("activation, deactivation and drop", () => {
  it("a peer is active only 5 s after it was added, inactive 3 s after its last solve, dropped after 12 s", () => {
    const d = new Driver(makeCore())
    const { addr, key } = verifyInbound(d)
    d.nowMs = 1_000
    d.runUntil(5_000) // ticks at 1 s .. 4 s, each answered at once: last solve at 4 000
    expect(d.core.isActive(addr, 4_999)).toBe(false) // known for less than 5 s
    expect(d.core.isActive(addr, 5_000)).toBe(true)
    expect(d.core.get(addr, 5_000)?.nodeId).toBe(NodeId.fromPublicKey(key))
    d.setLive(addr, undefined) // goes silent; last solve stays at 4 000
    expect(d.core.isActive(addr, 6_999)).toBe(true)
    expect(d.core.isActive(addr, 7_000)).toBe(false)
    d.runUntil(16_000)
    expect(d.core.get(addr, 15_999)).toBeDefined()
    d.tickOnce() // 16 000 = 4 000 + 12 000
    expect(d.core.get(addr, d.nowMs)).toBeUndefined()
    expect(d.dropped).toEqual([{ addr, reason: "silent", atMs: 16_000 }])
  })

  it("windows stretch with the ping interval: active for 3 intervals, dropped after 12", () => {
    // 4 peers sharing 1 PING/s: interval = 4 / (1 × 0.8) s = 5 s
    const d = new Driver(makeCore({ maxPingsPerSecond: 1 }))
    const peers = [1, 2, 3, 4].map((i) => distinct(i))
    peers.forEach((a, i) => {
      d.setLive(a, keyFor(BigInt(i + 1)))
      d.pingers.set(Address.key(a), a)
    })
    d.runUntil(60_000)
    expect(d.core.pingIntervalMs()).toBe(5_000)
    const a = peers[0]!
    const times = d.pingsTo(a).filter((t) => t >= 20_000)
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(5_000)
    d.setLive(a, undefined)
    d.pingers.delete(Address.key(a))
    const lastSolvedMs = d.core.get(a, d.nowMs)!.lastSolvedMs!
    expect(d.core.isActive(a, lastSolvedMs + 14_999)).toBe(true)
    expect(d.core.isActive(a, lastSolvedMs + 15_000)).toBe(false)
    d.runUntil(lastSolvedMs + 70_000)
    const drop = d.dropped.find((x) => Address.equals(x.addr, a))
    expect(drop?.reason).toBe("silent")
    expect(drop!.atMs).toBeGreaterThanOrEqual(lastSolvedMs + 60_000)
    expect(drop!.atMs).toBeLessThan(lastSolvedMs + 61_000)
    for (const b of peers.slice(1)) expect(d.core.isActive(b, d.nowMs)).toBe(true)
  })

  it("the idle interval: 1 s up to 16 peers, then growing with the cube of the table, capped at 60 s", () => {
    const withPeers = (n: number) => {
      const d = new Driver(makeCore({ ...PeerOptions.loopback, amplificationFactor: 1_000_000 }))
      for (let i = 0; i < n; i++) d.inbound(distinct(i))
      return d.core.pingIntervalMs()
    }
    expect(withPeers(1)).toBe(1_000)
    expect(withPeers(16)).toBe(1_000)
    expect(withPeers(24)).toBe(3_375) // (24 / 16)³ s
    expect(withPeers(32)).toBe(8_000)
    expect(withPeers(40)).toBe(15_625)
    expect(withPeers(64)).toBe(60_000) // 64 s, capped
    expect(withPeers(99)).toBe(60_000)
    expect(withPeers(250)).toBe(60_000)
    // The budget still wins when it needs a longer interval: 250 peers at 2 PINGs/s.
    const tight = new Driver(makeCore({ ...PeerOptions.loopback, maxPingsPerSecond: 2 }))
    for (let i = 0; i < 250; i++) tight.inbound(distinct(i))
    expect(tight.core.pingIntervalMs()).toBe(Math.ceil((250 * 1_000) / (2 * 0.8)))
  })

  it("150 idle peers: each pinged once a minute, a silent one inactive after 3 minutes and dropped after 12", () => {
    const d = new Driver(makeCore({ ...PeerOptions.loopback, amplificationFactor: 1_000_000 }))
    const peers = Array.from({ length: 150 }, (_, i) => distinct(i))
    peers.forEach((a, i) => {
      d.setLive(a, keyFor(BigInt(i + 1)))
      d.inbound(a)
    })
    d.runUntil(300_000, 250)
    expect(d.core.activeCount(d.nowMs)).toBe(150)
    // In steady state (after the first rounds), about one PING per peer per minute.
    const steady = d.log.filter((e) => e.atMs >= 120_000 && e.atMs < 300_000)
    expect(steady.length).toBeGreaterThanOrEqual(150 * 2)
    expect(steady.length).toBeLessThanOrEqual(150 * 4)
    for (const times of [d.pingsTo(peers[0]!), d.pingsTo(peers[100]!)]) {
      const late = times.filter((t) => t >= 120_000)
      for (let i = 1; i < late.length; i++) expect(late[i]! - late[i - 1]!).toBeGreaterThanOrEqual(60_000)
    }
    const a = peers[7]!
    d.setLive(a, undefined)
    const lastSolvedMs = d.core.get(a, d.nowMs)!.lastSolvedMs!
    expect(d.core.isActive(a, lastSolvedMs + 179_999)).toBe(true)
    expect(d.core.isActive(a, lastSolvedMs + 180_000)).toBe(false)
    d.runUntil(lastSolvedMs + 800_000, 1_000)
    const drop = d.dropped.find((x) => Address.equals(x.addr, a))
    expect(drop?.reason).toBe("silent")
    expect(drop!.atMs).toBeGreaterThanOrEqual(lastSolvedMs + 720_000)
    expect(drop!.atMs).toBeLessThan(lastSolvedMs + 722_000)
    expect(d.dropped.length).toBe(1)
  })

  it("an introduced address that never answers gets 3 PINGs and is forgotten 2 s after the last", () => {
    const d = new Driver(makeCore())
    const edge = v4("192.0.2.1", 1)
    d.core.addEdge(edge, 0)
    const silent = v4("198.51.100.7", 7)
    const first = d.tickOnce()
    d.core.onPong(edge, pong(challengeTo(first, edge)!, keyFor(9n), [silent]), 0, fakeVerify)
    d.nowMs = 1_000
    d.runUntil(20_000)
    expect(d.pingsTo(silent)).toEqual([1_000, 2_000, 3_000])
    expect(d.dropped.find((x) => Address.equals(x.addr, silent))).toMatchObject({
      reason: "introduced-unanswered",
      atMs: 5_000
    })
  })

  it("edges are pinged every second, go offline and online, and are never dropped", () => {
    const d = new Driver(makeCore())
    const edge = v4("192.0.2.1", 1)
    d.core.addEdge(edge, 0)
    d.setLive(edge, keyFor(5n))
    d.runUntil(2_000)
    expect(d.core.isActive(edge, 2_000)).toBe(true) // no 5 s activation delay for edges
    d.setLive(edge, undefined)
    d.runUntil(120_000)
    expect(d.core.isActive(edge, 120_000)).toBe(false)
    expect(d.core.get(edge, 120_000)?.edge).toBe(true)
    expect(d.pingsTo(edge).length).toBe(120)
    d.setLive(edge, keyFor(5n))
    d.runUntil(121_000)
    expect(d.core.isActive(edge, 121_000)).toBe(true)
    expect(d.dropped).toEqual([])
  })
})

describe("PONG rules", () => {
  const setup = () => {
    const d = new Driver(makeCore())
    const addr = distinct(1)
    const key = keyFor(1n)
    d.inbound(addr)
    const c1 = challengeTo(d.tickOnce(), addr)!
    return { d, addr, key, c1 }
  }

  it("accepts an answer to the previous challenge; a replay is rejected", () => {
    const { d, addr, key, c1 } = setup()
    d.nowMs = 1_000
    const c2 = challengeTo(d.tickOnce(), addr)! // c1 is now the previous challenge
    expect(c2).not.toEqual(c1)
    const late = pong(c1, key)
    expect(d.core.onPong(addr, late, 1_500, fakeVerify)._tag).toBe("Accepted")
    expect(d.core.onPong(addr, late, 1_600, fakeVerify)).toEqual({ _tag: "Rejected", reason: "challenge-mismatch" })
    // the late answer did not consume the current challenge (reference defect 16)
    expect(d.core.onPong(addr, pong(c2, key), 1_700, fakeVerify)._tag).toBe("Accepted")
    expect(d.core.onPong(addr, pong(c2, key), 1_800, fakeVerify)).toEqual({ _tag: "Rejected", reason: "no-challenge" })
  })

  it("a challenge two PINGs old is no longer accepted", () => {
    const { d, addr, key, c1 } = setup()
    d.nowMs = 1_000
    d.tickOnce()
    d.nowMs = 2_000
    d.tickOnce()
    expect(d.core.onPong(addr, pong(c1, key), 2_100, fakeVerify)).toEqual({
      _tag: "Rejected",
      reason: "challenge-mismatch"
    })
  })

  it("a PONG echoing an unknown challenge consumes nothing", () => {
    const { d, addr, key, c1 } = setup()
    const wrong = new Uint8Array(32).fill(0xee)
    expect(d.core.onPong(addr, pong(wrong, key), 10, fakeVerify)).toMatchObject({ reason: "challenge-mismatch" })
    expect(d.core.onPong(addr, pong(c1, key), 20, fakeVerify)._tag).toBe("Accepted")
  })

  it("pins the key: a different key for the same address is rejected and burns the challenge", () => {
    const { d, addr, key, c1 } = setup()
    expect(d.core.onPong(addr, pong(c1, key), 10, fakeVerify)).toMatchObject({ _tag: "Accepted", firstSolve: true })
    d.nowMs = 1_000
    const c2 = challengeTo(d.tickOnce(), addr)!
    expect(d.core.onPong(addr, pong(c2, keyFor(2n)), 1_010, fakeVerify)).toEqual({
      _tag: "Rejected",
      reason: "key-mismatch"
    })
    expect(d.core.onPong(addr, pong(c2, key), 1_020, fakeVerify)._tag).toBe("Rejected")
    expect(d.core.get(addr, 1_020)?.publicKey).toEqual(key)
  })

  it("a bad signature is rejected, burns the challenge and pins nothing", () => {
    const { d, addr, key, c1 } = setup()
    const forged = { ...pong(c1, key), sig: new Uint8Array(64) }
    expect(d.core.onPong(addr, forged, 10, fakeVerify)).toEqual({ _tag: "Rejected", reason: "bad-signature" })
    expect(d.core.onPong(addr, pong(c1, key), 20, fakeVerify)).toMatchObject({ _tag: "Rejected" })
    expect(d.core.isVerified(addr)).toBe(false)
  })

  it("rejects a PONG listing more than 12 addresses, or our own address, or from an unknown sender", () => {
    const { d, addr, key, c1 } = setup()
    const thirteen = Array.from({ length: 13 }, (_, i) => distinct(100 + i))
    expect(d.core.onPong(addr, pong(c1, key, thirteen), 10, fakeVerify)).toMatchObject({ reason: "too-many-addrs" })
    expect(d.core.get(distinct(100), 10)).toBeUndefined()
    expect(d.core.onPong(distinct(77), pong(c1, key), 10, fakeVerify)).toMatchObject({ reason: "unknown-peer" })
  })

  it("rejects a PONG that lists our own address once an edge told us what it is", () => {
    const d = new Driver(makeCore())
    const edge = v4("192.0.2.1", 1)
    const own = v4("203.0.113.5", 9000)
    d.core.addEdge(edge, 0)
    d.setLive(edge, keyFor(5n))
    d.tickOnce()
    expect(d.core.edgeForAddrQuery(0)).toEqual(edge)
    expect(d.core.setOwnAddress(edge, own, 10)).toBe(true)
    const addr = distinct(1)
    d.inbound(addr)
    d.nowMs = 1_000
    const c = challengeTo(d.tickOnce(), addr)!
    expect(d.core.onPong(addr, pong(c, keyFor(1n), [distinct(2), own]), 1_010, fakeVerify)).toEqual({
      _tag: "Rejected",
      reason: "lists-own-address"
    })
    expect(d.core.get(distinct(2), 1_010)).toBeUndefined()
  })

  it("a PONG signed with our own key is us: refused, and its address is treated as ours", () => {
    const self = keyFor(42n)
    const d = new Driver(makeCore({ selfPublicKey: self }))
    const alias = distinct(1)
    d.inbound(alias)
    const c = challengeTo(d.tickOnce(), alias)!
    expect(d.core.onPong(alias, pong(c, self), 10, fakeVerify)).toEqual({ _tag: "Rejected", reason: "self" })
    expect(d.core.get(alias, 10)).toBeUndefined()
    expect(d.core.isOwnAddress(alias)).toBe(true)
    expect(d.core.admit(alias, 49, 20)).toEqual({ admitted: false, reason: "own-address" })
  })
})

describe("introduced addresses", () => {
  const introducer = () => {
    const d = new Driver(makeCore())
    const edge = v4("192.0.2.1", 1)
    d.core.addEdge(edge, 0)
    const c = challengeTo(d.tickOnce(), edge)!
    return { d, edge, c }
  }

  it("get at most 3 PINGs, are forgotten unless they answer, and are not re-introduced soon after", () => {
    const { d, edge, c } = introducer()
    const silent = [distinct(1), distinct(2), distinct(3)]
    const alive = distinct(4)
    d.setLive(alive, keyFor(4n))
    const outcome = d.core.onPong(edge, pong(c, keyFor(5n), [...silent, alive]), 10, fakeVerify)
    expect(outcome).toMatchObject({ _tag: "Accepted", introduced: [...silent, alive] })
    d.setLive(edge, keyFor(5n))
    d.nowMs = 1_000
    d.runUntil(30_000)
    for (const a of silent) {
      expect(d.pingsTo(a).length).toBe(3)
      expect(d.core.get(a, d.nowMs)).toBeUndefined()
    }
    expect(d.core.get(alive, d.nowMs)?.verified).toBe(true)
    expect(d.core.total("dropped:introduced-unanswered")).toBe(3)
    // the edge lists them again: ignored during the cooldown
    d.setLive(edge, undefined)
    const c2 = challengeTo(d.tickOnce(), edge)!
    const again = d.core.onPong(edge, pong(c2, keyFor(5n), silent), d.nowMs, fakeVerify)
    expect(again).toMatchObject({ _tag: "Accepted", introduced: [] })
    expect(d.core.total("refused:cooldown")).toBe(3)
  })

  it("at most maxIntroduced unanswered candidates at once", () => {
    const d = new Driver(makeCore({ maxIntroduced: 5 }))
    const edge = v4("192.0.2.1", 1)
    d.core.addEdge(edge, 0)
    const c = challengeTo(d.tickOnce(), edge)!
    const listed = Array.from({ length: 12 }, (_, i) => distinct(10 + i))
    const outcome = d.core.onPong(edge, pong(c, keyFor(5n), listed), 10, fakeVerify)
    expect(outcome).toMatchObject({ _tag: "Accepted" })
    expect(outcome._tag === "Accepted" && outcome.introduced.length).toBe(5)
    expect(d.core.total("refused:introduced-cap")).toBe(7)
  })
})

describe("own address", () => {
  it("is accepted only from the edge we asked, within the timeout", () => {
    const d = new Driver(makeCore())
    const edge = v4("192.0.2.1", 1)
    const other = distinct(3)
    const own = v4("203.0.113.5", 9000)
    d.core.addEdge(edge, 0)
    expect(d.core.edgeForAddrQuery(0)).toBeUndefined() // no edge solved yet
    d.setLive(edge, keyFor(5n))
    d.tickOnce()
    expect(d.core.setOwnAddress(edge, own, 10)).toBe(false) // not asked
    expect(d.core.edgeForAddrQuery(100)).toEqual(edge)
    expect(d.core.setOwnAddress(other, own, 110)).toBe(false) // not an edge
    expect(d.core.setOwnAddress(edge, own, 100 + 5_001)).toBe(false) // too late
    expect(d.core.edgeForAddrQuery(200)).toEqual(edge)
    expect(d.core.setOwnAddress(edge, own, 210)).toBe(true)
    expect(d.core.isOwnAddress(own)).toBe(true)
    expect(d.core.admit(own, 49, 220)).toEqual({ admitted: false, reason: "own-address" })
    expect(
      d.core.onPing(own, { _tag: "Ping", challenge: new Uint8Array(32), used: 0n, capacity: 0n }, 230, rng())
    ).toEqual({ replyAllowed: false, addrs: [] })
    expect(d.core.get(own, 230)).toBeUndefined()
    expect(d.core.addEdge(own, 240)).toEqual({ added: false, reason: "own-address" })
  })

  it("an edge that turns out to be our own address is neither pinged nor selected", () => {
    const d = new Driver(makeCore())
    const edge = v4("192.0.2.1", 1)
    const mirror = v4("192.0.2.2", 2)
    d.core.addEdge(edge, 0)
    d.core.addEdge(mirror, 0)
    d.setLive(edge, keyFor(5n))
    d.setLive(mirror, keyFor(6n))
    d.tickOnce()
    expect(d.core.closest(0n, 5, 0).length).toBe(2)
    d.core.edgeForAddrQuery(0)
    expect(d.core.setOwnAddress(edge, mirror, 10)).toBe(true)
    expect(d.core.isActive(mirror, 10)).toBe(false)
    expect(d.core.closest(0n, 5, 10).map((c) => c.addr)).toEqual([edge])
    d.nowMs = 1_000
    expect(d.tickOnce().pings.map((p) => p.to)).toEqual([edge])
  })
})

describe("PONG address lists", () => {
  it("list verified peers before their activation delay, and go to verified requesters at once", () => {
    const d = new Driver(makeCore())
    const a = verifyInbound(d, distinct(1), keyFor(1n))
    const b = verifyInbound(d, distinct(2), keyFor(2n))
    // Both answered a challenge a moment ago: neither is active yet (known < 5 s).
    expect(d.core.isActive(a.addr, d.nowMs)).toBe(false)
    const reply = d.inbound(a.addr)
    expect(reply?.replyAllowed).toBe(true)
    expect(reply?.addrs.map(Address.key)).toEqual([Address.key(b.addr)])
    // A requester that never answered gets a bare PONG at most, never addresses.
    const stranger = distinct(3)
    const first = d.inbound(stranger)
    const second = d.inbound(stranger)
    expect([...(first?.addrs ?? []), ...(second?.addrs ?? [])]).toEqual([])
  })

  it("stop listing a peer once it went silent past its active window", () => {
    const d = new Driver(makeCore())
    const a = verifyInbound(d, distinct(1), keyFor(1n))
    const b = verifyInbound(d, distinct(2), keyFor(2n))
    d.setLive(b.addr, undefined)
    d.nowMs += 3_000
    d.setLive(a.addr, a.key)
    d.tickOnce()
    expect(d.inbound(a.addr)?.addrs.map(Address.key)).not.toContain(Address.key(b.addr))
  })
})

describe("light clients", () => {
  it("a peer whose PING reports capacity 0 is neither a replica candidate nor listed, until it reports some", () => {
    const d = new Driver(makeCore({ activateAfterMs: 0 }))
    const full = verifyInbound(d, distinct(1), keyFor(1n))
    const light = verifyInbound(d, distinct(2), keyFor(2n))
    const pingWith = (from: AddrPort, capacity: bigint) => {
      d.core.admit(from, 49, d.nowMs)
      return d.core.onPing(from, { _tag: "Ping", challenge: new Uint8Array(32), used: 0n, capacity }, d.nowMs, d.rng)
    }
    pingWith(full.addr, 1n << 30n)
    pingWith(light.addr, 0n)
    const ids = () => d.core.closest(0n, 5, d.nowMs).map((c) => c.nodeId)
    expect(d.core.isActive(light.addr, d.nowMs)).toBe(true)
    expect(ids()).toEqual([NodeId.fromPublicKey(full.key)])
    expect(pingWith(full.addr, 1n << 30n).addrs).toEqual([])
    pingWith(light.addr, 1n << 20n)
    expect(ids()).toContain(NodeId.fromPublicKey(light.key))
    expect(pingWith(full.addr, 1n << 30n).addrs.map(Address.key)).toEqual([Address.key(light.addr)])
  })
})
