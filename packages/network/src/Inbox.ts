import type { Effect, Fiber } from "effect"
import type { Inbound } from "./Transport.ts"

/**
 * The order and moment a node handles what it receives (Transport.listen hands it each message).
 *
 * - Quiet: the first message of a turn of the event loop is handled at once, in the socket's
 *   callback: a request is answered without waiting for a fiber or the end of the turn.
 * - Busy: the others of that turn wait for its end and are handled together, so a node under load
 *   sends its replies in a burst (the peer's process wakes once per burst, not once per reply:
 *   handled one by one, 64 GETs in flight got 37 k replies/s instead of 52 k).
 * - Ordered: a message whose handling leaves work (a PUT to store) runs it on a fiber; until that is
 *   done, every later message waits, so a GET sees the PUT that came before it.
 * Waiting messages are bounded (`maxWaiting`); beyond it arrivals are dropped and counted.
 */

export interface InboxOptions {
  /** Handles one message (arrived at `arrivedMs`, performance.now()); returns work left to run. */
  readonly handle: (inbound: Inbound, arrivedMs: number) => Effect.Effect<void> | undefined
  /** Starts `work` on a fiber (synchronously, as far as it goes without waiting). */
  readonly run: (work: Effect.Effect<void>) => Fiber.Fiber<void>
  /** Runs `task` at the end of this turn of the event loop (the fibers' scheduler). */
  readonly atEndOfTurn: (task: () => void) => void
  readonly maxWaiting: number
  readonly onDropped: () => void
}

export interface Inbox {
  readonly offer: (inbound: Inbound) => void
  /** From now on, nothing more is handled (the node is shutting down). */
  readonly close: () => void
}

export const make = (options: InboxOptions): Inbox => {
  const waiting: Array<{ readonly inbound: Inbound; readonly arrivedMs: number }> = []
  let head = 0
  /** Work of a handled message is still running. */
  let busy = false
  /** A message came this turn: the end-of-turn task is scheduled. */
  let turnOpen = false
  let closed = false

  const handleNow = (inbound: Inbound, arrivedMs: number): void => {
    const work = options.handle(inbound, arrivedMs)
    if (work === undefined) return
    const fiber = options.run(work)
    if (fiber.pollUnsafe() !== undefined) return
    busy = true
    fiber.addObserver(() => {
      busy = false
      handleWaiting()
    })
  }

  const handleWaiting = (): void => {
    // Bounded by the backlog: handling a message never adds to it (arrivals come from `offer` only).
    while (!busy && !closed && head < waiting.length) {
      const next = waiting[head++]!
      handleNow(next.inbound, next.arrivedMs)
    }
    if (head === waiting.length || closed) {
      waiting.length = 0
      head = 0
    }
  }

  const endTurn = (): void => {
    turnOpen = false
    handleWaiting()
  }

  const offer = (inbound: Inbound): void => {
    if (closed) return
    const arrivedMs = performance.now()
    if (!turnOpen) {
      turnOpen = true
      options.atEndOfTurn(endTurn)
      if (!busy && head === waiting.length) {
        handleNow(inbound, arrivedMs)
        return
      }
    }
    if (waiting.length - head < options.maxWaiting) waiting.push({ inbound, arrivedMs })
    else options.onDropped()
  }

  return {
    offer,
    close: () => {
      closed = true
    }
  }
}
