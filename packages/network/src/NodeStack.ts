import * as Os from "node:os"
import { Backup, type OpenError } from "@dave/backup"
import { Hasher, type KeyFile, Signer, Verifier, VerifyPool } from "@dave/crypto"
import { PeerOptions, PeerTable } from "@dave/peers"
import { type AddrPort, NodeId } from "@dave/protocol"
import { ShardStore } from "@dave/store"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Layer } from "effect"
import * as DaveNode from "./DaveNode.ts"
import * as SourceGuard from "./SourceGuard.ts"
import type { TransportError } from "./Transport.ts"
import * as UdpTransport from "./UdpTransport.ts"

/**
 * A whole node in one layer: UDP transport, peer table, store, backup, native crypto and the
 * DaveNode on top. The daemon runs one; tests and tools run several in one process.
 */

export interface StackOptions {
  readonly keyPair: KeyFile.KeyPair
  readonly host?: string
  /** 0 = ephemeral. */
  readonly port: number
  readonly edges?: ReadonlyArray<AddrPort>
  readonly capacityBytes: number
  /** Undefined: no backup. */
  readonly backupFile?: string | undefined
  readonly backupFlushIntervalMs?: number
  readonly peers?: PeerTable.MakeOptions
  readonly node?: DaveNode.DaveNodeOptions
  /** Threads verifying PUTs (default: one per core beyond the first, at most 4; 0 = inline). */
  readonly verifyWorkers?: number
  /**
   * A pool to share instead of starting one (`verifyWorkers` is then ignored): many nodes in one
   * process, as in the bench, share its threads rather than start threads each.
   */
  readonly verifyPool?: VerifyPool.VerifyPool["Service"]
}

/** One verification thread per core beyond the one running the node, at most 4. */
export const defaultVerifyWorkers = (): number => Math.max(0, Math.min(4, Os.availableParallelism() - 1))

export type StackServices = DaveNode.DaveNode | DaveNode.Requirements

export type StackError =
  | TransportError
  | PeerOptions.PeerOptionsError
  | ShardStore.StoreOptionsError
  | OpenError
  | KeyFile.InvalidKeyError

const depsOf = (options: StackOptions): Layer.Layer<Exclude<StackServices, DaveNode.DaveNode>, StackError> => {
  const backup =
    options.backupFile === undefined
      ? Backup.layerDisabled
      : Backup.layer({
          path: options.backupFile,
          ...(options.backupFlushIntervalMs === undefined ? {} : { flushIntervalMs: options.backupFlushIntervalMs })
        }).pipe(Layer.provide(NodeFileSystem.layer))
  // The socket's per-source guard sits a fixed factor above the peer table's rate limits, so the
  // loopback limits (tests, simulations) lift it as well.
  const sourceLimits = SourceGuard.abovePeerLimits({ ...PeerOptions.defaults, ...options.peers })
  const pool =
    options.verifyPool === undefined
      ? VerifyPool.layer({ workers: options.verifyWorkers ?? defaultVerifyWorkers() })
      : Layer.succeed(VerifyPool.VerifyPool, options.verifyPool)
  return Layer.provideMerge(
    pool,
    Layer.mergeAll(
      UdpTransport.layer({ host: options.host ?? "::", port: options.port, sourceLimits }),
      PeerTable.layer({ ...options.peers, selfPublicKey: options.keyPair.publicKey }),
      ShardStore.layer({
        capacityBytes: options.capacityBytes,
        nodeId: NodeId.fromPublicKey(options.keyPair.publicKey)
      }),
      backup,
      Signer.layer(options.keyPair),
      Verifier.layer,
      Hasher.layer
    )
  )
}

export const layer = (options: StackOptions): Layer.Layer<StackServices, StackError> =>
  Layer.provideMerge(
    DaveNode.layer({ edges: options.edges ?? [], backup: options.backupFile !== undefined, ...options.node }),
    depsOf(options)
  )
