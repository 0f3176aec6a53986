import { type Clock, Duration, Effect } from "effect"
import type { EventLoop } from "./EventLoop.ts"

/**
 * effect's Clock over the simulation's virtual time: `sleep` schedules an event on the loop and
 * suspends the fiber until it fires. Each node has its own clock so that it can be skewed: its
 * wall time is the virtual time plus `skewMs`, while durations (sleeps, the monotonic time) are
 * the same for everyone, as with a real clock that is set wrong but ticks right.
 */
export class VirtualClock implements Clock.Clock {
  readonly #loop: EventLoop
  skewMs: number

  constructor(loop: EventLoop, skewMs = 0) {
    this.#loop = loop
    this.skewMs = skewMs
  }

  currentTimeMillisUnsafe(): number {
    return this.#loop.nowMs + this.skewMs
  }

  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.currentTimeMillisUnsafe())

  currentTimeNanosUnsafe(): bigint {
    return BigInt(this.currentTimeMillisUnsafe()) * 1_000_000n
  }

  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.currentTimeNanosUnsafe())

  monotonicTimeNanosUnsafe(): bigint {
    return BigInt(this.#loop.nowMs) * 1_000_000n
  }

  readonly monotonicTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.monotonicTimeNanosUnsafe())

  sleep(duration: Duration.Duration): Effect.Effect<void> {
    const ms = Duration.toMillis(duration)
    if (!(ms > 0)) return Effect.yieldNow
    if (!Number.isFinite(ms)) return Effect.never
    return Effect.callback<void>((resume) => {
      const event = this.#loop.after(ms, () => resume(Effect.void))
      // A full event queue: the sleep never ends, as a timer that cannot be armed (counted by the loop).
      if (event === undefined) return undefined
      return Effect.sync(() => this.#loop.cancel(event))
    })
  }
}
