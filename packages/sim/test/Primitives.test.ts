import { EventLoop, EventQueue, Prng, TraceHash } from "@dave/sim"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"

const ascii = (s: string) => new TextEncoder().encode(s)

describe("TraceHash", () => {
  it("is FNV-1a 64 (published vectors)", () => {
    // Vectors from the FNV reference (isthe.com/chongo/tech/comp/fnv): "", "a", "foobar".
    const of = (s: string) => {
      const h = new TraceHash.TraceHash()
      h.raw(ascii(s))
      return h.hex()
    }
    expect(of("")).toBe("cbf29ce484222325")
    expect(of("a")).toBe("af63dc4c8601ec8c")
    expect(of("foobar")).toBe("85944171f73967e8")
  })

  it("changes with any field of a delivery", () => {
    const from = { ip: new Uint8Array(16).fill(1), port: 7000 }
    const to = { ip: new Uint8Array(16).fill(2), port: 7000 }
    const digest = (time: number, port: number, byte: number) => {
      const h = new TraceHash.TraceHash()
      h.delivery(0, time, from, { ...to, port }, Uint8Array.of(byte))
      return h.hex()
    }
    const base = digest(1, 7000, 0)
    expect(digest(1, 7000, 0)).toBe(base)
    expect(digest(2, 7000, 0)).not.toBe(base)
    expect(digest(1, 7001, 0)).not.toBe(base)
    expect(digest(1, 7000, 1)).not.toBe(base)
  })
})

describe("Prng", () => {
  it("is a function of its seed, and split streams differ", () => {
    const draw = (p: Prng.Prng) => Array.from({ length: 8 }, () => p.nextUint32())
    expect(draw(Prng.Prng.fromSeed(7))).toEqual(draw(Prng.Prng.fromSeed(7)))
    expect(draw(Prng.Prng.fromSeed(7))).not.toEqual(draw(Prng.Prng.fromSeed(8)))
    expect(draw(Prng.Prng.fromSeed(7))).not.toEqual(draw(Prng.Prng.fromSeed("7")))
    const root = Prng.Prng.fromSeed(1)
    expect(draw(root.split())).not.toEqual(draw(root.split()))
  })

  it("draws doubles in [0, 1) with a plausible mean, and integers below n", () => {
    const p = Prng.Prng.fromSeed(3)
    let sum = 0
    const n = 20_000
    for (let i = 0; i < n; i++) {
      const x = p.nextDoubleUnsafe()
      expect(x >= 0 && x < 1).toBe(true)
      sum += x
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01)
    const counts = [0, 0, 0]
    for (let i = 0; i < 3_000; i++) counts[p.below(3)]!++
    for (const c of counts) expect(c).toBeGreaterThan(900)
  })

  it("samples distinct items", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer(),
        (size, count, seed) => {
          const items = Array.from({ length: size }, (_, i) => i)
          const picked = Prng.Prng.fromSeed(seed).sample(items, count)
          expect(picked).toHaveLength(Math.min(size, count))
          expect(new Set(picked).size).toBe(picked.length)
        }
      )
    )
  })
})

describe("EventQueue", () => {
  it("pops by time, then by scheduling order, skipping cancelled events", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean()), { maxLength: 200 }), (specs) => {
        const q = new EventQueue.EventQueue(1_000)
        const fired: Array<number> = []
        const events = specs.map(([t], i) => q.push(t, () => fired.push(i))!)
        specs.forEach(([, cancel], i) => {
          if (cancel) q.cancel(events[i]!)
        })
        const expected = specs
          .map(([t, cancel], i) => ({ t, cancel, i }))
          .filter((e) => !e.cancel)
          .sort((a, b) => a.t - b.t || a.i - b.i)
          .map((e) => e.i)
        expect(q.size).toBe(expected.length)
        for (let e = q.pop(); e !== undefined; e = q.pop()) e.fire()
        expect(fired).toEqual(expected)
        expect(q.size).toBe(0)
      })
    )
  })

  it("refuses events beyond its bound", () => {
    const q = new EventQueue.EventQueue(2)
    expect(q.push(1, () => {})).toBeDefined()
    expect(q.push(2, () => {})).toBeDefined()
    expect(q.push(3, () => {})).toBeUndefined()
  })
})

describe("EventLoop", () => {
  it("advances time to each event and stops at the horizon", () => {
    const loop = new EventLoop.EventLoop({ startMs: 1_000, maxEvents: 100, maxTasksPerInstant: 1_000 })
    const seen: Array<number> = []
    loop.after(5, () => seen.push(loop.nowMs))
    loop.after(2, () => {
      seen.push(loop.nowMs)
      loop.defer(() => seen.push(-loop.nowMs))
    })
    loop.after(50, () => seen.push(loop.nowMs))
    expect(loop.run({ untilMs: 1_010, maxEvents: 100 })).toBe("Reached")
    expect(seen).toEqual([1_002, -1_002, 1_005])
    expect(loop.nowMs).toBe(1_010)
    expect(loop.run({ untilMs: 2_000, maxEvents: 100 })).toBe("Idle")
    expect(seen).toEqual([1_002, -1_002, 1_005, 1_050])
  })

  it("reports a livelock instead of spinning", () => {
    const loop = new EventLoop.EventLoop({ startMs: 0, maxEvents: 10, maxTasksPerInstant: 100 })
    const spin = () => loop.defer(spin)
    loop.after(1, spin)
    expect(() => loop.run({ untilMs: 10, maxEvents: 10 })).toThrow(/without time advancing/)
  })
})
