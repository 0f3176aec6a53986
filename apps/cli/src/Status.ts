import { AdminApi } from "@dave/client"
import { Effect } from "effect"
import { Command } from "effect/cli"
import * as Failure from "./Failure.ts"
import * as Output from "./Output.ts"
import * as Root from "./Root.ts"
import * as Table from "./Table.ts"

/** `dave status`: the node's status from its admin API, as a table or JSON. */

export const table = (status: AdminApi.Status): string =>
  Table.renderPairs([
    ["version", status.version],
    ["node ID", status.nodeId.toString()],
    ["public key", Buffer.from(status.publicKey).toString("hex")],
    ["address", status.address],
    ["own address", status.ownAddress ?? "unknown"],
    ["peers", `${status.peers.active} active, ${status.peers.total} known`],
    [
      "store",
      `${status.store.entries} entries, ${Table.bytes(status.store.usedBytes)} of ${Table.bytes(status.store.capacityBytes)}`
    ],
    ["uptime", Table.duration(status.uptimeMs)]
  ])

export const command = Command.make(
  "status",
  {},
  Effect.fn(function* () {
    const s = yield* Root.settings
    const client = yield* Root.client(s).pipe(Effect.mapError(Failure.fromClientError))
    const status = yield* client.status.pipe(Effect.mapError(Failure.fromClientError))
    if (s.json) return yield* Output.json(AdminApi.encodeStatus(status))
    yield* Output.stdoutLine(table(status))
  }, Effect.scoped)
).pipe(Command.withDescription("Show the node's status (from its admin API)"))
