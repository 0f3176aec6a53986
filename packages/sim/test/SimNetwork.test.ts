import type { Inbound } from "@dave/network"
import type { AddrPort } from "@dave/protocol"
import { LinkModel, SimNetwork, SimNode, SimParams, Simulation, type World } from "@dave/sim"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber } from "effect"

/** Runs `body` inside a simulation with no nodes, on the given link profile. */
const simulate = <A, E>(link: LinkModel.LinkProfile, body: (world: World.World) => Effect.Effect<A, E>) =>
  Effect.flatMap(
    Simulation.run(
      {
        seed: 1,
        crypto: "fake",
        params: SimParams.scaled({ nodes: 2 }),
        network: { ...SimNetwork.defaultOptions, link },
        maxVirtualMs: 60_000
      },
      body
    ),
    (result) =>
      Exit.isSuccess(result.exit) ? Effect.succeed(result) : Effect.die(Simulation.describeFailure(result.exit))
  )

const a = SimNode.addressOf(1)
const b = SimNode.addressOf(2)

/** Takes every batch `host` receives within `ms` of virtual time. */
const collect = (world: World.World, at: AddrPort, ms: number): Effect.Effect<Array<Inbound>> =>
  Effect.gen(function* () {
    const transport = world.network.transport(at)
    const got: Array<Inbound> = []
    const reader = yield* Effect.forkChild(Effect.forever(Effect.map(transport.receive, (batch) => got.push(...batch))))
    yield* Effect.sleep(ms)
    yield* Fiber.interrupt(reader)
    return got
  })

describe("SimNetwork", () => {
  it.effect("carries datagrams after the link's latency, with the sender's address", () =>
    Effect.gen(function* () {
      let arrivalMs = 0
      const result = yield* simulate(LinkModel.ideal, (world) =>
        Effect.gen(function* () {
          world.network.up(a)
          world.network.up(b)
          const sender = world.network.transport(a)
          const start = yield* Clock.currentTimeMillis
          const receiving = yield* Effect.forkChild(world.network.transport(b).receive)
          sender.send(b, Uint8Array.of(1, 2, 3))
          const batch = yield* Fiber.join(receiving)
          arrivalMs = (yield* Clock.currentTimeMillis) - start
          return { batch, stats: yield* sender.stats }
        })
      )
      const { batch, stats } = Exit.isSuccess(result.exit) ? result.exit.value : { batch: [], stats: undefined }
      expect(batch).toHaveLength(1)
      expect(Array.from(batch[0]!.payload)).toEqual([1, 2, 3])
      expect(batch[0]!.via).toBe("udp")
      expect(batch[0]!.from.port).toBe(a.port)
      expect(arrivalMs).toBe(1)
      expect(stats?.datagramsOut).toBe(1)
      expect(result.summary.network.datagramsDelivered).toBe(1)
      expect(result.summary.traceRecords).toBe(1)
    })
  )

  it.effect("a listening handler gets what was queued, then each datagram at its arrival time", () =>
    Effect.gen(function* () {
      const heard: Array<{ readonly byte: number; readonly atMs: number }> = []
      yield* simulate(LinkModel.ideal, (world) =>
        Effect.gen(function* () {
          world.network.up(a)
          world.network.up(b)
          const sender = world.network.transport(a)
          const receiver = world.network.transport(b)
          sender.send(b, Uint8Array.of(1))
          yield* Effect.sleep(5) // arrived and queued: nobody listens yet
          const clock = yield* Clock.Clock
          const note = (inbound: Inbound) =>
            heard.push({ byte: inbound.payload[0]!, atMs: clock.currentTimeMillisUnsafe() })
          yield* Effect.scoped(
            Effect.gen(function* () {
              yield* receiver.listen(note)
              const startMs = yield* Clock.currentTimeMillis
              sender.send(b, Uint8Array.of(2))
              yield* Effect.sleep(5)
              heard.push({ byte: -1, atMs: startMs })
            })
          )
          sender.send(b, Uint8Array.of(3)) // after the scope: queued again
          yield* Effect.sleep(5)
          expect(Array.from((yield* receiver.receive)[0]!.payload)).toEqual([3])
        })
      )
      const start = heard.find((h) => h.byte === -1)!.atMs
      expect(heard.map((h) => h.byte)).toEqual([1, 2, -1])
      expect(heard[1]!.atMs - start).toBe(1) // the link's latency, handled on arrival
    })
  )

  it.effect("loses, duplicates and refuses oversize datagrams as configured", () =>
    Effect.gen(function* () {
      const lossy = yield* simulate({ ...LinkModel.ideal, lossRate: 1 }, (world) =>
        Effect.gen(function* () {
          world.network.up(a)
          world.network.up(b)
          for (let i = 0; i < 10; i++) world.network.transport(a).send(b, Uint8Array.of(i))
          return yield* collect(world, b, 100)
        })
      )
      expect(Exit.isSuccess(lossy.exit) && lossy.exit.value).toHaveLength(0)
      expect(lossy.summary.network.lost).toBe(10)

      const doubled = yield* simulate({ ...LinkModel.ideal, duplicateRate: 1 }, (world) =>
        Effect.gen(function* () {
          world.network.up(a)
          world.network.up(b)
          const t = world.network.transport(a)
          t.send(b, Uint8Array.of(9))
          t.send(b, new Uint8Array(1425))
          return { got: yield* collect(world, b, 100), stats: yield* t.stats }
        })
      )
      const value = Exit.isSuccess(doubled.exit) ? doubled.exit.value : undefined
      expect(value?.got.map((m) => m.payload[0])).toEqual([9, 9])
      expect(value?.stats.sendErrors).toBe(1)
    })
  )

  it.effect("drops across a partition and to a host that is down, until healed or back up", () =>
    Effect.gen(function* () {
      const result = yield* simulate(LinkModel.ideal, (world) =>
        Effect.gen(function* () {
          world.network.up(a)
          world.network.up(b)
          const t = world.network.transport(a)
          world.network.partition((addr) => (addr.ip[4] === 1 ? 0 : 1))
          t.send(b, Uint8Array.of(1))
          const whilePartitioned = yield* collect(world, b, 50)
          world.network.heal()
          world.network.down(b)
          t.send(b, Uint8Array.of(2))
          yield* Effect.sleep(50)
          world.network.up(b)
          t.send(b, Uint8Array.of(3))
          const afterwards = yield* collect(world, b, 50)
          return { whilePartitioned, afterwards }
        })
      )
      const value = Exit.isSuccess(result.exit) ? result.exit.value : undefined
      expect(value?.whilePartitioned).toHaveLength(0)
      expect(value?.afterwards.map((m) => m.payload[0])).toEqual([3])
      expect(result.summary.network.partitioned).toBe(1)
      expect(result.summary.network.unreachable).toBe(1)
    })
  )

  it.effect("delivers TCP frames in order from an ephemeral port, and fails bad or unreachable sends", () =>
    Effect.gen(function* () {
      const result = yield* simulate(LinkModel.ideal, (world) =>
        Effect.gen(function* () {
          world.network.up(a)
          world.network.up(b)
          const t = world.network.transport(a)
          const receiving = yield* Effect.forkChild(collect(world, b, 100))
          yield* t.sendFrames(b, [Uint8Array.of(1), Uint8Array.of(2)])
          const got = yield* Fiber.join(receiving)
          const empty = yield* Effect.flip(t.sendFrames(b, []))
          const oversize = yield* Effect.flip(t.sendFrames(b, [new Uint8Array(1425)]))
          world.network.down(b)
          const refused = yield* Effect.flip(t.sendFrames(b, [Uint8Array.of(1)]))
          const nowhere = yield* Effect.flip(t.sendFrames(SimNode.addressOf(99), [Uint8Array.of(1)]))
          return {
            got,
            reasons: [empty.reason, oversize.reason, refused.reason, nowhere.reason],
            stats: yield* t.stats
          }
        })
      )
      const value = Exit.isSuccess(result.exit) ? result.exit.value : undefined
      expect(value?.got.map((m) => [m.via, m.payload[0]])).toEqual([
        ["tcp", 1],
        ["tcp", 2]
      ])
      expect(value?.got[0]?.from.port).not.toBe(a.port)
      expect(value?.reasons).toEqual(["InvalidFrame", "InvalidFrame", "ConnectionRefused", "Timeout"])
      expect(value?.stats.tcpFramesOut).toBe(2)
      expect(value?.stats.tcpSendErrors).toBe(4)
    })
  )

  it.effect("refuses an invalid link profile with a typed error", () =>
    Effect.gen(function* () {
      const result = yield* Simulation.run(
        {
          seed: 1,
          crypto: "fake",
          params: SimParams.scaled({ nodes: 2 }),
          network: { ...SimNetwork.defaultOptions, link: { ...LinkModel.ideal, lossRate: 2 } },
          maxVirtualMs: 1_000
        },
        () => Effect.void
      )
      expect(Exit.isFailure(result.exit)).toBe(true)
      expect(Simulation.describeFailure(result.exit)).toContain("lossRate")
    })
  )
})
