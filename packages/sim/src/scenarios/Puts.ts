import { Effect } from "effect"
import { check, type Scenario } from "../Scenario.ts"
import * as Steps from "../Steps.ts"

/** Readers per entry: every node up to this many, a sample beyond (the runner's large networks). */
const MAX_READERS_PER_ENTRY = 100

/** Every PUT is retrievable from every node. */
export const puts: Scenario = {
  name: "puts",
  description: "nodes write 2 entries per node (at most 200); after 30 s every node reads every entry back",
  defaultNodes: 40,
  maxVirtualMs: (s) => (60 + s.virtualMinutes) * 60_000,
  run: (world, settings) =>
    Effect.gen(function* () {
      const formed = yield* Steps.formNetwork(world, settings.nodes)
      const count = Math.min(200, 2 * settings.nodes)
      const written = yield* Steps.writeEntries(world, count, { authors: Math.max(1, Math.floor(count / 4)) })
      yield* world.sleep(30_000 + settings.virtualMinutes * 60_000)
      // Counted before the reads, which leave a copy at every reader.
      const replicaCounts = yield* Effect.forEach(written, (w) =>
        Effect.map(Steps.holders(world, w.dat), (h) => h.length)
      )
      const running = world.running()
      const pairs = written.flatMap((w) =>
        world.random.sample(running, MAX_READERS_PER_ENTRY).map((reader) => [reader, w.dat] as const)
      )
      const tally = yield* Steps.readAll(world, pairs)
      return {
        checks: [
          check(
            "network forms",
            formed.formedAfterMs !== undefined,
            `formed after ${formed.formedAfterMs ?? "never"} ms`
          ),
          check("every PUT accepted", written.length === count, `${written.length} of ${count} writes accepted`),
          check(
            "every PUT retrievable from every node",
            tally.found === tally.total,
            `${tally.found} of ${tally.total} reads found the entry (stale ${tally.stale}, missing ${tally.missing}, failed ${tally.failed})`
          )
        ],
        figures: [
          ["entries", written.length],
          ["reads", tally.total],
          ["reads found", Steps.percent(tally.found, tally.total)],
          ["holders per entry min", Math.min(...replicaCounts)],
          ["holders per entry mean", Steps.mean(replicaCounts).toFixed(2)]
        ]
      }
    })
}
