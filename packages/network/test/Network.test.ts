import { describe, expect, it } from "@effect/vitest"
import { Constants, NodeId } from "@dave/protocol"
import { Effect, Option } from "effect"
import { eventually, fullyConnected, seedOf, signedDat, startCluster } from "./cluster.ts"

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
        expect(NodeId.fromPublicKey(dat.pubKey)).toBeTypeOf("bigint")
      }).pipe(Effect.scoped),
    40_000
  )
})
