import { Clock, Deferred, Effect, type Scope } from "effect"

/**
 * A node's timed waits (a read waiting for its replicas, at most so long), all timed by one fiber.
 * `Effect.timeoutOption` races two fibers and interrupts the loser for every wait; a read waits two or
 * three times, and that was a fifth of the CPU of a read on a busy loop. Here a wait is one callback:
 * it ends when its Signal fires or when the sweeping fiber finds its deadline passed. The sweeper
 * sleeps on the node's Clock (virtual in the simulator), at most `tickMs` at a time while any wait
 * is open, and not at all while none is: a wait may end up to `tickMs` late, never early.
 */

/** A one-shot event a wait can end on: fired once, listeners called once. */
export class Signal {
  #fired = false
  #listeners: Set<() => void> | undefined

  get fired(): boolean {
    return this.#fired
  }

  fire(): void {
    if (this.#fired) return
    this.#fired = true
    const listeners = this.#listeners
    this.#listeners = undefined
    if (listeners !== undefined) for (const listener of listeners) listener()
  }

  /** Calls `listener` when the signal fires; returns the function that removes it. */
  listen(listener: () => void): () => void {
    this.#listeners ??= new Set()
    this.#listeners.add(listener)
    return () => this.#listeners?.delete(listener)
  }
}

export interface Deadlines {
  /** True once `signal` fires, false if `timeoutMs` pass first (up to the tick late). */
  readonly wait: (signal: Signal, timeoutMs: number) => Effect.Effect<boolean>
  /** Waits open right now. */
  readonly open: () => number
}

interface Open {
  readonly deadlineMs: number
  readonly expire: () => void
}

/** Longest a wait may overrun its deadline, by default. */
export const DEFAULT_TICK_MS = 10

export const make = (options: { readonly tickMs?: number } = {}): Effect.Effect<Deadlines, never, Scope.Scope> =>
  Effect.gen(function* () {
    const tickMs = Math.max(1, options.tickMs ?? DEFAULT_TICK_MS)
    const clock = yield* Clock.Clock
    const open = new Set<Open>()
    let idle: Deferred.Deferred<void> | undefined

    // Each turn expires what is due, then sleeps a tick or until the next deadline; with nothing
    // open it waits for the next wait instead of ticking.
    const sweep = Effect.gen(function* () {
      if (open.size === 0) {
        idle = Deferred.makeUnsafe<void>()
        yield* Deferred.await(idle)
        return
      }
      const nowMs = clock.currentTimeMillisUnsafe()
      let nextMs = Number.POSITIVE_INFINITY
      for (const o of open) {
        if (o.deadlineMs <= nowMs) {
          open.delete(o)
          o.expire()
        } else if (o.deadlineMs < nextMs) nextMs = o.deadlineMs
      }
      if (open.size > 0) yield* Effect.sleep(Math.max(1, Math.min(tickMs, nextMs - nowMs)))
    })
    yield* Effect.forkScoped(Effect.forever(sweep))

    // Checked when the wait starts, not when it is built: a forked wait may start after its signal.
    const wait = (signal: Signal, timeoutMs: number): Effect.Effect<boolean> =>
      Effect.callback<boolean>((resume) => {
        if (signal.fired) return resume(Effect.succeed(true))
        if (!(timeoutMs > 0)) return resume(Effect.succeed(false))
        const entry: Open = {
          deadlineMs: clock.currentTimeMillisUnsafe() + timeoutMs,
          expire: () => {
            unlisten()
            resume(Effect.succeed(false))
          }
        }
        const unlisten = signal.listen(() => {
          open.delete(entry)
          resume(Effect.succeed(true))
        })
        open.add(entry)
        if (idle !== undefined) {
          Deferred.doneUnsafe(idle, Effect.void)
          idle = undefined
        }
        return Effect.sync(() => {
          unlisten()
          open.delete(entry)
        })
      })

    return { wait, open: () => open.size }
  })
