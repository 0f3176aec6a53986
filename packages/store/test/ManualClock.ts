import { type Clock, Effect } from "effect"

/**
 * A clock moved by hand, for the model runs: TestClock.adjust costs about 100 µs (it forks a fiber
 * and yields so that sleepers wake), which dominated a run of thousands of small scenarios. The
 * store reads the time only; nothing under this clock may sleep.
 */
export interface ManualClock {
  readonly clock: Clock.Clock
  readonly nowMs: () => number
  readonly advance: (ms: number) => void
}

export const make = (startMs: number): ManualClock => {
  let nowMs = startMs
  const nanos = () => BigInt(nowMs) * 1_000_000n
  const clock: Clock.Clock = {
    currentTimeMillisUnsafe: () => nowMs,
    currentTimeMillis: Effect.sync(() => nowMs),
    currentTimeNanosUnsafe: nanos,
    currentTimeNanos: Effect.sync(nanos),
    monotonicTimeNanosUnsafe: nanos,
    monotonicTimeNanos: Effect.sync(nanos),
    sleep: () => Effect.die(new Error("ManualClock: nothing may sleep under this clock"))
  }
  return {
    clock,
    nowMs: () => nowMs,
    advance: (ms) => {
      nowMs += ms
    }
  }
}
