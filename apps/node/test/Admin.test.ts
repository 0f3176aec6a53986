import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Address } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { freeUdpPort, get, getHealth, getJson, getPeers, getStatus, parsePrometheus, poll } from "./support/Admin.ts"
import { putMessage, rawSocket, seedOf, signedDat } from "./support/Client.ts"
import { type DaemonProcess, start, testArgs } from "./support/DaemonProcess.ts"

/** Issue 5, part 2: the admin API of a live daemon, checked against what the daemon logged. */

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-admin-"))
const PACKAGE_VERSION = JSON.parse(
  Fs.readFileSync(Path.resolve(import.meta.dirname, "../package.json"), "utf8")
).version
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

const adminOf = (d: DaemonProcess): string => {
  expect(d.admin).toMatch(/^127\.0\.0\.1:\d+$/)
  return d.admin!
}

const healthOf = (d: DaemonProcess) => getHealth(adminOf(d))

const isDecimalU64 = (s: unknown) => typeof s === "string" && /^\d+$/.test(s) && BigInt(s) < 2n ** 64n

describe("admin API", () => {
  it.live(
    "status, peers, health from degraded to ready, metrics, 404",
    () =>
      Effect.gen(function* () {
        const root = tempDir()
        // B's edge is a port where nothing listens yet: B starts degraded, and turns ready once A is up there.
        const edgePort = yield* freeUdpPort
        const edge = Address.parse(`[::1]:${edgePort}`)!
        const b = yield* start(testArgs(Path.join(root, "b"), [edge]))
        const degraded = yield* healthOf(b)
        expect(degraded.status).toBe(503)
        expect(degraded.body).toEqual({ status: "degraded", reasons: ["no active peers"] })

        const a = yield* start(testArgs(Path.join(root, "a"), [], edgePort))
        // A standalone node (no edges) is ready on its own.
        expect((yield* healthOf(a)).body).toEqual({ status: "ready", reasons: [] })
        const ready = yield* poll(
          "B ready",
          Effect.map(healthOf(b), (r) => (r.status === 200 ? r.body : undefined)),
          10_000
        )
        expect(ready).toEqual({ status: "ready", reasons: [] })

        // /status matches the daemon's "listening" line and package.json.
        const status = yield* getStatus(adminOf(b))
        expect(status.status).toBe(200)
        const s = status.body
        expect(Object.keys(s).sort()).toEqual(
          ["address", "nodeId", "ownAddress", "peers", "publicKey", "store", "uptimeMs", "version"].sort()
        )
        expect(s.version).toBe(PACKAGE_VERSION)
        expect(isDecimalU64(s.nodeId)).toBe(true)
        expect(BigInt(s.nodeId)).toBe(b.nodeId)
        expect(s.publicKey).toBe(hex(b.publicKey))
        expect(s.address).toBe(Address.toString(b.address))
        expect(s.ownAddress === null || typeof s.ownAddress === "string").toBe(true)
        expect(s.peers.active).toBeGreaterThanOrEqual(1)
        expect(s.peers.total).toBeGreaterThanOrEqual(s.peers.active)
        expect(s.store).toEqual({ entries: 0, usedBytes: 0, capacityBytes: 64 * 1024 * 1024 })
        expect(s.uptimeMs).toBeGreaterThan(0)

        // /peers: B lists A as an active, verified edge with A's logged ID and key.
        const peersB = (yield* getPeers(adminOf(b))).body.peers
        const aSeenByB = peersB.find((p) => p.address === Address.toString(a.address))!
        expect(aSeenByB).toBeDefined()
        expect(Object.keys(aSeenByB).sort()).toEqual(
          [
            "active",
            "addedMs",
            "address",
            "edge",
            "lastSeenMs",
            "nodeId",
            "publicKey",
            "reliability",
            "verified"
          ].sort()
        )
        expect(aSeenByB).toMatchObject({
          nodeId: a.nodeId.toString(),
          publicKey: hex(a.publicKey),
          edge: true,
          active: true,
          verified: true
        })
        expect(typeof aSeenByB.reliability).toBe("number")
        const now = Date.now()
        const lastSeenMs = aSeenByB.lastSeenMs ?? Number.NaN
        expect(lastSeenMs).toBeGreaterThan(now - 60_000)
        expect(lastSeenMs).toBeLessThanOrEqual(now + 1_000)
        expect(aSeenByB.addedMs).toBeLessThanOrEqual(lastSeenMs)
        // A learned B from its PINGs: listed, not an edge.
        const peersA = yield* poll(
          "A lists B",
          Effect.map(getPeers(adminOf(a)), (r) =>
            r.body.peers.find((p) => p.nodeId === b.nodeId.toString() && p.active)
          ),
          10_000
        )
        expect(peersA.edge).toBe(false)

        // A PUT to A shows in its store numbers and its metrics.
        const raw = yield* rawSocket
        const dat = yield* signedDat(seedOf(3), "admin-key", "admin-value", Date.now() - 10)
        yield* raw.send(a.address, putMessage(dat))
        const stored = yield* poll(
          "A stores the PUT",
          Effect.map(getStatus(adminOf(a)), (r) => (r.body.store.entries === 1 ? r.body.store : undefined)),
          5_000
        )
        expect(stored.usedBytes).toBe(dat.key.length + dat.value.length + 224)

        // Node and transport counters reach the Metrics once a second: wait for the PUT to show.
        const metrics = yield* poll(
          "the PUT in /metrics",
          Effect.map(get(adminOf(a), "/metrics"), (r) =>
            /dave_node_packets_in_total\{op="Put"/.test(r.text) ? r : undefined
          ),
          5_000,
          250
        )
        expect(metrics.status).toBe(200)
        expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
        const families = parsePrometheus(metrics.text)
        for (const name of families.keys()) expect(name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/)
        const value = (name: string, labels: Record<string, string> = {}) =>
          families
            .get(name)
            ?.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value
        for (const prefix of ["dave_node_", "dave_transport_", "dave_store_", "dave_peers_", "dave_backup_"]) {
          expect([...families.keys()].some((n) => n.startsWith(prefix))).toBe(true)
        }
        expect(families.get("dave_node_packets_in_total")?.type).toBe("counter")
        expect(value("dave_node_packets_in_total", { op: "Put", via: "udp" })).toBeGreaterThanOrEqual(1)
        expect(value("dave_node_packets_in_total", { op: "Ping" })).toBeGreaterThanOrEqual(1)
        expect(value("dave_node_packets_out_total", { op: "Pong" })).toBeGreaterThanOrEqual(1)
        expect(families.get("dave_store_entries")?.type).toBe("gauge")
        expect(value("dave_store_entries")).toBe(1)
        expect(value("dave_store_used_bytes")).toBe(stored.usedBytes)
        expect(value("dave_store_capacity_bytes")).toBe(64 * 1024 * 1024)
        expect(value("dave_transport_datagrams_in_total")).toBeGreaterThanOrEqual(1)
        expect(value("dave_node_verifications_total", { verdict: "Valid" })).toBeGreaterThanOrEqual(1)
        expect(value("dave_node_puts_accepted_total", { outcome: "Inserted" })).toBe(1)
        expect(families.get("process_resident_memory_bytes")?.type).toBe("gauge")
        expect(value("process_resident_memory_bytes")).toBeGreaterThan(1024 * 1024)
        expect(value("nodejs_heap_used_bytes")).toBeGreaterThan(0)
        expect(families.get("process_cpu_seconds_total")?.type).toBe("counter")
        expect(value("process_cpu_seconds_total")).toBeGreaterThan(0)
        expect(value("nodejs_eventloop_delay_max_seconds")).toBeGreaterThanOrEqual(0)
        // The socket guard's and the kernel's drop counters are exported (zero here: nothing floods).
        expect(families.get("dave_transport_rate_limited_ip_total")?.type).toBe("counter")
        expect(value("dave_transport_kernel_drops_total")).toBe(0)
        expect(value("dave_transport_kernel_receive_queue_bytes")).toBeGreaterThanOrEqual(0)
        // Without --expose-gc the GC endpoint says how to enable it.
        const gc = yield* Effect.promise(() => fetch(`http://${adminOf(a)}/debug/gc`, { method: "POST" }))
        expect(gc.status).toBe(404)
        expect(((yield* Effect.promise(() => gc.json())) as { error: string }).error).toMatch(/--expose-gc/)

        // Unknown paths and methods: a JSON 404.
        const missing = yield* getJson<{ error: string; path: string }>(adminOf(a), "/nope?x=1")
        expect(missing.status).toBe(404)
        expect(missing.body.error).toBe("not found")
        const post = yield* Effect.promise(() => fetch(`http://${adminOf(a)}/status`, { method: "POST" }))
        expect(post.status).toBe(404)

        Fs.rmSync(root, { recursive: true, force: true })
      }).pipe(Effect.scoped),
    60_000
  )
})
