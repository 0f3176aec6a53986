import { Effect, Option, Schema } from "effect"
import { HttpClient, HttpClientResponse } from "effect/http"
import * as ClientError from "./ClientError.ts"

/**
 * The daemon's admin HTTP API (loopback only): the JSON shapes of `GET /status` and `GET /peers`,
 * decoded with Schema (node IDs from decimal strings to bigint, keys from hex to bytes), and the
 * requests themselves. Fields the daemon adds later are ignored, so older clients keep working.
 */

export const DEFAULT_URL = "http://127.0.0.1:1620"

/** The most bytes of JSON read from one answer (a full peer table is well under 100 KiB). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const Millis = Schema.Finite

export const Status = Schema.Struct({
  version: Schema.String,
  nodeId: Schema.BigIntFromString,
  publicKey: Schema.Uint8ArrayFromHex,
  /** The UDP address the node listens on. */
  address: Schema.String,
  /** Its public address as an edge reported it, if known. */
  ownAddress: Schema.NullOr(Schema.String),
  peers: Schema.Struct({ active: Count, total: Count }),
  store: Schema.Struct({ entries: Count, usedBytes: Count, capacityBytes: Count }),
  uptimeMs: Millis
})
export type Status = typeof Status.Type

export const Peer = Schema.Struct({
  address: Schema.String,
  nodeId: Schema.NullOr(Schema.BigIntFromString),
  publicKey: Schema.NullOr(Schema.Uint8ArrayFromHex),
  edge: Schema.Boolean,
  active: Schema.Boolean,
  verified: Schema.Boolean,
  reliability: Schema.Finite,
  /** Unix ms of the last answer, or null if it never answered. */
  lastSeenMs: Schema.NullOr(Millis),
  /** Unix ms when it entered the table. */
  addedMs: Millis
})
export type Peer = typeof Peer.Type

export const PeerList = Schema.Struct({ peers: Schema.Array(Peer) })
export type PeerList = typeof PeerList.Type

/** The JSON form of a decoded status or peer list: exactly the shape the daemon serves. */
export const encodeStatus: (status: Status) => typeof Status.Encoded = Schema.encodeSync(Status)
export const encodePeerList: (list: PeerList) => typeof PeerList.Encoded = Schema.encodeSync(PeerList)

/**
 * The admin API's base URL from `http://host:port`, `https://…`, or a bare `host:port` /
 * `[v6]:port` (as the daemon's `--admin` flag takes it).
 */
export const parseUrl = (text: string): Option.Option<URL> => {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`
  if (!URL.canParse(withScheme)) return Option.none()
  const url = new URL(withScheme)
  if (url.protocol !== "http:" && url.protocol !== "https:") return Option.none()
  if (url.hostname === "") return Option.none()
  return Option.some(url)
}

const describe = (base: URL): string => base.origin

/** GET `path` under `base` and decode the JSON answer with `schema`, within `timeoutMs`. */
export const fetchJson = <S extends Schema.Decoder<unknown>>(
  base: URL,
  path: string,
  schema: S,
  timeoutMs: number
): Effect.Effect<S["Type"], ClientError.ClientError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const url = new URL(path, base)
    const response = yield* HttpClient.get(url).pipe(
      Effect.mapError((e) => ClientError.unreachable(`admin API at ${describe(base)} is not reachable: ${e.message}`))
    )
    if (response.status < 200 || response.status > 299) {
      return yield* ClientError.badResponse(`admin API ${url.pathname} answered HTTP ${response.status}`)
    }
    const length = Number(response.headers["content-length"] ?? "0")
    if (length > MAX_BODY_BYTES) {
      return yield* ClientError.badResponse(`admin API ${url.pathname} answer is too large (${length} bytes)`)
    }
    return yield* HttpClientResponse.schemaBodyJson(schema)(response).pipe(
      Effect.mapError((e) =>
        ClientError.badResponse(`admin API ${url.pathname} answered unexpected JSON: ${e.message}`)
      )
    )
  }).pipe(
    Effect.timeoutOrElse({
      duration: timeoutMs,
      orElse: () =>
        Effect.fail(ClientError.timeout(`admin API at ${describe(base)} did not answer within ${timeoutMs} ms`))
    })
  )

export const status = (
  base: URL,
  timeoutMs: number
): Effect.Effect<Status, ClientError.ClientError, HttpClient.HttpClient> =>
  fetchJson(base, "/status", Status, timeoutMs)

export const peers = (
  base: URL,
  timeoutMs: number
): Effect.Effect<ReadonlyArray<Peer>, ClientError.ClientError, HttpClient.HttpClient> =>
  Effect.map(fetchJson(base, "/peers", PeerList, timeoutMs), (list) => list.peers)
