import { Deadlines } from "@dave/network"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"

describe("Deadlines", () => {
  it.effect("a wait ends true when its signal fires, and leaves nothing open", () =>
    Effect.gen(function* () {
      const deadlines = yield* Deadlines.make({ tickMs: 10 })
      const signal = new Deadlines.Signal()
      const waiting = yield* Effect.forkChild(deadlines.wait(signal, 1_000))
      yield* TestClock.adjust("30 millis")
      expect(deadlines.open()).toBe(1)
      signal.fire()
      expect(yield* Fiber.join(waiting)).toBe(true)
      expect(deadlines.open()).toBe(0)
      // A fired signal answers at once; firing twice is harmless.
      signal.fire()
      expect(yield* deadlines.wait(signal, 1_000)).toBe(true)
      // A wait built before its signal fires but started after it (a forked wait) sees it fired.
      const later = new Deadlines.Signal()
      const built = deadlines.wait(later, 1_000)
      later.fire()
      expect(yield* built).toBe(true)
    })
  )

  it.effect("a wait times out false: never before its deadline, at most a tick after", () =>
    Effect.gen(function* () {
      const deadlines = yield* Deadlines.make({ tickMs: 10 })
      const signal = new Deadlines.Signal()
      const waiting = yield* Effect.forkChild(deadlines.wait(signal, 95))
      yield* TestClock.adjust("94 millis")
      expect(waiting.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("11 millis")
      expect(yield* Fiber.join(waiting)).toBe(false)
      expect(deadlines.open()).toBe(0)
      // The signal firing later reaches no one.
      signal.fire()
      expect(yield* deadlines.wait(new Deadlines.Signal(), 0)).toBe(false)
    })
  )

  it.effect("many waits with different deadlines each end on their own, in order", () =>
    Effect.gen(function* () {
      const deadlines = yield* Deadlines.make({ tickMs: 5 })
      const signals = [new Deadlines.Signal(), new Deadlines.Signal(), new Deadlines.Signal()]
      const short = yield* Effect.forkChild(deadlines.wait(signals[0]!, 20))
      const long = yield* Effect.forkChild(deadlines.wait(signals[1]!, 200))
      const fired = yield* Effect.forkChild(deadlines.wait(signals[2]!, 200))
      yield* TestClock.adjust("25 millis")
      expect(yield* Fiber.join(short)).toBe(false)
      expect(long.pollUnsafe()).toBeUndefined()
      signals[2]!.fire()
      expect(yield* Fiber.join(fired)).toBe(true)
      yield* TestClock.adjust("180 millis")
      expect(yield* Fiber.join(long)).toBe(false)
      expect(deadlines.open()).toBe(0)
    })
  )

  it.effect("an interrupted wait is removed", () =>
    Effect.gen(function* () {
      const deadlines = yield* Deadlines.make()
      const signal = new Deadlines.Signal()
      const waiting = yield* Effect.forkChild(deadlines.wait(signal, 1_000))
      yield* TestClock.adjust("1 millis")
      expect(deadlines.open()).toBe(1)
      yield* Fiber.interrupt(waiting)
      expect(deadlines.open()).toBe(0)
      signal.fire()
    })
  )
})
