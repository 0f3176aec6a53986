import { describe, expect, it } from "@effect/vitest"
import { Constants, NodeId } from "@dave/protocol"
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
        yield* eventually("the light client knows all five", 10_000, Effect.map(client.peers.active, (a) => a.length >= 5))
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
        expect((yield* client.store.stats).entries).toBe(0)
        expect(NodeId.fromPublicKey(dat.pubKey)).toBeTypeOf("bigint")
      }).pipe(Effect.scoped),
    40_000
  )
})
