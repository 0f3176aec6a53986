import * as Http from "node:http"
import { AdminApi, NodeAddress } from "@dave/client"
import { Address } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, type Scope } from "effect"
import { FetchHttpClient } from "effect/http"

/** A stand-in admin API on 127.0.0.1 that answers every request with `status` and `body`. */
const fakeAdmin = (status: number, body: string, delayMs = 0): Effect.Effect<URL, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<Http.Server>((resume) => {
      const server = Http.createServer((_, res) => {
        setTimeout(() => {
          res.writeHead(status, { "content-type": "application/json" })
          res.end(body)
        }, delayMs)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(
    Effect.map((server) => {
      const address = server.address()
      if (address === null || typeof address === "string") throw new Error("no TCP address")
      return new URL(`http://127.0.0.1:${address.port}`)
    })
  )

const statusJson = {
  version: "0.1.0",
  nodeId: "18446744073709551615",
  publicKey: "ab".repeat(32),
  address: "[::1]:1618",
  ownAddress: null,
  peers: { active: 2, total: 3 },
  store: { entries: 4, usedBytes: 1000, capacityBytes: 1 << 30 },
  uptimeMs: 1234,
  addedLater: "ignored"
}

const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.flip(effect)

describe("AdminApi", () => {
  it("parses base URLs in both forms and refuses others", () => {
    expect(Option.map(AdminApi.parseUrl("127.0.0.1:1620"), (u) => u.href)).toEqual(
      Option.some("http://127.0.0.1:1620/")
    )
    expect(Option.map(AdminApi.parseUrl("[::1]:1620"), (u) => u.host)).toEqual(Option.some("[::1]:1620"))
    expect(Option.map(AdminApi.parseUrl("http://localhost:9/x"), (u) => u.port)).toEqual(Option.some("9"))
    expect(Option.isNone(AdminApi.parseUrl("ftp://127.0.0.1:21"))).toBe(true)
    expect(Option.isNone(AdminApi.parseUrl("not a url"))).toBe(true)
  })

  it.live(
    "decodes /status (u64 node IDs exactly, keys from hex) and re-encodes the same shape",
    () =>
      Effect.gen(function* () {
        const base = yield* fakeAdmin(200, JSON.stringify(statusJson))
        const status = yield* AdminApi.status(base, 2_000)
        expect(status.nodeId).toBe(2n ** 64n - 1n)
        expect(status.publicKey).toEqual(new Uint8Array(32).fill(0xab))
        expect(status.ownAddress).toBeNull()
        const { addedLater: _, ...shape } = statusJson
        expect(AdminApi.encodeStatus(status)).toEqual(shape)
      }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer)),
    20_000
  )

  it.live(
    "decodes /peers with unknown keys as null",
    () =>
      Effect.gen(function* () {
        const peer = {
          address: "[::1]:1619",
          nodeId: null,
          publicKey: null,
          edge: true,
          active: false,
          verified: false,
          reliability: -0.5,
          lastSeenMs: null,
          addedMs: 1_700_000_000_000
        }
        const base = yield* fakeAdmin(200, JSON.stringify({ peers: [peer] }))
        const peers = yield* AdminApi.peers(base, 2_000)
        expect(peers).toHaveLength(1)
        expect(peers[0]!.nodeId).toBeNull()
        expect(AdminApi.encodePeerList({ peers })).toEqual({ peers: [peer] })
      }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer)),
    20_000
  )

  it.live(
    "an error status, a wrong shape, silence and a closed port are typed failures",
    () =>
      Effect.gen(function* () {
        const unavailable = yield* fakeAdmin(503, JSON.stringify({ status: "degraded", reasons: ["no peers"] }))
        expect((yield* failureOf(AdminApi.status(unavailable, 2_000))).reason).toBe("BadResponse")

        const wrong = yield* fakeAdmin(200, JSON.stringify({ ...statusJson, nodeId: 12 }))
        const shape = yield* failureOf(AdminApi.status(wrong, 2_000))
        expect(shape.reason).toBe("BadResponse")
        expect(shape.message).toContain("nodeId")

        const garbage = yield* fakeAdmin(200, "{not json")
        expect((yield* failureOf(AdminApi.peers(garbage, 2_000))).reason).toBe("BadResponse")

        const slow = yield* fakeAdmin(200, JSON.stringify(statusJson), 3_000)
        const startMs = Date.now()
        expect((yield* failureOf(AdminApi.status(slow, 300))).reason).toBe("Timeout")
        expect(Date.now() - startMs).toBeLessThan(2_000)

        const closed = yield* Effect.scoped(fakeAdmin(200, "{}"))
        expect((yield* failureOf(AdminApi.status(closed, 2_000))).reason).toBe("Unreachable")
      }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer)),
    20_000
  )
})

describe("NodeAddress", () => {
  it.live(
    "takes literal addresses and host names, and refuses port 0 and junk as usage errors",
    () =>
      Effect.gen(function* () {
        const v6 = yield* NodeAddress.resolve("[::1]:1618")
        expect(Address.toString(v6)).toBe("[::1]:1618")
        const v4 = yield* NodeAddress.resolve("127.0.0.1:1618")
        expect(Address.toString(v4)).toBe("[::ffff:127.0.0.1]:1618")
        const named = yield* NodeAddress.resolve("localhost:1700")
        expect(named.port).toBe(1700)
        expect(["[::1]:1700", "[::ffff:127.0.0.1]:1700"]).toContain(Address.toString(named))
        for (const bad of ["[::1]:0", "1618", "::1:1618", "host:99999", ""]) {
          expect((yield* Effect.flip(NodeAddress.resolve(bad))).reason).toBe("Usage")
        }
      }),
    20_000
  )
})
