import { Effect } from "effect"
import { check, type Scenario } from "../Scenario.ts"
import type { SimNode } from "../SimNode.ts"
import * as Steps from "../Steps.ts"

const CRASH_SHARE = 0.2
/** Share of what an empty-restarted node held that re-replication must bring back. */
export const REFILL_GOAL = 0.8

const entriesOf = (node: SimNode): Effect.Effect<number> => Effect.map(node.stack.store.stats, (s) => s.entries)

/**
 * Crash and restart: a fifth of the nodes crash, stay down past the deactivation window, and come
 * back at the same address with the same key, half with their backup and half on an empty disk.
 * The first must restore exactly what they held; the second must be refilled by re-replication;
 * every entry must stay retrievable.
 */
export const restart: Scenario = {
  name: "restart",
  description:
    "a fifth of the nodes crash and restart, half with their backup, half empty; backups restore, re-replication refills",
  defaultNodes: 40,
  maxVirtualMs: (s) => (80 + s.virtualMinutes) * 60_000,
  run: (world, settings) =>
    Effect.gen(function* () {
      const formed = yield* Steps.formNetwork(world, settings.nodes)
      const written = yield* Steps.writeEntries(world, 3 * settings.nodes, { authors: settings.nodes })
      yield* world.sleep(Steps.settleMs(world))

      const candidates = world.running().filter((n) => n.index >= world.params.bootstrapCount)
      const victims = world.random.sample(candidates, Math.max(2, Math.round(CRASH_SHARE * settings.nodes)))
      const withBackup = victims.filter((_, i) => i % 2 === 0)
      const empty = victims.filter((_, i) => i % 2 === 1)
      const heldBefore = new Map<number, number>()
      for (const node of victims) heldBefore.set(node.index, yield* entriesOf(node))
      for (const node of victims) yield* world.crash(node)
      const times = Steps.livenessTimes(world)
      yield* world.sleep(times.deactivateMs + times.pingIntervalMs)

      for (const node of withBackup) yield* world.restart(node, { withBackup: true })
      for (const node of empty) yield* world.restart(node, { withBackup: false })
      const restoredOk = (yield* Effect.forEach(withBackup, (n) => entriesOf(n))).filter(
        (count, i) => count === heldBefore.get(withBackup[i]!.index)
      ).length
      yield* world.sleep(2 * Steps.settleMs(world) + settings.virtualMinutes * 60_000)

      let before = 0
      let after = 0
      for (const node of empty) {
        before += heldBefore.get(node.index) ?? 0
        after += Math.min(heldBefore.get(node.index) ?? 0, yield* entriesOf(node))
      }
      const running = world.running()
      const tally = yield* Steps.readAll(
        world,
        written.map((w) => [running[world.random.below(running.length)]!, w.dat] as const)
      )
      return {
        checks: [
          check(
            "network forms",
            formed.formedAfterMs !== undefined,
            `formed after ${formed.formedAfterMs ?? "never"} ms`
          ),
          check(
            "backups restore",
            restoredOk === withBackup.length,
            `${restoredOk} of ${withBackup.length} nodes restored exactly what they held`
          ),
          check(
            "re-replication refills empty restarts",
            before === 0 || after >= REFILL_GOAL * before,
            `empty restarts hold ${Steps.percent(after, before)} of what they held before (goal >= ${REFILL_GOAL * 100}%)`
          ),
          check(
            "every entry retrievable",
            tally.found === tally.total,
            `${tally.found} of ${tally.total} entries retrievable (missing ${tally.missing}, failed ${tally.failed})`
          )
        ],
        figures: [
          ["entries", written.length],
          ["restarted with backup", withBackup.length],
          ["restarted empty", empty.length],
          ["down for s", (times.deactivateMs + times.pingIntervalMs) / 1000],
          ["refilled", Steps.percent(after, before)]
        ]
      }
    })
}
