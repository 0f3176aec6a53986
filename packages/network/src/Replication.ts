import type { PeerTableCore } from "@dave/peers"
import { type AddrPort, Constants, type Entry, NodeId } from "@dave/protocol"

/**
 * Who holds an entry: the FANOUT node IDs closest by XOR to the ID of the entry's author (PROTOCOL
 * 6.1), ourselves included when we are that close. Placement follows the author key, as the
 * reference's, so reference and our nodes agree on replicas.
 */

export type Candidate = PeerTableCore.Candidate

/** The author ID replicas are chosen by. */
export const targetOf = (entry: Entry): bigint => NodeId.fromPublicKey(entry.dat.pubKey)

/** A replica list for the wire: the candidates' IDs, padded with 0 (empty slot) to FANOUT. */
export const replicaIds = (candidates: ReadonlyArray<Candidate>): ReadonlyArray<bigint> => {
  const ids = candidates.slice(0, Constants.FANOUT).map((c) => c.nodeId)
  while (ids.length < Constants.FANOUT) ids.push(0n)
  return ids
}

/** The candidates other than ourselves, as send addresses. */
export const remoteAddrs = (candidates: ReadonlyArray<Candidate>): ReadonlyArray<AddrPort> =>
  candidates.flatMap((c) => (c.self || c.addr === undefined ? [] : [c.addr]))

/** Whether two replica lists name the same IDs (order ignored, empty slots ignored). */
export const sameReplicas = (a: ReadonlyArray<bigint>, b: ReadonlyArray<bigint>): boolean => {
  const set = new Set(a.filter((id) => id !== 0n))
  const other = b.filter((id) => id !== 0n)
  return set.size === new Set(other).size && other.every((id) => set.has(id))
}

/** Candidates whose ID is not in `replicas`: the ones a holder must bring the entry to. */
export const newcomers = (candidates: ReadonlyArray<Candidate>, replicas: ReadonlyArray<bigint>) =>
  // A scan of the FANOUT IDs: a Set of bigints cost more to build than it saves (every stored PUT).
  candidates.filter((c) => {
    for (const id of replicas) if (id === c.nodeId) return false
    return true
  })
