import { Runner, Scenarios } from "@dave/sim"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

describe("determinism", () => {
  it.live("the same seed and scenario give the same trace hash; another seed does not", () =>
    Effect.gen(function* () {
      const request = { scenario: Scenarios.conflicts, nodes: 12, virtualMinutes: 0, crypto: "fake" as const }
      const first = yield* Runner.run({ ...request, seed: 5 })
      const second = yield* Runner.run({ ...request, seed: 5 })
      const other = yield* Runner.run({ ...request, seed: 6 })
      expect(first.summary.traceRecords).toBeGreaterThan(1_000)
      expect(second.summary.traceHash).toBe(first.summary.traceHash)
      expect(second.summary.traceRecords).toBe(first.summary.traceRecords)
      expect(second.summary.eventsFired).toBe(first.summary.eventsFired)
      expect(other.summary.traceHash).not.toBe(first.summary.traceHash)
    })
  )

  it.live("a failing check names its seed, and re-running that seed reproduces the failure", () =>
    Effect.gen(function* () {
      // The form scenario with one more check that cannot hold.
      const impossible = {
        ...Scenarios.form,
        name: "form-impossible",
        run: (world: Parameters<typeof Scenarios.form.run>[0], settings: Parameters<typeof Scenarios.form.run>[1]) =>
          Effect.map(Scenarios.form.run(world, settings), (report) => ({
            ...report,
            checks: [...report.checks, { name: "more peers than nodes", passed: false, detail: "impossible by design" }]
          }))
      }
      const request = { scenario: impossible, seed: 4242, nodes: 8, virtualMinutes: 0, crypto: "fake" as const }
      const first = yield* Runner.run(request)
      expect(first.passed).toBe(false)
      expect(first.failure).toContain("seed 4242")
      expect(first.failure).toContain("--seed 4242")
      const failure = yield* Effect.flip(Runner.expectPassed(first))
      expect(failure.message).toContain("seed 4242")
      const again = yield* Runner.run(request)
      expect(again.failure).toBe(first.failure)
      expect(again.summary.traceHash).toBe(first.summary.traceHash)
    })
  )
})
