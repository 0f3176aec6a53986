import { Effect } from "effect"
import { check, type Scenario } from "../Scenario.ts"
import * as Steps from "../Steps.ts"

/** The network forms: nodes join over 30 s, each must reach `formThreshold` active peers, and keep them. */
export const form: Scenario = {
  name: "form",
  description: "nodes join over 30 s; every node reaches k active peers, and still has them after --virtual-minutes",
  defaultNodes: 50,
  maxVirtualMs: (s) => (25 + s.virtualMinutes) * 60_000,
  run: (world, settings) =>
    Effect.gen(function* () {
      const k = Steps.formThreshold(settings.nodes)
      const formed = yield* Steps.formNetwork(world, settings.nodes)
      yield* world.sleep(settings.virtualMinutes * 60_000)
      const counts = Steps.activeCounts(world.running())
      const least = Math.min(...counts)
      return {
        checks: [
          check(
            "network forms",
            formed.formedAfterMs !== undefined,
            formed.formedAfterMs === undefined
              ? `some node had fewer than ${k} active peers after 20 virtual minutes`
              : `every node had >= ${k} active peers after ${(formed.formedAfterMs / 1000).toFixed(0)} s`
          ),
          check("stays formed", least >= k, `least active peers at the end: ${least} (need ${k})`)
        ],
        figures: [
          ["formed after s", formed.formedAfterMs === undefined ? "never" : formed.formedAfterMs / 1000],
          ["active peers min", least],
          ["active peers mean", Steps.mean(counts).toFixed(1)],
          ["active peers max", Math.max(...counts)]
        ]
      }
    })
}
