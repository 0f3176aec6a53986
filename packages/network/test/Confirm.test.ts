import { Dat, type Message } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import {
  countingPool,
  eventually,
  fullyConnected,
  loadedPool,
  seedOf,
  signedDat,
  startCluster,
  startNode,
  startStack
} from "./cluster.ts"

/** Whether each answer is the very dat written (same signature): the GET saw the PUT sent before it. */
const allServe = (
  answers: ReadonlyArray<Option.Option<{ readonly dat: Message.Dat }>>,
  dats: ReadonlyArray<Message.Dat>
): boolean =>
  answers.length === dats.length &&
  answers.every((a, i) => Option.isSome(a) && Dat.bytesEqual(a.value.dat.sig, dats[i]!.sig))

describe("a writer's GET right behind its PUT", () => {
  it.live(
    "is answered with the entry, whether the replica verifies the PUT at once or queues it for a worker",
    () =>
      Effect.gen(function* () {
        const { pool: counting, counts } = countingPool(yield* loadedPool())
        const replica = yield* startStack(seedOf(1), counting, [])
        const writer = yield* startStack(seedOf(2), counting, [replica.node.localAddress])
        yield* eventually(
          "the two nodes see each other",
          20_000,
          Effect.map(
            Effect.all([replica.node.status, writer.node.status]),
            ([r, w]) => r.peersActive >= 1 && w.peersActive >= 1
          )
        )
        const ask = (dat: Message.Dat) => writer.node.ask(dat.pubKey, dat.key, [replica.node.localAddress], 2_000)

        // One PUT, its GET sent in the same turn: the replica stores it before it reads the GET.
        const one = yield* signedDat(seedOf(50), "one", "at once", Date.now() - 100)
        expect((yield* writer.node.put(one)).sentTo).toHaveLength(1)
        expect(allServe(yield* ask(one), [one])).toBe(true)
        expect([counts.atOnce, counts.queued]).toEqual([1, 0])

        // Forty PUTs in one turn, then their GETs: more signatures than the pool checks on the node's
        // thread, so most go to the worker, and the GETs of those wait until they are stored.
        const dats = yield* Effect.forEach(
          Array.from({ length: 40 }, (_, i) => i),
          (i) => signedDat(seedOf(60 + i), `burst-${i}`, `value ${i}`, Date.now() - 100)
        )
        for (const dat of dats) yield* writer.node.put(dat)
        const answers = yield* Effect.forEach(dats, (dat) => Effect.map(ask(dat), (a) => a[0]!), {
          concurrency: "unbounded"
        })
        expect(allServe(answers, dats)).toBe(true)
        expect(counts.queued).toBeGreaterThan(0)
        expect(counts.atOnce + counts.queued).toBe(41)
      }).pipe(Effect.scoped),
    40_000
  )

  it.live(
    "waits, with every message after it, while the replica's store takes its time",
    () =>
      Effect.gen(function* () {
        // The replica's writes take 100 ms (as one might behind a full backup log): the GET that comes
        // right behind the PUT must wait for it rather than be answered from the store before it.
        const [writer] = yield* startCluster(1)
        const replica = yield* startNode({
          seed: seedOf(7),
          edges: [writer!.address],
          peers: { activateAfterMs: 0 },
          wrapStore: (store) => ({ ...store, put: (entry) => Effect.delay(store.put(entry), 100) })
        })
        yield* eventually("the two nodes see each other", 15_000, fullyConnected([writer!, replica]))
        const dat = yield* signedDat(seedOf(80), "slow", "store", Date.now() - 100)
        const report = yield* writer!.node.put(dat)
        expect(report.sentTo.map((a) => a.port)).toContain(replica.address.port)
        const started = Date.now()
        const [answer] = yield* writer!.node.ask(dat.pubKey, dat.key, [replica.address], 2_000)
        expect(allServe([answer!], [dat])).toBe(true)
        expect(Date.now() - started).toBeGreaterThanOrEqual(90)
      }).pipe(Effect.scoped),
    30_000
  )
})
