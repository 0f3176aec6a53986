import { Hasher, Signer, Verifier, VerifyPool } from "@dave/crypto"
import { DaveNode, Transport } from "@dave/network"
import { type PeerOptions, PeerTable } from "@dave/peers"
import { type AddrPort, NodeId } from "@dave/protocol"
import { ShardStore } from "@dave/store"
import { Clock, Context, Effect, Exit, Layer, Random, Scope } from "effect"
import type { EventLoop } from "./EventLoop.ts"
import type { Prng } from "./Prng.ts"
import * as SimBackup from "./SimBackup.ts"
import { BackupDisk } from "./SimBackup.ts"
import * as SimCrypto from "./SimCrypto.ts"
import type { SimNetwork } from "./SimNetwork.ts"
import type { SimParams } from "./SimParams.ts"
import type { VirtualClock } from "./VirtualClock.ts"

/**
 * One simulated node: a fixed identity (key seed, address, clock, random stream, backup disk) and,
 * while it runs, a whole DaveNode stack on the in-memory network, built in a scope of its own so
 * that a crash can tear it down. Its fibers run with its own clock (which may be skewed) and
 * random stream; the node's methods are run the same way (`run`), so a scenario calling
 * `put` draws from the node's stream, not the scenario's.
 */

export interface NodeStack {
  readonly node: DaveNode.DaveNodeShape
  readonly peers: PeerTable.PeerTable["Service"]
  readonly store: ShardStore.ShardStore["Service"]
  readonly transport: Transport.Transport["Service"]
  readonly scope: Scope.Closeable
}

export interface NodeSetup {
  /** Default: `addressOf(index)`. */
  readonly address?: AddrPort
  readonly edges: ReadonlyArray<AddrPort>
  readonly peers?: Partial<PeerOptions.PeerOptions>
  readonly node?: DaveNode.DaveNodeOptions
  readonly capacityBytes?: number
  /** How far this node's clock is ahead of virtual time (negative: behind); default 0. */
  readonly skewMs?: number
}

export interface Environment {
  readonly loop: EventLoop
  readonly network: SimNetwork
  readonly crypto: SimCrypto.SimCrypto
  readonly params: SimParams
}

/** Most records a node's backup disk holds. */
const DISK_RECORDS = 1_000_000
const PORT = 7000

/**
 * The address of node `index`: fd5a:XXXX:XX00::1 (an IPv6 unique-local address) with the index in
 * bytes 2–4, so every node has its own IP and its own /48, as independent operators would.
 */
export const addressOf = (index: number): AddrPort => {
  if (!Number.isSafeInteger(index) || index < 0 || index >= 1 << 24) throw new RangeError(`node index ${index}`)
  const ip = new Uint8Array(16)
  ip[0] = 0xfd
  ip[1] = 0x5a
  ip[2] = (index >>> 16) & 0xff
  ip[3] = (index >>> 8) & 0xff
  ip[4] = index & 0xff
  ip[15] = 1
  return { ip, port: PORT }
}

export class SimNode {
  readonly index: number
  readonly address: AddrPort
  readonly seed: Uint8Array
  readonly publicKey: Uint8Array
  readonly nodeId: bigint
  readonly clock: VirtualClock
  readonly random: Prng
  readonly disk: BackupDisk
  readonly setup: NodeSetup
  readonly #signer: Signer.Signer["Service"]
  #stack: NodeStack | undefined = undefined
  starts = 0

  constructor(options: {
    readonly index: number
    readonly address: AddrPort
    readonly seed: Uint8Array
    readonly signer: Signer.Signer["Service"]
    readonly clock: VirtualClock
    readonly random: Prng
    readonly setup: NodeSetup
  }) {
    this.index = options.index
    this.address = options.address
    this.seed = options.seed
    this.#signer = options.signer
    this.publicKey = options.signer.publicKey
    this.nodeId = NodeId.fromPublicKey(this.publicKey)
    this.clock = options.clock
    this.random = options.random
    this.setup = options.setup
    this.disk = new BackupDisk(`sim:node-${options.index}`, DISK_RECORDS)
  }

  get running(): boolean {
    return this.#stack !== undefined
  }

  /** The running stack; dies if the node is down (a scenario bug). */
  get stack(): NodeStack {
    if (this.#stack === undefined) throw new Error(`bug: node ${this.index} is not running`)
    return this.#stack
  }

  /** Runs `effect` as this node would: its clock, its random stream. */
  run<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return effect.pipe(
      Effect.provideService(Clock.Clock, this.clock),
      Effect.provideService(Random.Random, this.random)
    )
  }

  /** Starts the stack (restoring the backup disk, empty unless kept from an earlier run). */
  start(env: Environment): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      if (this.#stack !== undefined) return
      env.network.up(this.address)
      const scope = yield* Scope.make()
      const params = env.params
      const cryptoLayer = Layer.mergeAll(
        Layer.succeed(Verifier.Verifier, env.crypto.verifier),
        Layer.succeed(Hasher.Hasher, env.crypto.hasher)
      )
      const layer = Layer.provideMerge(
        DaveNode.layer({ ...params.node, ...this.setup.node, edges: this.setup.edges }),
        Layer.mergeAll(
          Layer.succeed(Transport.Transport, env.network.transport(this.address)),
          // No effect Metrics for the table: the simulation reads the core directly.
          PeerTable.layerTest({ ...params.peers, ...this.setup.peers, selfPublicKey: this.publicKey, metrics: false }),
          ShardStore.layer({
            capacityBytes: this.setup.capacityBytes ?? params.capacityBytes,
            nodeId: this.nodeId,
            pruneEveryMs: params.storePruneEveryMs
          }),
          SimBackup.layer(this.disk),
          Layer.succeed(Signer.Signer, this.#signer),
          cryptoLayer,
          // Verification inline: worker threads would answer in real time, outside the simulation.
          Layer.succeed(VerifyPool.VerifyPool, SimCrypto.inlineVerifyPool(env.crypto))
        )
      )
      const context = yield* this.run(Layer.buildWithScope(layer, scope)).pipe(Effect.orDie)
      this.#stack = {
        node: Context.get(context, DaveNode.DaveNode),
        peers: Context.get(context, PeerTable.PeerTable),
        store: Context.get(context, ShardStore.ShardStore),
        transport: Context.get(context, Transport.Transport),
        scope
      }
      this.starts++
    })
  }

  /** Crashes the node: its host goes down at once, its fibers stop, its memory is gone. */
  crash(env: Environment): Effect.Effect<void> {
    return Effect.suspend(() => {
      const stack = this.#stack
      if (stack === undefined) return Effect.void
      this.#stack = undefined
      env.network.down(this.address)
      return this.run(Scope.close(stack.scope, Exit.void))
    })
  }
}
