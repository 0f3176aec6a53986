import { Constants, NodeId } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { eventually, fullyConnected, seedOf, signedDat, startCluster, startNode } from "./cluster.ts"

const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe("five nodes on ::1", () => {
  it.live(
    "form a network, store a PUT on the five closest, and serve it from any node",
    () =>
      Effect.gen(function* () {
        const nodes = yield* startCluster(5)
        yield* eventually("every node sees the other four active", 15_000, fullyConnected(nodes))
        const author = seedOf(200)
        const dat = yield* signedDat(author, "greeting", "hello dave", Date.now() - 100)
        const report = yield* nodes[2]!.node.put(dat)
        expect(report.replicas.filter((id) => id !== 0n)).toHaveLength(Constants.FANOUT)
        // With five nodes, all five are the closest: every store holds it.
        yield* eventually(
          "all five stores hold the entry",
          3_000,
          Effect.map(
            Effect.forEach(nodes, (n) => n.store.get(dat.pubKey, dat.key)),
            (found) => found.every(Option.isSome)
          )
        )
        for (const n of nodes) {
          const got = yield* n.node.get(dat.pubKey, dat.key)
          expect(Option.isSome(got) && text(got.value.dat.value)).toBe("hello dave")
        }
        const ids = nodes.map((n) => n.node.nodeId)
        expect(new Set(report.replicas)).toEqual(new Set(ids))

        // A light client joins through one node, writes to the five replicas and reads back, holding nothing.
        const client = yield* startNode({
          seed: seedOf(150),
          edges: [nodes[0]!.address],
          node: { light: true },
          peers: { activateAfterMs: 0 }
        })
        yield* eventually(
          "the light client knows all five",
          10_000,
          Effect.map(client.peers.active, (a) => a.length >= 5)
        )
        const later = yield* signedDat(author, "greeting", "hello again", Date.now() - 10)
        const written = yield* client.node.put(later)
        expect(written.storedLocally).toBe(false)
        expect(written.sentTo).toHaveLength(Constants.FANOUT)
        expect(written.replicas).not.toContain(client.node.nodeId)
        yield* eventually(
          "every replica holds the new version",
          3_000,
          Effect.map(
            Effect.forEach(nodes, (n) => n.store.get(dat.pubKey, dat.key)),
            (found) => found.every((e) => Option.isSome(e) && text(e.value.dat.value) === "hello again")
          )
        )
        const read = yield* client.node.get(dat.pubKey, dat.key)
        expect(Option.isSome(read) && text(read.value.dat.value)).toBe("hello again")

        const nowhere = { ...nodes[0]!.address, port: 9 } // discard port: nothing answers there
        // Asked right after the PUT (verified on a worker thread meanwhile), each replica holds the
        // GET until the PUT is stored: one GET per replica confirms the write, none says "not found".
        for (let round = 0; round < 3; round++) {
          const next = yield* signedDat(author, "greeting", `round ${round}`, Date.now() - 5 + round)
          const sent = yield* client.node.put(next)
          // Round 0 asks each replica with a read of its own, the others with one `ask` of all, plus
          // an address where nobody listens: its answer is "none" once the wait is over.
          const answers =
            round === 0
              ? yield* Effect.forEach(
                  sent.sentTo,
                  (replica) => client.node.get(dat.pubKey, dat.key, { targets: [replica], timeoutMs: 2_000 }),
                  { concurrency: "unbounded" }
                )
              : yield* client.node.ask(dat.pubKey, dat.key, [...sent.sentTo, nowhere], 500)
          expect(answers).toHaveLength(sent.sentTo.length + (round === 0 ? 0 : 1))
          for (const got of answers.slice(0, sent.sentTo.length))
            expect(Option.isSome(got) && text(got.value.dat.value)).toBe(`round ${round}`)
          if (round > 0) expect(Option.isNone(answers[sent.sentTo.length]!)).toBe(true)
        }
        expect((yield* client.store.stats).entries).toBe(0)
        expect(NodeId.fromPublicKey(dat.pubKey)).toBeTypeOf("bigint")
      }).pipe(Effect.scoped),
    40_000
  )
})
