import { Backup } from "@dave/backup"
import { DatSigning, Hasher, KeyFile, Signer, Verifier, VerifyPool, Work } from "@dave/crypto"
import { DaveNode, NodeStack, SourceGuard, UdpTransport } from "@dave/network"
import { PeerOptions, PeerTable } from "@dave/peers"
import { Address, type AddrPort, type Message, NodeId } from "@dave/protocol"
import { ShardStore } from "@dave/store"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Context, Effect, Layer, type Scope } from "effect"

/** Test helpers: real nodes on ::1 in this process, each with its own sockets and layers. */

export interface TestNode {
  readonly node: DaveNode.DaveNodeShape
  readonly peers: PeerTable.PeerTable["Service"]
  readonly store: ShardStore.ShardStore["Service"]
  readonly seed: Uint8Array
  readonly address: AddrPort
}

export interface StartOptions {
  readonly seed: Uint8Array
  readonly port?: number
  readonly edges?: ReadonlyArray<AddrPort>
  readonly backupPath?: string
  readonly capacityBytes?: number
  readonly node?: DaveNode.DaveNodeOptions
  readonly peers?: PeerTable.MakeOptions
  /** Wraps the node's store, e.g. to slow its writes down. */
  readonly wrapStore?: (store: ShardStore.ShardStore["Service"]) => ShardStore.ShardStore["Service"]
}

/** A seed whose first byte is `n` (so node IDs differ in their low byte). */
export const seedOf = (n: number): Uint8Array =>
  Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? n : (n * 7 + i) & 0xff))

export const publicKeyOf = (seed: Uint8Array): Effect.Effect<Uint8Array> =>
  Effect.map(Effect.orDie(Signer.makeNative(seed)), (s) => s.publicKey)

export const startNode = (options: StartOptions): Effect.Effect<TestNode, never, Scope.Scope> =>
  Effect.gen(function* () {
    const publicKey = yield* publicKeyOf(options.seed)
    const backupLayer =
      options.backupPath === undefined
        ? Backup.layerDisabled
        : Backup.layer({ path: options.backupPath, flushIntervalMs: 100 }).pipe(Layer.provide(NodeFileSystem.layer))
    const base = Layer.mergeAll(
      // Every node on ::1, with the peer table's loopback limits: the socket's guard is lifted too.
      UdpTransport.layer({ host: "::1", port: options.port ?? 0, sourceLimits: SourceGuard.unlimited }),
      PeerTable.layerTest({
        selfPublicKey: publicKey,
        metricAttributes: { node: String(options.seed[0]) },
        ...options.peers
      }),
      Layer.effect(
        ShardStore.ShardStore,
        Effect.map(
          ShardStore.make({
            capacityBytes: options.capacityBytes ?? 64 * 1024 * 1024,
            nodeId: NodeId.fromPublicKey(publicKey)
          }),
          options.wrapStore ?? ((store) => store)
        )
      ),
      backupLayer,
      Signer.layerNative(options.seed),
      Verifier.layerNative(),
      Hasher.layerWasm
    )
    const deps = Layer.provideMerge(VerifyPool.layer({ workers: 1 }), base)
    const layer = Layer.provideMerge(DaveNode.layer({ edges: options.edges ?? [], ...options.node }), deps)
    const context = yield* Layer.build(Layer.fresh(layer)).pipe(Effect.orDie)
    const node = Context.get(context, DaveNode.DaveNode)
    return {
      node,
      peers: Context.get(context, PeerTable.PeerTable),
      store: Context.get(context, ShardStore.ShardStore),
      seed: options.seed,
      address: node.localAddress
    }
  })

/** An eager VerifyPool with one worker thread, once the worker has loaded. */
export const loadedPool = (options: { readonly minWorkerBatch?: number } = {}) =>
  Effect.gen(function* () {
    const pool = yield* VerifyPool.make({ workers: 1, eager: true, ...options }).pipe(
      Effect.provide(Layer.merge(Hasher.layer, Verifier.layer))
    )
    yield* eventually(
      "the pool's worker loads",
      20_000,
      Effect.sync(() => pool.workers() === 1)
    )
    return pool
  })

/**
 * `pool` counting which way the dats of the nodes using it went: checked at once on the node's thread
 * (`atOnce`), or queued for the pool (`queued`).
 */
export const countingPool = (pool: VerifyPool.VerifyPool["Service"]) => {
  const counts = { atOnce: 0, queued: 0 }
  const counting = VerifyPool.VerifyPool.of({
    ...pool,
    check: (dats, options) => {
      counts.queued += dats.length
      return pool.check(dats, options)
    },
    checkHere: (dat, options) => {
      const verdict = pool.checkHere(dat, options)
      if (verdict !== undefined) counts.atOnce++
      return verdict
    }
  })
  return { pool: counting, counts }
}

/** A NodeStack (as the daemon builds one) on ::1 with the loopback limits, verifying on `verifyPool`. */
export const startStack = (
  seed: Uint8Array,
  verifyPool: VerifyPool.VerifyPool["Service"],
  edges: ReadonlyArray<AddrPort>
): Effect.Effect<
  { readonly node: DaveNode.DaveNodeShape; readonly store: ShardStore.ShardStore["Service"] },
  never,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const keyPair = yield* Effect.orDie(KeyFile.fromSeed(seed))
    const context = yield* Layer.build(
      NodeStack.layer({
        keyPair,
        host: "::1",
        port: 0,
        edges,
        capacityBytes: 1 << 20,
        verifyPool,
        peers: { ...PeerOptions.loopback, activateAfterMs: 0 }
      })
    ).pipe(Effect.orDie)
    return { node: Context.get(context, DaveNode.DaveNode), store: Context.get(context, ShardStore.ShardStore) }
  })

/** Starts `count` nodes; node 0 is every other node's edge. */
export const startCluster = (
  count: number,
  options: Omit<StartOptions, "seed" | "edges"> = {}
): Effect.Effect<ReadonlyArray<TestNode>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const first = yield* startNode({ ...options, seed: seedOf(1) })
    const rest = yield* Effect.forEach(
      Array.from({ length: count - 1 }, (_, i) => i + 2),
      (n) => startNode({ ...options, seed: seedOf(n), edges: [first.address] })
    )
    return [first, ...rest]
  })

/** Polls `check` every 100 ms until it holds or `timeoutMs` passes. */
export const eventually = <E, R>(
  what: string,
  timeoutMs: number,
  check: Effect.Effect<boolean, E, R>
): Effect.Effect<void, E | Error, R> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (yield* check) return
      yield* Effect.sleep(100)
    }
    return yield* Effect.fail(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`))
  })

/** Whether every node sees all the others active. */
export const fullyConnected = (nodes: ReadonlyArray<TestNode>) =>
  Effect.map(
    Effect.forEach(nodes, (n) => n.peers.active),
    (actives) => actives.every((a) => a.length >= nodes.length - 1)
  )

/** A signed dat by the author `seed`, with the minimum work. */
export const signedDat = (seed: Uint8Array, key: string, value: string, timeMs: number): Effect.Effect<Message.Dat> =>
  DatSigning.signDat({
    key: new TextEncoder().encode(key),
    value: new TextEncoder().encode(value),
    timeMs,
    difficulty: 8
  }).pipe(
    Effect.provide(
      Layer.mergeAll(Signer.layerNative(seed), Work.layerSingleThread).pipe(Layer.provideMerge(Hasher.layerWasm))
    ),
    Effect.orDie
  )

export const addrString = Address.toString
