import { PeerMetrics, PeerTable } from "@dave/peers"
import { Address } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, Option, Random } from "effect"
import { TestClock } from "effect/testing"
import { fakeVerify, keyFor, ping, pong, v4 } from "./helpers.ts"

const edge = v4("192.0.2.1", 1)
const edgeKey = keyFor(5n)
const verify = (challenge: Uint8Array, salt: Uint8Array, pubKey: Uint8Array, sig: Uint8Array) =>
  Effect.sync(() => fakeVerify(challenge, salt, pubKey, sig))

/** Ticks, answers the edge's PING, and returns the challenge it carried. */
const tickAndAnswer = Effect.gen(function* () {
  const table = yield* PeerTable.PeerTable
  const { pings } = yield* table.tick
  const toEdge = pings.find((p) => Address.equals(p.to, edge))
  if (toEdge === undefined) return undefined
  const outcome = yield* table.onPong(edge, pong(toEdge.challenge, edgeKey), verify)
  expect(outcome._tag).toBe("Accepted")
  return toEdge.challenge
})

describe("PeerTable service", () => {
  it.effect("follows the TestClock: an edge goes online, offline after 3 s of silence, and back", () =>
    Effect.gen(function* () {
      const table = yield* PeerTable.PeerTable
      expect(yield* table.addEdge(edge)).toEqual({ added: true, existed: false })
      yield* tickAndAnswer
      expect(yield* table.isActive(edge)).toBe(true)
      yield* TestClock.adjust("2999 millis")
      expect(yield* table.isActive(edge)).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(yield* table.isActive(edge)).toBe(false)
      const view = Option.getOrThrow(yield* table.get(edge))
      expect(view).toMatchObject({ edge: true, verified: true, active: false, lastSolvedMs: 0 })
      yield* tickAndAnswer
      expect(yield* table.isActive(edge)).toBe(true)
      expect(Option.getOrThrow(yield* table.edgeForAddrQuery)).toEqual(edge)
    }).pipe(Effect.provide(PeerTable.layerTest()))
  )

  it.effect("exports its counters and gauges as metrics", () =>
    Effect.gen(function* () {
      const node = { node: "metrics-test" }
      const table = yield* PeerTable.PeerTable
      yield* table.addEdge(edge)
      yield* tickAndAnswer
      const { pings } = yield* table.tick // not due yet: nothing
      expect(pings).toEqual([])
      yield* TestClock.adjust("1 second")
      const next = yield* table.tick
      const bad = { ...pong(next.pings[0]!.challenge, edgeKey), sig: new Uint8Array(64) }
      expect(yield* table.onPong(edge, bad, verify)).toEqual({ _tag: "Rejected", reason: "bad-signature" })
      const value = (m: Metric.Metric<number, Metric.CounterState<number>>, extra = {}) =>
        Effect.map(Metric.value(Metric.withAttributes(m, { ...node, ...extra })), (s) => s.count)
      expect(yield* value(PeerMetrics.pongsAccepted)).toBe(1)
      expect(yield* value(PeerMetrics.pongsRejected, { reason: "bad-signature" })).toBe(1)
      expect(yield* value(PeerMetrics.pingsSent)).toBe(2)
      const total = yield* Metric.value(Metric.withAttributes(PeerMetrics.peersTotal, node))
      expect(total.value).toBe(1)
      const online = yield* Metric.value(Metric.withAttributes(PeerMetrics.edgesOnline, node))
      expect(online.value).toBe(1)
    }).pipe(Effect.provide(PeerTable.layerTest({ metricAttributes: { node: "metrics-test" } })))
  )

  it.effect("a seeded Random reproduces the challenges byte for byte", () =>
    Effect.gen(function* () {
      const run = (seed: string) =>
        Effect.gen(function* () {
          const table = yield* PeerTable.PeerTable
          yield* table.addEdge(edge)
          const first = (yield* table.tick).pings[0]!.challenge
          yield* TestClock.adjust("1 second")
          const second = (yield* table.tick).pings[0]!.challenge
          return [Array.from(first), Array.from(second)]
        }).pipe(Effect.provide(PeerTable.layerTest()), Random.withSeed(seed))
      const a = yield* run("seed-a")
      expect(yield* run("seed-a")).toEqual(a)
      expect(yield* run("seed-b")).not.toEqual(a)
      expect(a[0]).not.toEqual(a[1])
    })
  )

  it.effect("the live layer draws challenges from the CSPRNG even under a seeded Random", () =>
    Effect.gen(function* () {
      const run = Effect.gen(function* () {
        const table = yield* PeerTable.PeerTable
        yield* table.addEdge(edge)
        return Array.from((yield* table.tick).pings[0]!.challenge)
      }).pipe(Effect.provide(PeerTable.layer()), Random.withSeed("same"))
      const a = yield* run
      const b = yield* run
      expect(a).toHaveLength(32)
      expect(a).not.toEqual(b)
    })
  )

  it.effect("answers PINGs through the amplification rules and records status", () =>
    Effect.gen(function* () {
      const table = yield* PeerTable.PeerTable
      const stranger = v4("198.51.100.1", 9)
      expect(yield* table.admit(stranger, 49)).toEqual({ admitted: true })
      expect(yield* table.onPing(stranger, ping(10n, 100n))).toEqual({ replyAllowed: false, addrs: [] })
      const { pings } = yield* table.tick
      expect(pings.map((p) => p.to)).toEqual([stranger])
      expect(yield* table.trySpendReply(stranger, 1_000)).toBe(false)
      const view = Option.getOrThrow(yield* table.get(stranger))
      expect(view).toMatchObject({ usedBytes: 10n, capacityBytes: 100n, verified: false, origin: "inbound" })
      expect((yield* table.snapshot).length).toBe(1)
    }).pipe(Effect.provide(PeerTable.layerTest()))
  )

  it.effect("a bad option fails the layer with a typed error", () =>
    Effect.gen(function* () {
      const error = yield* Layer.build(PeerTable.layer({ maxPeers: -1 })).pipe(Effect.flip)
      expect(error._tag).toBe("PeerOptionsError")
      expect(error.option).toBe("maxPeers")
    })
  )
})
