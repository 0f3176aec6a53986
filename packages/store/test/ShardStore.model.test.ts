import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { type Coverage, runScenario, type Scenario, scenario } from "./Ops.ts"

/** Runs `numRuns` scenarios against the model and sums what they exercised. */
const check = async (
  arbitrary: fc.Arbitrary<Scenario>,
  numRuns: number,
  options: Parameters<typeof runScenario>[1] = {}
) => {
  const seen: Array<Coverage> = []
  await fc.assert(
    fc.asyncProperty(arbitrary, (s) =>
      Effect.runPromise(
        runScenario(s, options).pipe(
          Effect.flatMap((coverage) =>
            Effect.sync(() => {
              seen.push(coverage)
            })
          ),
          Effect.scoped
        )
      )
    ),
    { numRuns }
  )
  return {
    maxEntries: Math.max(...seen.map((c) => c.maxEntries)),
    evictions: seen.reduce((n, c) => n + c.evictions, 0),
    rejects: new Set(seen.flatMap((c) => [...c.rejects]))
  }
}

const TIMEOUT_MS = 60_000

const small = scenario({ keys: 8, minEntries: 1, maxEntries: 6, minOps: 1, maxOps: 60, maxAdvance: 0.6 })

describe("ShardStore against the brute-force model", () => {
  it(
    "small capacities, eviction on most puts: outcomes, evictions, used, content",
    async () => {
      const seen = await check(small, 2000)
      assert.isAbove(seen.evictions, 5000)
      for (const reason of ["Malformed", "TimeOutOfRange", "Expired", "TooLarge", "Stale", "RanksLowest"]) {
        assert.isTrue(seen.rejects.has(reason), reason)
      }
    },
    TIMEOUT_MS
  )

  it(
    "larger stores: many entries, slot growth, long clock runs",
    async () => {
      const large = scenario({ keys: 120, minEntries: 60, maxEntries: 90, minOps: 150, maxOps: 400, maxAdvance: 0.05 })
      const seen = await check(large, 30, { contentEvery: 8 })
      assert.isAbove(seen.evictions, 100)
      assert.isAbove(seen.maxEntries, 64, "past the initial 64 slots")
    },
    TIMEOUT_MS
  )

  it(
    "64-bit collisions (a 2-bit hash): OtherAuthor and KeyCollision, nothing overwritten",
    async () => {
      const twoBits = (p: Uint8Array, k: Uint8Array) => BigInt((p[0]! ^ (k[1] ?? 0)) & 3) << 62n
      const seen = await check(small, 500, { keyHash: twoBits })
      assert.isTrue(seen.rejects.has("OtherAuthor") && seen.rejects.has("KeyCollision"))
    },
    TIMEOUT_MS
  )
})
