import { Constants } from "@dave/protocol"
import { Effect } from "effect"
import { check, type Scenario } from "../Scenario.ts"
import * as Steps from "../Steps.ts"

const WAVES = 6
const SHARE_PER_WAVE = 0.05
/** Least share of entries that must stay retrievable. */
export const RETRIEVABLE_GOAL = 0.999

/**
 * Replication survives churn: entries are written, then 30 % of the nodes are replaced in six
 * waves (5 % crash for good, as many fresh nodes join), with time between waves for the network
 * to notice and re-replicate. Bootstrap nodes stay up, as well-known edges would.
 */
export const churn: Scenario = {
  name: "churn",
  description:
    "writes 5 entries per node (at most 1,000), then replaces 30% of nodes in 6 waves; >= 99.9% stay retrievable",
  defaultNodes: 60,
  maxVirtualMs: (s) => (300 + s.virtualMinutes) * 60_000,
  run: (world, settings) =>
    Effect.gen(function* () {
      const formed = yield* Steps.formNetwork(world, settings.nodes)
      const count = Math.min(1_000, 5 * settings.nodes)
      const written = yield* Steps.writeEntries(world, count, {
        authors: Math.max(1, Math.floor(count / 5)),
        gapMs: 50
      })
      const gapMs = Steps.settleMs(world)
      yield* world.sleep(gapMs)
      const perWave = Math.max(1, Math.round(SHARE_PER_WAVE * settings.nodes))
      let crashed = 0
      for (let wave = 0; wave < WAVES; wave++) {
        const candidates = world.running().filter((n) => n.index >= world.params.bootstrapCount)
        for (const node of world.random.sample(candidates, perWave)) {
          yield* world.crash(node)
          crashed++
        }
        const fresh = yield* world.addNodes(perWave)
        yield* world.startAll(fresh, 10_000)
        yield* world.sleep(gapMs)
      }
      yield* world.sleep(gapMs + settings.virtualMinutes * 60_000)

      const running = world.running()
      const pairs = written.map((w) => [running[world.random.below(running.length)]!, w.dat] as const)
      const tally = yield* Steps.readAll(world, pairs)
      const holderCounts = yield* Effect.forEach(written, (w) =>
        Effect.map(Steps.holders(world, w.dat), (h) => h.length)
      )
      const fullyReplicated = holderCounts.filter((h) => h >= Constants.FANOUT).length
      const share = tally.total === 0 ? 0 : tally.found / tally.total
      return {
        checks: [
          check(
            "network forms",
            formed.formedAfterMs !== undefined,
            `formed after ${formed.formedAfterMs ?? "never"} ms`
          ),
          check(
            "entries retrievable after 30% churn",
            share >= RETRIEVABLE_GOAL && written.length > 0,
            `${tally.found} of ${tally.total} entries retrievable (${Steps.percent(tally.found, tally.total)}, goal >= 99.9%)`
          )
        ],
        figures: [
          ["entries", written.length],
          ["nodes crashed", crashed],
          ["nodes joined", crashed],
          ["wave gap s", gapMs / 1000],
          ["retrievable", Steps.percent(tally.found, tally.total)],
          ["entries on >= 5 live nodes", Steps.percent(fullyReplicated, written.length)],
          ["live holders per entry min", Math.min(...holderCounts)],
          ["live holders per entry mean", Steps.mean(holderCounts).toFixed(2)]
        ]
      }
    })
}
