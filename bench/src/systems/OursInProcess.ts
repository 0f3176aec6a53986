import { Hasher, KeyFile, Verifier, VerifyPool } from "@dave/crypto"
import { DaveNode, NodeStack } from "@dave/network"
import { PeerOptions } from "@dave/peers"
import { Context, Effect, Exit, Layer, References, Scope } from "effect"
import { growthSince, settledMemory } from "../Rss.ts"
import { startClients } from "./OursClient.ts"
import { formationText, ownCpuMs, type Start, waitUntil } from "./System.ts"

/**
 * Ours, N full nodes in this process (NodeStack each: UDP on 127.0.0.1, peer table with the
 * loopback limits, store, no backup; the nodes share one VerifyPool with the daemon's default number
 * of threads, rather than start threads each), the first the edge of all others; written and read
 * through two light nodes.
 */

const CAPACITY_BYTES = 64 * 1024 * 1024
/** Once the nodes are up, the longest wait for the two clients to see them all. */
const CLIENTS_LIMIT_MS = 20_000

const workers = NodeStack.defaultVerifyWorkers()
const NOTES: ReadonlyArray<string> = [
  `in one process, its nodes sharing ${workers} verify worker thread${workers === 1 ? "" : "s"}`,
  "through two light nodes"
]

/** Our defaults throughout, but for the loopback limits (many nodes on one IP address). */
export const start: Start = async (count, config, log) => {
  const baseline = settledMemory()
  const scope = Effect.runSync(Scope.make())
  const verifyPool = await Effect.runPromise(
    VerifyPool.make({ workers, eager: true }).pipe(
      Effect.provide(Layer.merge(Hasher.layer, Verifier.layer)),
      Scope.provide(scope)
    )
  )
  const startNode = (edges: ReadonlyArray<DaveNode.DaveNodeShape["localAddress"]>) =>
    Effect.gen(function* () {
      const keyPair = yield* KeyFile.generate()
      const stack = NodeStack.layer({
        keyPair,
        host: "127.0.0.1",
        port: 0,
        edges,
        capacityBytes: CAPACITY_BYTES,
        verifyPool,
        peers: PeerOptions.loopback
      })
      const context = yield* Layer.buildWithScope(stack, scope)
      return Context.get(context, DaveNode.DaveNode)
    }).pipe(Effect.orDie, Effect.provideService(References.MinimumLogLevel, "Warn"))

  const startedAt = performance.now()
  const first = await Effect.runPromise(startNode([]))
  const nodes = [first]
  for (let i = 1; i < count; i++) nodes.push(await Effect.runPromise(startNode([first.localAddress])))
  log(`  ${count} nodes up in ${Math.round(performance.now() - startedAt)} ms`)
  const actives = () => Effect.runPromise(Effect.forEach(nodes, (n) => Effect.map(n.status, (s) => s.peersActive)))
  const formed = await waitUntil(async () => Math.min(...(await actives())) >= count - 1, config.formLimitMs, 500)
  const counts = await actives()
  const formedMs = Math.round(performance.now() - startedAt)
  const clients = await startClients(
    nodes[1]!.localAddress,
    nodes[Math.floor(count / 2)]!.localAddress,
    count,
    config,
    CLIENTS_LIMIT_MS
  )
  const formation = formationText("node", formed, formedMs, counts, clients.formation)
  log(`  ${formation}`)
  return {
    formed: formed && clients.ready,
    formation,
    notes: NOTES,
    target: clients.target,
    outcomes: clients.outcomes,
    memory: () => growthSince(baseline),
    cpuMs: ownCpuMs,
    close: async () => {
      await clients.close()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}
