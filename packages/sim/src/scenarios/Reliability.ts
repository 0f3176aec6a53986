import { Effect } from "effect"
import { check, defaultParams, type Scenario } from "../Scenario.ts"
import type { SimNode } from "../SimNode.ts"
import * as Steps from "../Steps.ts"

const FAULTY_SHARE = 0.2
/** Rounds of writes (each offers challenges) before the judgement; short of the 10-minute ban. */
const ROUNDS = 8
const ROUND_GAP_MS = 20_000
/** A faulty node's store: too small for any entry, so it accepts PUTs and keeps nothing. */
const FAULTY_CAPACITY_BYTES = 1

/**
 * Nodes that fail storage challenges lose reliability and stop being chosen: a fifth of the nodes
 * take PUTs but keep nothing (a store too small for any entry). Every PUT to a replica records a
 * storage challenge (probability 1 here, so the test needs few writes). After some writes, the
 * faulty nodes must have a negative score, or be dropped, in every honest table, and the writes
 * made afterwards must rarely name them as replicas.
 */
export const reliability: Scenario = {
  name: "reliability",
  description:
    "a fifth of the nodes keep nothing; they fail storage challenges, lose reliability and stop being chosen",
  defaultNodes: 40,
  params: (s) => {
    const base = defaultParams(s)
    return { ...base, peers: { ...base.peers, storageChallengeProbability: 1 } }
  },
  maxVirtualMs: (s) => (60 + s.virtualMinutes) * 60_000,
  run: (world, settings) =>
    Effect.gen(function* () {
      const faultyCount = Math.max(1, Math.round(FAULTY_SHARE * settings.nodes))
      const bootstrap = world.params.bootstrapCount
      // The faulty nodes are the last ones (never bootstrap nodes).
      const isFaultyIndex = (index: number) => index >= settings.nodes - faultyCount && index >= bootstrap
      const formed = yield* Steps.formNetwork(world, settings.nodes, {
        setup: (index) => (isFaultyIndex(index) ? { capacityBytes: FAULTY_CAPACITY_BYTES } : {})
      })
      const faulty = formed.nodes.filter((n) => isFaultyIndex(n.index))
      const honest = formed.nodes.filter((n) => !isFaultyIndex(n.index))
      const faultyIds = new Set(faulty.map((n) => n.nodeId))

      for (let round = 0; round < ROUNDS; round++) {
        yield* Steps.writeEntries(world, 3 * settings.nodes, { authors: 3 * settings.nodes, prefix: `r${round}-` })
        yield* world.sleep(ROUND_GAP_MS)
      }
      const scores = observe(honest, faultyIds)
      const later = yield* Steps.writeEntries(world, 2 * settings.nodes, {
        authors: 2 * settings.nodes,
        prefix: "late-"
      })
      const replicaSlots = later.reduce((sum, w) => sum + w.replicas.length, 0)
      const chosenFaulty = later.reduce((sum, w) => sum + w.replicas.filter((id) => faultyIds.has(id)).length, 0)
      yield* world.sleep(settings.virtualMinutes * 60_000)
      const expectedShare = faulty.length / formed.nodes.length
      const chosenShare = replicaSlots === 0 ? 0 : chosenFaulty / replicaSlots
      const failed = honest.reduce((sum, n) => sum + n.stack.peers.core.total("challenges:failed"), 0)
      return {
        checks: [
          check(
            "network forms",
            formed.formedAfterMs !== undefined,
            `formed after ${formed.formedAfterMs ?? "never"} ms`
          ),
          check("faulty nodes fail challenges", failed > 0, `${failed} storage challenges failed`),
          check(
            "faulty nodes lose reliability",
            scores.challengedTrusted === 0 && scores.challenged + scores.faultyDropped > 0,
            `${scores.challengedTrusted} of ${scores.challenged} honest tables that challenged a faulty peer still score it >= 0;` +
              ` ${scores.faultyDropped} of ${scores.faultyKnown} (honest, faulty) pairs dropped`
          ),
          check(
            "faulty nodes stop being chosen",
            chosenShare <= expectedShare / 4,
            `faulty nodes got ${Steps.percent(chosenFaulty, replicaSlots)} of the replica slots of later writes` +
              ` (${Steps.percent(faulty.length, formed.nodes.length)} of the nodes; allowed: a quarter of that)`
          )
        ],
        figures: [
          ["faulty nodes", faulty.length],
          ["challenges failed", failed],
          ["faulty peers' mean score", scores.faultyMean.toFixed(2)],
          ["honest peers' mean score", scores.honestMean.toFixed(2)],
          ["later writes' replica slots to faulty nodes", Steps.percent(chosenFaulty, replicaSlots)]
        ]
      }
    })
}

interface Scores {
  readonly faultyKnown: number
  /** (honest, faulty) pairs in a table where the faulty peer failed a challenge. */
  readonly challenged: number
  /** Of those, the ones still scored >= 0. */
  readonly challengedTrusted: number
  readonly faultyDropped: number
  readonly faultyMean: number
  readonly honestMean: number
}

/** How the honest nodes' tables score the faulty and the honest peers. */
const observe = (honest: ReadonlyArray<SimNode>, faultyIds: ReadonlySet<bigint>): Scores => {
  const faultyScores: Array<number> = []
  const honestScores: Array<number> = []
  let faultyKnown = 0
  let challenged = 0
  let challengedTrusted = 0
  for (const node of honest) {
    if (!node.running) continue
    const views = node.stack.peers.core.snapshot(node.clock.currentTimeMillisUnsafe())
    for (const v of views) {
      if (v.nodeId === undefined) continue
      if (faultyIds.has(v.nodeId)) {
        faultyScores.push(v.reliability)
        if (v.challengesFailed > 0) {
          challenged++
          if (v.reliability >= 0) challengedTrusted++
        }
      } else honestScores.push(v.reliability)
    }
    faultyKnown += faultyIds.size
  }
  return {
    faultyKnown,
    challenged,
    challengedTrusted,
    faultyDropped: faultyKnown - faultyScores.length,
    faultyMean: Steps.mean(faultyScores),
    honestMean: Steps.mean(honestScores)
  }
}
