/**
 * The Dave daemon entry point. For now it binds the node's dual-stack UDP socket, logs that it is
 * listening, and decodes what arrives (the running node is built on top of this).
 */
import * as NodeDatagramSocket from "@effect/platform-node/NodeDatagramSocket"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Codec } from "@dave/protocol"
import { Config, Effect, Layer, Logger, Result } from "effect"

const DEFAULT_PORT = 1618

const ListenConfig = Config.all({
  host: Config.String("DAVE_HOST").pipe(Config.withDefault("::")),
  port: Config.Port("DAVE_PORT").pipe(Config.withDefault(DEFAULT_PORT))
})

const program = Effect.gen(function* () {
  const { host, port } = yield* ListenConfig
  const socket = yield* NodeDatagramSocket.make({
    bind: { address: host, port },
    family: "ipv6",
    ipv6Only: false,
    kernelReceiveBufferSize: 4 * 1024 * 1024
  })
  const reader = yield* socket.reader
  yield* Effect.logInfo("listening").pipe(
    Effect.annotateLogs({ host, port: reader.address.port })
  )
  return yield* Effect.forever(
    Effect.gen(function* () {
      for (const datagram of yield* reader.pull) {
        const message = Codec.decode(datagram.payload)
        if (Result.isFailure(message)) {
          yield* Effect.logDebug("dropped malformed datagram").pipe(Effect.annotateLogs({ reason: message.failure.message }))
        }
      }
    })
  )
}).pipe(Effect.scoped)

const LoggerLive = Logger.layer([Logger.withConsoleError(Logger.formatJson)])

program.pipe(Effect.provide(Layer.mergeAll(LoggerLive)), NodeRuntime.runMain)
