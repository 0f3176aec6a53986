/**
 * An Effect app on a Dave network, using @dave/client as any outside project would: it writes a
 * value under its author key, reads it back through the network, and shows the node's status.
 *
 *   DAVE_NODE=[::1]:1618 DAVE_KEY_FILE=./author.key pnpm start
 *
 * DAVE_NODE names the node to join through (UDP); DAVE_ADMIN its admin API (status); DAVE_KEY_FILE
 * the author key, created if missing (without it, a fresh key is used for this run).
 */
import { DaveClient, KeyFile } from "@dave/client"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Config, Console, Effect, Layer, Option } from "effect"

const program = Effect.gen(function* () {
  const client = yield* DaveClient.DaveClient
  const author = Option.getOrThrow(client.authorPublicKey)
  const key = `example/${new Date().toISOString()}`

  const put = yield* client.put({ key, value: "hello from an Effect app", difficulty: 12 })
  yield* Console.log(`stored "${key}" on ${put.replicas} of ${put.sentTo.length} replicas (${put.workHashes} hashes)`)

  const got = yield* client.get(author, key)
  yield* Option.match(got, {
    onNone: () => Console.log("not found (yet)"),
    onSome: (entry) => Console.log(`read back: ${new TextDecoder().decode(entry.dat.value)}`)
  })

  // The admin API is optional: report, do not fail, when it is not there.
  yield* client.status.pipe(
    Effect.flatMap((s) => Console.log(`node ${s.nodeId}: ${s.peers.active} active peers, ${s.store.entries} entries`)),
    Effect.catchTag("ClientError", (e) => Console.log(`no status: ${e.message}`))
  )
})

/** Without DAVE_KEY_FILE, a key for this run only; everything else from the environment. */
const ClientLive = Layer.unwrap(
  Effect.map(Config.option(Config.String("DAVE_KEY_FILE")), (keyFile) =>
    Option.isSome(keyFile)
      ? DaveClient.layerConfig()
      : Layer.unwrap(Effect.map(KeyFile.generate(), (authorKey) => DaveClient.layerConfig({ authorKey })))
  )
)

program.pipe(Effect.provide(ClientLive.pipe(Layer.provide(NodeServices.layer))), NodeRuntime.runMain)
