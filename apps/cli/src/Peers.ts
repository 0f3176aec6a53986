import { AdminApi } from "@dave/client"
import { Effect } from "effect"
import { Command } from "effect/cli"
import * as Failure from "./Failure.ts"
import * as Output from "./Output.ts"
import * as Root from "./Root.ts"
import * as Table from "./Table.ts"

/** `dave peers`: the node's peer table from its admin API, as a table or JSON. */

const yesNo = (b: boolean): string => (b ? "yes" : "-")

export const table = (peers: ReadonlyArray<AdminApi.Peer>, nowMs: number): string =>
  Table.render(
    ["ADDRESS", "NODE ID", "EDGE", "ACTIVE", "VERIFIED", "RELIABILITY", "LAST SEEN"],
    peers.map((p) => [
      p.address,
      p.nodeId === null ? "-" : p.nodeId.toString(),
      yesNo(p.edge),
      yesNo(p.active),
      yesNo(p.verified),
      p.reliability.toFixed(2),
      p.lastSeenMs === null ? "never" : `${Table.duration(nowMs - p.lastSeenMs)} ago`
    ])
  )

export const command = Command.make(
  "peers",
  {},
  Effect.fn(function* () {
    const s = yield* Root.settings
    const client = yield* Root.client(s).pipe(Effect.mapError(Failure.fromClientError))
    const peers = yield* client.peers.pipe(Effect.mapError(Failure.fromClientError))
    if (s.json) return yield* Output.json(AdminApi.encodePeerList({ peers }))
    yield* Output.stdoutLine(peers.length === 0 ? "no peers" : table(peers, Date.now()))
  }, Effect.scoped)
).pipe(Command.withDescription("List the node's peers (from its admin API)"))
