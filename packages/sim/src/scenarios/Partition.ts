import { Address, type Message } from "@dave/protocol"
import { Effect } from "effect"
import { check, type Scenario } from "../Scenario.ts"
import type { SimNode } from "../SimNode.ts"
import * as Steps from "../Steps.ts"

const SHARED_KEYS = 10
const ENTRIES_PER_SIDE = 10

/**
 * A partition heals and converges: the network splits in two random halves for longer than the
 * drop window (so each side forgets the other), both sides write, including newer versions of
 * keys written before the split; after the heal every node must see peers on the other side again
 * and read the newest version of everything.
 */
export const partition: Scenario = {
  name: "partition",
  description:
    "split in two halves past the drop window, both sides write, heal; every node reads the newest of everything",
  defaultNodes: 40,
  maxVirtualMs: (s) => (150 + s.virtualMinutes) * 60_000,
  run: (world, settings) =>
    Effect.gen(function* () {
      const formed = yield* Steps.formNetwork(world, settings.nodes)
      const author = yield* world.newAuthor()
      const before: Array<Message.Dat> = []
      for (let k = 0; k < SHARED_KEYS; k++) {
        const writer = world.running()[world.random.below(world.running().length)]!
        const dat = yield* world.signDat(author, `shared${k}`, "before the split", world.nowMs)
        yield* Effect.ignore(world.put(writer, dat))
        before.push(dat)
      }
      yield* world.sleep(30_000)

      const sideOf = new Map<number, number>()
      for (const node of world.nodes) sideOf.set(node.index, world.random.below(2))
      const side = (n: SimNode) => sideOf.get(n.index) ?? 0
      const sideByAddr = new Map(world.nodes.map((n) => [Address.key(n.address), side(n)] as const))
      const sideOfAddr = (key: string) => sideByAddr.get(key)
      world.partition(side)
      const times = Steps.livenessTimes(world)
      yield* world.sleep(times.dropMs + 60_000)

      const onSide = (s: number) => world.running().filter((n) => side(n) === s)
      const latest: Array<Message.Dat> = []
      for (let k = 0; k < SHARED_KEYS; k++) {
        // Both sides update every shared key; which side's version is newer alternates.
        const writes: Array<Message.Dat> = []
        for (const s of [0, 1]) {
          const nodes = onSide(s)
          const writer = nodes[world.random.below(nodes.length)]!
          const offsetMs = (k + s) % 2 === 0 ? 0 : 500
          const dat = yield* world.signDat(author, `shared${k}`, `side ${s}`, world.nowMs - 1_000 + offsetMs)
          yield* Effect.ignore(world.put(writer, dat))
          writes.push(dat)
        }
        latest.push(Steps.newer(writes[0]!, writes[1]!) ? writes[0]! : writes[1]!)
      }
      const sideEntries: Array<Message.Dat> = []
      for (const s of [0, 1]) {
        const nodes = onSide(s)
        for (let i = 0; i < ENTRIES_PER_SIDE; i++) {
          const writer = nodes[world.random.below(nodes.length)]!
          const dat = yield* world.signDat(author, `side${s}-${i}`, `written on side ${s}`, world.nowMs)
          yield* Effect.ignore(world.put(writer, dat))
          sideEntries.push(dat)
        }
      }
      yield* world.sleep(60_000)
      const crossBefore = world.running().filter((n) => crossActive(n, sideOfAddr) > 0).length
      world.heal()

      const k = Steps.formThreshold(world.running().length)
      const rejoinedAfterMs = yield* Steps.waitUntil(world, 30 * 60_000, 5_000, () =>
        world.running().every((n) => Steps.activeCount(n) >= k && crossActive(n, sideOfAddr) > 0)
      )
      yield* world.sleep(Steps.settleMs(world) + settings.virtualMinutes * 60_000)

      const everything = [...latest, ...sideEntries]
      const pairs = everything.flatMap((dat) => world.running().map((reader) => [reader, dat] as const))
      const tally = yield* Steps.readAll(world, pairs)
      return {
        checks: [
          check(
            "network forms",
            formed.formedAfterMs !== undefined,
            `formed after ${formed.formedAfterMs ?? "never"} ms`
          ),
          check("the partition held", crossBefore === 0, `${crossBefore} nodes still had an active peer across it`),
          check(
            "sides rejoin",
            rejoinedAfterMs !== undefined,
            rejoinedAfterMs === undefined
              ? "some node never saw an active peer on the other side"
              : `every node has an active peer across after ${(rejoinedAfterMs / 1000).toFixed(0)} s`
          ),
          check(
            "every node reads the newest of everything",
            tally.found === tally.total,
            `${tally.found} of ${tally.total} reads (stale ${tally.stale}, missing ${tally.missing}, failed ${tally.failed})`
          )
        ],
        figures: [
          ["partition s", (times.dropMs + 60_000) / 1000],
          ["rejoined after s", rejoinedAfterMs === undefined ? "never" : rejoinedAfterMs / 1000],
          ["entries", everything.length],
          ["reads", tally.total],
          ["reads newest", Steps.percent(tally.found, tally.total)]
        ]
      }
    })
}

/** Active peers of `node` whose side (by address) differs from its own. */
const crossActive = (node: SimNode, sideOfAddr: (key: string) => number | undefined): number => {
  const mine = sideOfAddr(Address.key(node.address))
  return node.stack.peers.core.active(node.clock.currentTimeMillisUnsafe()).filter((p) => {
    const other = sideOfAddr(Address.key(p.addr))
    return other !== undefined && other !== mine
  }).length
}
