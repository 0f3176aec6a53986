import { Codec } from "@dave/protocol"
import { SimNetwork, SimParams, Simulation, type World } from "@dave/sim"
import { expect, it } from "@effect/vitest"
import { Effect, Exit, Result } from "effect"

/**
 * A node whose edge answers PINGs but never tells it its address asks again after 5 s, then ever
 * less often (5, 10, 20, ... s) up to the usual period: such an edge costs a few datagrams, not
 * one every 5 s.
 */

const MINUTES = 10

const opOf = (payload: Uint8Array): string | undefined => {
  const decoded = Codec.decode(payload)
  return Result.isSuccess(decoded) ? decoded.success._tag : undefined
}

const countQueries = (world: World.World, ms: number) =>
  Effect.gen(function* () {
    let queries = 0
    world.network.setFilter((_from, _to, payload) => {
      const op = opOf(payload)
      if (op === "GetMyAddrPort") queries++
      return op !== "GetMyAddrPortAck"
    })
    const nodes = yield* world.addNodes(2)
    yield* world.startAll(nodes, 0)
    yield* Effect.sleep(ms)
    return { queries, filtered: world.network.stats.filtered }
  })

it.effect("a node asks an edge that never answers for its address with a doubling backoff", () =>
  Effect.gen(function* () {
    const result = yield* Simulation.run(
      {
        seed: 3,
        crypto: "fake",
        params: SimParams.scaled({ nodes: 2, livenessScale: 1 }),
        network: SimNetwork.defaultOptions,
        maxVirtualMs: (MINUTES + 1) * 60_000
      },
      (world) => countQueries(world, MINUTES * 60_000)
    )
    if (!Exit.isSuccess(result.exit)) return yield* Effect.die(Simulation.describeFailure(result.exit))
    const { queries, filtered } = result.exit.value
    // Each of the two nodes asks the other at about 5, 15, 35, 75, 155, 315 s: ~6 asks each in
    // 10 minutes, where a fixed 5 s retry makes ~120 each. Every answer was dropped by the filter.
    expect(filtered).toBeGreaterThan(0)
    expect(queries).toBeGreaterThanOrEqual(8)
    expect(queries).toBeLessThanOrEqual(16)
  })
)
