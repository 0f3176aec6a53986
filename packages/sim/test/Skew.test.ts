import { SimParams, Simulation, Steps } from "@dave/sim"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"

describe("clock skew", () => {
  it.live("a node whose clock runs ahead writes entries the others refuse until their clocks catch up", () =>
    Effect.gen(function* () {
      const aheadMs = 120_000
      const result = yield* Simulation.run(
        { seed: 3, crypto: "fake", params: SimParams.scaled({ nodes: 8 }), maxVirtualMs: 30 * 60_000 },
        (world) =>
          Effect.gen(function* () {
            // Skewed from the start: a clock that jumps makes every peer look silent for a while.
            const formed = yield* Steps.formNetwork(world, 8, {
              setup: (index) => (index === 5 ? { skewMs: aheadMs } : {})
            })
            const writer = formed.nodes[5]!
            const author = yield* world.newAuthor()
            const dat = yield* world.signDat(author, "k", "from the future", writer.clock.currentTimeMillisUnsafe())
            const report = yield* world.put(writer, dat)
            yield* world.sleep(10_000)
            const early = (yield* Steps.holders(world, dat)).filter(([n]) => n !== writer).length
            yield* world.sleep(aheadMs)
            const later = yield* world.put(formed.nodes[1]!, dat)
            yield* world.sleep(10_000)
            const held = (yield* Steps.holders(world, dat)).filter(([n]) => n !== writer).length
            return {
              formed: formed.formedAfterMs,
              sentTo: report.sentTo.length,
              early,
              held,
              later: later.sentTo.length
            }
          })
      )
      expect(Exit.isSuccess(result.exit)).toBe(true)
      if (Exit.isFailure(result.exit)) return
      const v = result.exit.value
      expect(v.formed).toBeDefined()
      expect(v.sentTo).toBeGreaterThan(0)
      // Every other replica refused the dat as FutureTime...
      expect(v.early).toBe(0)
      // ...and stores it once its time has come.
      expect(v.held).toBeGreaterThanOrEqual(4)
    })
  )
})
