import { Deadlines, HeldGets, PendingReads, Reads, VerifiedDats } from "@dave/network"
import { type AddrPort, Dat, type Entry, type Message } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Scope } from "effect"

const addr = (port: number): AddrPort => ({ ip: Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? 1 : 0)), port })
const pubKey = new Uint8Array(32).fill(7)
const key = new TextEncoder().encode("k")
const datOf = (time: bigint, value = "v"): Message.Dat => ({
  time,
  salt: new Uint8Array(16).fill(2),
  work: new Uint8Array(32).fill(3),
  sig: new Uint8Array(64).fill(Number(time)),
  pubKey,
  key,
  value: new TextEncoder().encode(value)
})
const entry = (time: bigint, value = "v"): Entry => ({ replicas: [0n, 0n, 0n, 0n, 0n], dat: datOf(time, value) })

describe("HeldGets", () => {
  it("holds a GET only while a PUT of its slot is queued, and releases it when those PUTs are done", () => {
    const held = new HeldGets.HeldGets<string>({ maxHeld: 10, maxPerSlot: 10 })
    expect(held.hold("a", "get-1")).toBe(false) // nothing queued: answer now
    const first = held.putQueued("a")
    const second = held.putQueued("a")
    expect(held.anyQueued).toBe(true)
    expect(held.hold("b", "other")).toBe(false)
    expect(held.hold("a", "get-2")).toBe(true)
    expect(held.hold("a", "get-3")).toBe(true)
    expect(held.size).toBe(2)
    expect(held.putDone("a", first)).toEqual([]) // the second PUT, queued before them, is not done
    expect(held.putDone("a", second)).toEqual(["get-2", "get-3"])
    expect(held.size).toBe(0)
    expect(held.anyQueued).toBe(false)
    expect(held.putDone("a", second)).toEqual([])
  })

  it("PUTs queued after a GET do not hold it longer: a stream of PUTs cannot starve a reader", () => {
    const held = new HeldGets.HeldGets<string>({ maxHeld: 10, maxPerSlot: 10 })
    let last = held.putQueued("a")
    expect(held.hold("a", "reader")).toBe(true)
    const seqs = Array.from({ length: 5 }, () => held.putQueued("a"))
    // The PUT that was queued when the reader came is done: the reader goes, the stream goes on.
    expect(held.putDone("a", last)).toEqual(["reader"])
    expect(held.anyQueued).toBe(true)
    for (const seq of seqs) {
      last = held.putQueued("a")
      expect(held.putDone("a", seq)).toEqual([])
    }
    expect(held.size).toBe(0)
  })

  it("is bounded in all and per slot: beyond either, a GET is answered at once", () => {
    const held = new HeldGets.HeldGets<number>({ maxHeld: 3, maxPerSlot: 2 })
    const a = held.putQueued("a")
    const b = held.putQueued("b")
    expect([1, 2, 3].map((g) => held.hold("a", g))).toEqual([true, true, false])
    expect([4, 5].map((g) => held.hold("b", g))).toEqual([true, false])
    expect(held.size).toBe(3)
    expect(held.putDone("b", b)).toEqual([4])
    expect(held.putDone("a", a)).toEqual([1, 2])
  })
})

describe("VerifiedDats", () => {
  it("knows exactly the dats added (every field), keeps its own copy, and is bounded", () => {
    const cache = new VerifiedDats.VerifiedDats(2)
    const a = datOf(1n)
    expect(cache.has(a)).toBe(false)
    cache.add(a)
    expect(cache.has(datOf(1n))).toBe(true) // equal bytes, other arrays
    // The same signature over another value, time or work is not the dat that was verified.
    expect(cache.has(datOf(1n, "forged"))).toBe(false)
    expect(cache.has({ ...datOf(1n), time: 2n })).toBe(false)
    expect(cache.has({ ...datOf(1n), work: new Uint8Array(32).fill(4) })).toBe(false)
    // A decoded dat is a view of a datagram buffer that gets reused: the cache must not follow it.
    a.value[0] = 0
    expect(cache.has(datOf(1n))).toBe(true)
    cache.add(datOf(2n))
    cache.add(datOf(3n))
    expect(cache.size).toBe(2)
    expect(cache.has(datOf(1n))).toBe(false) // the oldest made room
    expect(cache.has(datOf(3n))).toBe(true)
  })
})

describe("Reads.run with a quorum", () => {
  it.live("ends once a majority gave the newest version, then repairs a late stale replica", () =>
    Effect.gen(function* () {
      const pending = new PendingReads.PendingReads(8)
      const targets = [1, 2, 3, 4, 5].map(addr)
      const repaired: Array<{ stale: ReadonlyArray<number>; time: bigint }> = []
      const scope = yield* Scope.make()
      const late: Reads.Late = {
        scope,
        repair: (stale, newest) =>
          Effect.sync(() => repaired.push({ stale: stale.map((a) => a.port), time: newest.dat.time }))
      }
      const sendGets = Effect.sync(() => {
        pending.deliver({ from: addr(1), entry: entry(5n), valid: true })
        pending.deliver({ from: addr(2), entry: entry(4n), valid: true }) // older
        pending.deliver({ from: addr(3), entry: entry(5n), valid: true })
        pending.deliver({ from: addr(4), entry: entry(5n), valid: true }) // the third of time 5
      })
      const plan = { pubKey, key, targets, local: Option.none(), timeoutMs: 2_000, graceMs: 200, quorum: 3 }
      const started = Date.now()
      const result = yield* Reads.run(pending, yield* Deadlines.make(), plan, sendGets, late)
      expect(Date.now() - started).toBeLessThan(150) // no grace waited
      expect(result.early).toBe(true)
      expect(Option.isSome(result.newest) && result.newest.value.dat.time).toBe(5n)
      expect(result.answered).toBe(4)
      expect(result.stale.map((a) => a.port)).toEqual([2])
      // Replica 5 answers after the read ended: it is still heard, and repaired.
      expect(pending.size).toBe(1)
      pending.deliver({ from: addr(5), entry: Dat.notFound(pubKey, key), valid: false })
      yield* Effect.sleep(20)
      expect(repaired).toEqual([{ stale: [5], time: 5n }])
      expect(pending.size).toBe(0)
      yield* Scope.close(scope, Exit.void)
    })
  )

  it.live("a late answer newer than the one returned gets every other replica repaired", () =>
    Effect.gen(function* () {
      const pending = new PendingReads.PendingReads(8)
      const targets = [1, 2, 3, 4, 5].map(addr)
      const repaired: Array<{ stale: ReadonlyArray<number>; time: bigint }> = []
      const scope = yield* Scope.make()
      const late: Reads.Late = {
        scope,
        repair: (stale, newest) =>
          Effect.sync(() => repaired.push({ stale: stale.map((a) => a.port), time: newest.dat.time }))
      }
      const sendGets = Effect.sync(() => {
        for (const replica of [1, 2, 3]) pending.deliver({ from: addr(replica), entry: entry(5n), valid: true })
      })
      const plan = { pubKey, key, targets, local: Option.none(), timeoutMs: 2_000, graceMs: 200, quorum: 3 }
      const result = yield* Reads.run(pending, yield* Deadlines.make(), plan, sendGets, late)
      expect(result.early).toBe(true)
      expect(Option.isSome(result.newest) && result.newest.value.dat.time).toBe(5n)
      pending.deliver({ from: addr(4), entry: entry(9n), valid: true }) // a newer write reached replica 4 first
      pending.deliver({ from: addr(5), entry: entry(5n), valid: true })
      yield* Effect.sleep(20)
      expect(repaired).toEqual([{ stale: [1, 2, 3, 5], time: 9n }])
      yield* Scope.close(scope, Exit.void)
    })
  )

  it.live("without a quorum of one version it waits for the grace, as before", () =>
    Effect.gen(function* () {
      const pending = new PendingReads.PendingReads(8)
      const targets = [1, 2, 3, 4, 5].map(addr)
      const scope = yield* Scope.make()
      const late: Reads.Late = { scope, repair: () => Effect.void }
      const sendGets = Effect.sync(() => {
        pending.deliver({ from: addr(1), entry: entry(5n), valid: true })
        pending.deliver({ from: addr(2), entry: entry(6n), valid: true })
        pending.deliver({ from: addr(3), entry: entry(7n), valid: true })
      })
      const plan = { pubKey, key, targets, local: Option.none(), timeoutMs: 2_000, graceMs: 100, quorum: 3 }
      const started = Date.now()
      const result = yield* Reads.run(pending, yield* Deadlines.make(), plan, sendGets, late)
      expect(Date.now() - started).toBeGreaterThanOrEqual(90)
      expect(result.early).toBe(false)
      expect(Option.isSome(result.newest) && result.newest.value.dat.time).toBe(7n)
      expect(result.stale.map((a) => a.port)).toEqual([1, 2])
      expect(pending.size).toBe(0)
      yield* Scope.close(scope, Exit.void)
    })
  )
})
