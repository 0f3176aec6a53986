import { KeyFile } from "@dave/crypto"
import { DaveNode, NodeStack } from "@dave/network"
import { PeerOptions } from "@dave/peers"
import { Address } from "@dave/protocol"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, FileSystem } from "effect"
import * as AdminApi from "./AdminApi.ts"
import type { DaemonConfig } from "./DaemonConfig.ts"
import { VERSION } from "./Version.ts"

/**
 * The daemon: a NodeStack wired from a checked DaemonConfig, with the admin API beside it. Runs
 * until interrupted (SIGINT/SIGTERM through NodeRuntime), then logs "stopping" and closes the
 * scope: the admin server closes, the node's fibers (schedules, handlers) stop, every change the
 * store accepted is handed to the backup, which is flushed and closed, the sockets close; then it
 * logs "stopped".
 */
export const run = (config: DaemonConfig) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(config.dataDir, { recursive: true, mode: 0o700 })
    const keyPair = yield* KeyFile.loadOrCreate(config.keyFile)
    const stack = NodeStack.layer({
      keyPair,
      host: config.listenHost,
      port: config.listenPort,
      edges: config.edges,
      capacityBytes: config.capacityBytes,
      backupFile: config.backupFile,
      peers: config.peerLimits === "loopback" ? PeerOptions.loopback : {},
      ...(config.verifyWorkers === undefined ? {} : { verifyWorkers: config.verifyWorkers })
    })
    yield* Effect.gen(function* () {
      const node = yield* DaveNode.DaveNode
      const admin =
        config.admin === undefined
          ? "off"
          : yield* AdminApi.serve({ address: config.admin, version: VERSION, edgesConfigured: config.edges.length })
      yield* Effect.logInfo("listening").pipe(
        Effect.annotateLogs({
          address: Address.toString(node.localAddress),
          nodeId: node.nodeId.toString(),
          publicKey: Buffer.from(node.publicKey).toString("hex"),
          edges: config.edges.map(Address.toString).join(","),
          backup: config.backupFile ?? "off",
          capacityBytes: config.capacityBytes,
          admin,
          version: VERSION
        })
      )
      return yield* Effect.never.pipe(Effect.onInterrupt(() => Effect.logInfo("stopping")))
    }).pipe(
      Effect.scoped,
      Effect.provide(stack),
      Effect.onInterrupt(() => Effect.logInfo("stopped"))
    )
  }).pipe(Effect.provide(NodeFileSystem.layer))
