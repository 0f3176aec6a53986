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
 * one older). Replicas receive them in different orders; every replica (the FANOUT nodes closest
 * to the author) must end with the winner, and every read through any node must return it.
 */
export const conflicts: Scenario = {
  name: "conflicts",
  description:
    "3 versions of each of 20 keys written at once through 3 nodes; every holder and every read ends on the winner",
  defaultNodes: 30,
  maxVirtualMs: (s) => (40 + s.virtualMinutes) * 60_000,
  run: (world, settings) =>
    Effect.gen(function* () {
      const formed = yield* Steps.formNetwork(world, settings.nodes)
      const author = yield* world.newAuthor()
      const slots: Array<{ readonly winner: Message.Dat }> = []
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
        slots.push({ winner: winnerOf(versions) })
        yield* world.sleep(200)
      }
      yield* world.sleep(30_000 + settings.virtualMinutes * 60_000)

      // The replicas are the FANOUT nodes closest to the author. Other nodes may hold a copy too: a
      // writer that saw a newcomer too early named it, or a forward reached a writer that is no
      // replica. Such copies may stay behind; a read through those nodes still finds the winner.
      const replicas = new Set(Steps.closestRunning(world, author.nodeId).map((n) => n.nodeId))
      let holders = 0
      let holdersOnWinner = 0
      let others = 0
      for (const slot of slots) {
        for (const [node, entry] of yield* Steps.holders(world, slot.winner)) {
          if (!replicas.has(node.nodeId)) {
            others++
            continue
          }
          holders++
          if (entry.dat.time === slot.winner.time && Dat.bytesEqual(entry.dat.value, slot.winner.value))
            holdersOnWinner++
        }
      }
      const replicaSlots = slots.length * replicas.size
      const pairs = slots.flatMap((s) => world.running().map((reader) => [reader, s.winner] as const))
      const tally = yield* Steps.readAll(world, pairs)
      return {
        checks: [
          check(
            "network forms",
            formed.formedAfterMs !== undefined,
            `formed after ${formed.formedAfterMs ?? "never"} ms`
          ),
          check(
            "replicas converge",
            holders === replicaSlots && holdersOnWinner === holders,
            `${holdersOnWinner} of ${replicaSlots} replica copies are the winner (${holders} held)`
          ),
          check(
            "every read returns the winner",
            tally.found === tally.total,
            `${tally.found} of ${tally.total} reads (stale ${tally.stale}, missing ${tally.missing}, failed ${tally.failed})`
          )
        ],
        figures: [
          ["keys", slots.length],
          ["replica copies", replicaSlots],
          ["replica copies on the winner", holdersOnWinner],
          ["copies at other nodes", others],
          ["reads", tally.total]
        ]
      }
    })
}
