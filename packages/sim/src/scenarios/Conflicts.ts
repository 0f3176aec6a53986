import { Dat, type Message } from "@dave/protocol"
import { Effect } from "effect"
import { check, type Scenario } from "../Scenario.ts"
import * as Steps from "../Steps.ts"

const KEYS = 20

/** The version every replica must end with: the newest by the store's rule. */
const winnerOf = (versions: ReadonlyArray<Message.Dat>): Message.Dat =>
  versions.reduce((best, d) => (Steps.newer(d, best) ? d : best))

/**
 * Conflicting writes converge: for each key, one author's three versions are written at the same
 * instant through three different nodes (two with the same timestamp, so the work hash decides;
 * one older). Replicas receive them in different orders; all must end with the same winner.
 */
export const conflicts: Scenario = {
  name: "conflicts",
  description: "3 versions of each of 20 keys written at once through 3 nodes; every holder and every read ends on the winner",
  defaultNodes: 30,
  maxVirtualMs: (s) => (40 + s.virtualMinutes) * 60_000,
  run: (world, settings) =>
    Effect.gen(function* () {
      const formed = yield* Steps.formNetwork(world, settings.nodes)
      const author = yield* world.newAuthor()
      const slots: Array<{ readonly winner: Message.Dat; readonly versions: ReadonlyArray<Message.Dat> }> = []
      for (let k = 0; k < KEYS; k++) {
        const [a, b, c] = world.random.sample(world.running(), 3)
        const t = world.nowMs
        const versions = yield* Effect.all([
          world.signDat(author, `slot${k}`, `from ${a!.index}`, t),
          world.signDat(author, `slot${k}`, `from ${b!.index}`, t),
          world.signDat(author, `slot${k}`, `older, from ${c!.index}`, t - 1_000)
        ])
        const writers = [a!, b!, c!]
        yield* Effect.all(
          versions.map((d, i) => Effect.ignore(world.put(writers[i]!, d))),
          { concurrency: "unbounded", discard: true }
        )
        slots.push({ winner: winnerOf(versions), versions })
        yield* world.sleep(200)
      }
      yield* world.sleep(30_000 + settings.virtualMinutes * 60_000)

      let holders = 0
      let holdersOnWinner = 0
      for (const slot of slots) {
        for (const [, entry] of yield* Steps.holders(world, slot.winner)) {
          holders++
          if (entry.dat.time === slot.winner.time && Dat.bytesEqual(entry.dat.value, slot.winner.value)) holdersOnWinner++
        }
      }
      const pairs = slots.flatMap((s) => world.running().map((reader) => [reader, s.winner] as const))
      const tally = yield* Steps.readAll(world, pairs)
      return {
        checks: [
          check("network forms", formed.formedAfterMs !== undefined, `formed after ${formed.formedAfterMs ?? "never"} ms`),
          check("replicas converge", holders > 0 && holdersOnWinner === holders, `${holdersOnWinner} of ${holders} copies are the winner`),
          check(
            "every read returns the winner",
            tally.found === tally.total,
            `${tally.found} of ${tally.total} reads (stale ${tally.stale}, missing ${tally.missing}, failed ${tally.failed})`
          )
        ],
        figures: [
          ["keys", slots.length],
          ["copies held", holders],
          ["copies on the winner", holdersOnWinner],
          ["reads", tally.total]
        ]
      }
    })
}
