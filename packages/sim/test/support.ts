import { Runner } from "@dave/sim"
import { expect } from "@effect/vitest"
import { Effect } from "effect"

/** Runs a scenario at a small size and fails with its message (which names the seed) unless it passed. */
export const passes = (
  scenario: Runner.Request["scenario"],
  nodes: number,
  crypto: Runner.Request["crypto"] = "fake",
  seed = 11
): Effect.Effect<Runner.Outcome> =>
  Effect.gen(function* () {
    const outcome = yield* Runner.run({ scenario, seed, nodes, virtualMinutes: 0, crypto })
    if (!outcome.passed) expect.fail(outcome.failure)
    expect(outcome.report?.checks.length).toBeGreaterThan(0)
    expect(outcome.report?.checks.every((c) => c.passed)).toBe(true)
    return outcome
  })
