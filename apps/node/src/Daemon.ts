import { KeyFile } from "@dave/crypto"
import { DaveNode, NodeStack } from "@dave/network"
import { PeerOptions } from "@dave/peers"
import { Address } from "@dave/protocol"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, FileSystem } from "effect"
import type { DaemonConfig } from "./DaemonConfig.ts"

/**
 * The daemon: a NodeStack wired from a checked DaemonConfig. Runs until interrupted (SIGINT/SIGTERM
 * through NodeRuntime), then closes the node's scope, which stops its fibers, flushes and closes the
 * backup, and closes the sockets.
 */
export const run = (config: DaemonConfig) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(config.dataDir, { recursive: true })
    const keyPair = yield* KeyFile.loadOrCreate(config.keyFile)
    const stack = NodeStack.layer({
      keyPair,
      host: config.listenHost,
      port: config.listenPort,
      edges: config.edges,
      capacityBytes: config.capacityBytes,
      backupFile: config.backupFile,
      peers: config.peerLimits === "loopback" ? PeerOptions.loopback : {}
    })
    yield* Effect.gen(function* () {
      const node = yield* DaveNode.DaveNode
      yield* Effect.addFinalizer(() => Effect.logInfo("stopping"))
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
    }).pipe(Effect.scoped, Effect.provide(stack))
  }).pipe(Effect.provide(NodeFileSystem.layer))
