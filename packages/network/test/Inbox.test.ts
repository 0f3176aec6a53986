import { type Inbound, Inbox } from "@dave/network"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, type Fiber } from "effect"

const message = (n: number): Inbound => ({
  payload: Uint8Array.of(n),
  from: { ip: new Uint8Array(16), port: 1 },
  via: "udp"
})

/** An inbox whose turns end when the test says, recording what it handled and when. */
const harness = (options: { readonly maxWaiting?: number; readonly workOf?: (n: number) => Effect.Effect<void> }) => {
  const handled: Array<number> = []
  const endOfTurn: Array<() => void> = []
  let dropped = 0
  const inbox = Inbox.make({
    handle: (inbound) => {
      const n = inbound.payload[0]!
      handled.push(n)
      return options.workOf?.(n)
    },
    run: (work) => Effect.runFork(work) as Fiber.Fiber<void>,
    atEndOfTurn: (task) => endOfTurn.push(task),
    maxWaiting: options.maxWaiting ?? 100,
    onDropped: () => dropped++
  })
  const endTurn = () => {
    for (const task of endOfTurn.splice(0)) task()
  }
  return { inbox, handled, endTurn, dropped: () => dropped }
}

describe("Inbox", () => {
  it("handles the first message of a turn at once and the rest at its end, in order", () => {
    const { inbox, handled, endTurn } = harness({})
    inbox.offer(message(1))
    expect(handled).toEqual([1]) // quiet: at once
    inbox.offer(message(2))
    inbox.offer(message(3))
    expect(handled).toEqual([1]) // the same turn: they wait for its end
    endTurn()
    expect(handled).toEqual([1, 2, 3])
    inbox.offer(message(4)) // a new turn
    expect(handled).toEqual([1, 2, 3, 4])
  })

  it.effect("holds every later message while a message's work runs, then handles them in order", () =>
    Effect.gen(function* () {
      const stored = yield* Deferred.make<void>()
      const { inbox, handled, endTurn } = harness({ workOf: (n) => (n === 1 ? Deferred.await(stored) : Effect.void) })
      inbox.offer(message(1)) // its work waits for `stored`
      endTurn()
      inbox.offer(message(2)) // a new turn, but work is running: it waits
      inbox.offer(message(3))
      endTurn()
      expect(handled).toEqual([1])
      yield* Deferred.succeed(stored, undefined)
      yield* Effect.yieldNow
      expect(handled).toEqual([1, 2, 3])
    })
  )

  it("is bounded: beyond maxWaiting arrivals are dropped and counted; closed, it handles nothing", () => {
    const { inbox, handled, endTurn, dropped } = harness({ maxWaiting: 2 })
    for (let n = 1; n <= 5; n++) inbox.offer(message(n))
    expect(dropped()).toBe(2)
    endTurn()
    expect(handled).toEqual([1, 2, 3])
    inbox.offer(message(6))
    inbox.offer(message(7))
    inbox.close()
    endTurn()
    inbox.offer(message(8))
    expect(handled).toEqual([1, 2, 3, 6])
  })
})
