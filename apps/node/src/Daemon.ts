import { Backup } from "@dave/backup"
import { Hasher, KeyFile, Signer, Verifier } from "@dave/crypto"
import { DaveNode, UdpTransport } from "@dave/network"
import { PeerOptions, PeerTable } from "@dave/peers"
import { Address, NodeId } from "@dave/protocol"
import { ShardStore } from "@dave/store"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, FileSystem, Layer } from "effect"
import type { DaemonConfig } from "./DaemonConfig.ts"

/**
 * The daemon: every layer of a node wired from a checked DaemonConfig. Runs until interrupted
 * (SIGINT/SIGTERM through NodeRuntime), then closes the node's scope, which stops its fibers,
 * flushes and closes the backup, and closes the sockets.
 */

const layer = (config: DaemonConfig, keyPair: KeyFile.KeyPair) => {
  const nodeId = NodeId.fromPublicKey(keyPair.publicKey)
  const peerOptions = config.peerLimits === "loopback" ? PeerOptions.loopback : {}
  const backup =
    config.backupFile === undefined
      ? Backup.layerDisabled
      : Backup.layer({ path: config.backupFile }).pipe(Layer.provide(NodeFileSystem.layer))
  const deps = Layer.mergeAll(
    UdpTransport.layer({ host: config.listenHost, port: config.listenPort }),
    PeerTable.layer({ ...peerOptions, selfPublicKey: keyPair.publicKey }),
    ShardStore.layer({ capacityBytes: config.capacityBytes, nodeId }),
    backup,
    Signer.layer(keyPair),
    Verifier.layer,
    Hasher.layer
  )
  return Layer.provideMerge(DaveNode.layer({ edges: config.edges }), deps)
}

export const run = (config: DaemonConfig) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(config.dataDir, { recursive: true })
    const keyPair = yield* KeyFile.loadOrCreate(config.keyFile)
    yield* Effect.gen(function* () {
      const node = yield* DaveNode.DaveNode
      yield* Effect.logInfo("listening").pipe(
        Effect.annotateLogs({
          address: Address.toString(node.localAddress),
          nodeId: node.nodeId.toString(),
          publicKey: Buffer.from(node.publicKey).toString("hex"),
          edges: config.edges.map(Address.toString).join(","),
          backup: config.backupFile ?? "off",
          capacityBytes: config.capacityBytes
        })
      )
      return yield* Effect.never
    }).pipe(Effect.provide(layer(config, keyPair)))
  }).pipe(Effect.provide(NodeFileSystem.layer))
