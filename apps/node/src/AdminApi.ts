import * as Http from "node:http"
import { DaveNode } from "@dave/network"
import { PeerTable, type PeerTableCore } from "@dave/peers"
import { Address } from "@dave/protocol"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Data, Effect, Metric, type Scope } from "effect"
import { HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { type AdminAddress, formatHostPort } from "./DaemonConfig.ts"
import * as Health from "./Health.ts"
import * as ProcessMetrics from "./ProcessMetrics.ts"
import * as Prometheus from "./Prometheus.ts"

/**
 * The admin HTTP API, on a loopback address only (DaemonConfig refuses others; it has no
 * authentication). JSON bodies; node IDs (u64) as decimal strings, keys as hex, times as Unix ms.
 *
 * - `GET /health`  200 `{"status":"ready","reasons":[]}` or 503 `{"status":"degraded","reasons":[...]}`
 *                  (reasons: Health.ts)
 * - `GET /status`  `{version, nodeId, publicKey, address, ownAddress, peers: {active, total},
 *                  store: {entries, usedBytes, capacityBytes}, uptimeMs}`
 * - `GET /peers`   `{peers: [{address, nodeId, publicKey, edge, active, verified, reliability,
 *                  lastSeenMs, addedMs}]}`
 * - `GET /metrics` Prometheus text (format 0.0.4) of every effect Metric in the process, process
 *   memory and CPU, and the kernel's drop count for the node's UDP socket (Linux)
 * - `POST /debug/gc` a full GC, then `{"heapUsedBytes":n}` (only under --expose-gc; else 404)
 * - anything else  404 `{"error":"not found","path":...}`
 */

export interface StatusJson {
  readonly version: string
  readonly nodeId: string
  readonly publicKey: string
  readonly address: string
  readonly ownAddress: string | null
  readonly peers: { readonly active: number; readonly total: number }
  readonly store: { readonly entries: number; readonly usedBytes: number; readonly capacityBytes: number }
  readonly uptimeMs: number
}

export interface PeerJson {
  readonly address: string
  readonly nodeId: string | null
  readonly publicKey: string | null
  readonly edge: boolean
  readonly active: boolean
  readonly verified: boolean
  readonly reliability: number
  readonly lastSeenMs: number | null
  readonly addedMs: number
}

export interface AdminOptions {
  readonly address: AdminAddress
  readonly version: string
  /** Edges given in the config: with none, a node without peers is still ready. */
  readonly edgesConfigured: number
  /** How often the backup's flush counters are sampled for /health. */
  readonly backupWatchEveryMs?: number
}

export class AdminServeError extends Data.TaggedError("AdminServeError")<{
  readonly address: string
  readonly detail: string
}> {
  override get message(): string {
    return `cannot serve the admin API on ${this.address}: ${this.detail}`
  }
}

/** How long a shutdown waits for open admin requests before closing their connections. */
const SHUTDOWN_GRACE_MS = 2_000

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")

export const peerJson = (p: PeerTableCore.PeerView): PeerJson => ({
  address: Address.toString(p.addr),
  nodeId: p.nodeId === undefined ? null : p.nodeId.toString(),
  publicKey: p.publicKey === undefined ? null : hex(p.publicKey),
  edge: p.edge,
  active: p.active,
  verified: p.verified,
  reliability: p.reliability,
  lastSeenMs: p.lastSeenMs ?? null,
  addedMs: p.addedMs
})

const json = (body: unknown, status = 200) => HttpServerResponse.jsonUnsafe(body, { status })

/** The routes, with the services they read captured. */
const makeRouter = (options: AdminOptions) =>
  Effect.gen(function* () {
    const node = yield* DaveNode.DaveNode
    const peers = yield* PeerTable.PeerTable
    const backup = yield* Health.watchBackup(options.backupWatchEveryMs ?? 1_000)
    const router = yield* HttpRouter.make

    const status = Effect.gen(function* () {
      const s = yield* node.status
      const own = peers.core.ownAddress
      return json({
        version: options.version,
        nodeId: s.nodeId.toString(),
        publicKey: hex(s.publicKey),
        address: Address.toString(s.localAddress),
        ownAddress: own === undefined ? null : Address.toString(own),
        peers: { active: s.peersActive, total: s.peersTotal },
        store: { entries: s.store.entries, usedBytes: s.store.usedBytes, capacityBytes: s.store.capacityBytes },
        uptimeMs: s.uptimeMs
      } satisfies StatusJson)
    })

    const health = Effect.gen(function* () {
      const report = Health.assess({
        edgesConfigured: options.edgesConfigured,
        peers: yield* node.peers,
        store: (yield* node.status).store,
        backupFailing: yield* backup.failing
      })
      return json(report, report.status === "ready" ? 200 : 503)
    })

    const peerList = Effect.map(node.peers, (list) => json({ peers: list.map(peerJson) }))

    const metrics = Effect.map(Metric.snapshot, (snapshots) =>
      HttpServerResponse.text(Prometheus.render(snapshots) + ProcessMetrics.render(node.localAddress.port), {
        contentType: Prometheus.CONTENT_TYPE
      })
    )

    const gc = Effect.sync(() => {
      const heapUsedBytes = ProcessMetrics.collect()
      return heapUsedBytes === undefined
        ? json({ error: "start the daemon with --expose-gc (e.g. NODE_OPTIONS=--expose-gc) to enable this" }, 404)
        : json({ heapUsedBytes })
    })

    yield* router.add("GET", "/health", health)
    yield* router.add("GET", "/status", status)
    yield* router.add("GET", "/peers", peerList)
    yield* router.add("GET", "/metrics", metrics)
    yield* router.add("POST", "/debug/gc", gc)
    return router
  })

/** Starts the admin API for the scope's lifetime; returns the bound address (`127.0.0.1:1620`). */
export const serve = (
  options: AdminOptions
): Effect.Effect<string, AdminServeError, DaveNode.DaveNode | PeerTable.PeerTable | Scope.Scope> =>
  Effect.gen(function* () {
    const wanted = formatHostPort(options.address.host, options.address.port)
    const server = yield* NodeHttpServer.make(() => Http.createServer(), {
      host: options.address.host,
      port: options.address.port,
      gracefulShutdownTimeout: SHUTDOWN_GRACE_MS
    }).pipe(
      Effect.mapError(
        (e) => new AdminServeError({ address: wanted, detail: String((e.cause as Error)?.message ?? e.cause) })
      )
    )
    const router = yield* makeRouter(options)
    const app = router.asHttpEffect().pipe(
      Effect.catch((error) =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          if (error instanceof HttpServerError.HttpServerError && error.reason._tag === "RouteNotFound")
            return json({ error: "not found", path: request.url }, 404)
          yield* Effect.logWarning("admin request failed").pipe(
            Effect.annotateLogs({ path: request.url, error: String(error) })
          )
          return json({ error: "internal error" }, 500)
        })
      )
    )
    yield* server.serve(app)
    const bound = server.address
    return formatHostPort(options.address.host, "port" in bound ? bound.port : options.address.port)
  })
