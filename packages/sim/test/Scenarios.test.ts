import { Runner, Scenarios } from "@dave/sim"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

/** Runs a scenario at a small size and fails with its message (which names the seed) unless it passed. */
const passes = (scenario: Runner.Request["scenario"], nodes: number, seed = 11) =>
  Effect.gen(function* () {
    const outcome = yield* Runner.run({ scenario, seed, nodes, virtualMinutes: 0, crypto: "fake" })
    if (!outcome.passed) expect.fail(outcome.failure)
    expect(outcome.report?.checks.length).toBeGreaterThan(0)
    return outcome
  })

describe("scenarios (small networks, fake crypto)", () => {
  it.live("the network forms: every node has >= k active peers", () => passes(Scenarios.form, 40))
  it.live("every PUT is retrievable from every node", () => passes(Scenarios.puts, 30))
  it.live("replication holds after 30% churn", () => passes(Scenarios.churn, 40))
  it.live("conflicting writes converge on all replicas", () => passes(Scenarios.conflicts, 24))
  it.live("a partition heals and converges", () => passes(Scenarios.partition, 30))
  it.live("an attacker with one IP stays within its cap of every honest table", () => passes(Scenarios.sybil, 30))
  it.live("nodes that fail storage challenges lose reliability and stop being chosen", () =>
    passes(Scenarios.reliability, 40)
  )
  it.live("crashed nodes restart with or without their backup", () => passes(Scenarios.restart, 30))
})

describe("determinism", () => {
  it.live("the same seed and scenario give the same trace hash; another seed does not", () =>
    Effect.gen(function* () {
      const request = { scenario: Scenarios.conflicts, nodes: 20, virtualMinutes: 0, crypto: "fake" as const }
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
      // The form scenario with a network too small for its threshold cannot pass... so ask for more than exists.
      const impossible = {
        ...Scenarios.form,
        name: "form-impossible",
        run: (world: Parameters<typeof Scenarios.form.run>[0], settings: Parameters<typeof Scenarios.form.run>[1]) =>
          Effect.map(Scenarios.form.run(world, settings), (report) => ({
            ...report,
            checks: [...report.checks, { name: "more peers than nodes", passed: false, detail: "impossible by design" }]
          }))
      }
      const request = { scenario: impossible, seed: 4242, nodes: 12, virtualMinutes: 0, crypto: "fake" as const }
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
