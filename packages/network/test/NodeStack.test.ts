import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { countingPool, eventually, loadedPool, seedOf, signedDat, startStack as stackOn } from "./cluster.ts"

describe("NodeStack", () => {
  it.live("nodes of one process share a VerifyPool: a PUT sent to a replica is verified on its thread and stored", () =>
    Effect.gen(function* () {
      // Eager, and every signature counts as a backlog: the worker checks what the replica stores.
      // Counts what the nodes hand to the shared pool (a stack that started its own would not).
      const { pool: shared, counts } = countingPool(yield* loadedPool({ minWorkerBatch: 1 }))
      const a = yield* stackOn(seedOf(1), shared, [])
      const b = yield* stackOn(seedOf(2), shared, [a.node.localAddress])
      yield* eventually(
        "the two nodes see each other",
        20_000,
        Effect.map(Effect.all([a.node.status, b.node.status]), ([sa, sb]) => sa.peersActive >= 1 && sb.peersActive >= 1)
      )
      const dat = yield* signedDat(seedOf(9), "shared", "pool", Date.now() - 1_000)
      const report = yield* b.node.put(dat)
      expect(report.sentTo.length).toBe(1)
      yield* eventually("the replica stored it", 10_000, Effect.map(a.store.get(dat.pubKey, dat.key), Option.isSome))
      expect(counts.queued).toBeGreaterThanOrEqual(1)
      expect(shared.workers()).toBe(1)
    }).pipe(Effect.scoped)
  )
})
