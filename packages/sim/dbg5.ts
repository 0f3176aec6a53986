import { Runner, Scenarios, Steps } from "@dave/sim"
import { Dat } from "@dave/protocol"
import { Effect } from "effect"
const scenario = {
  ...Scenarios.conflicts,
  run: (world: any, settings: any) =>
    Effect.gen(function* () {
      yield* Steps.formNetwork(world, settings.nodes)
      const author = yield* world.newAuthor()
      const slots: any[] = []
      for (let k = 0; k < 20; k++) {
        const [a, b, c] = world.random.sample(world.running(), 3)
        const t = world.nowMs
        const versions = yield* Effect.all([
          world.signDat(author, `slot${k}`, `from ${a.index}`, t),
          world.signDat(author, `slot${k}`, `from ${b.index}`, t),
          world.signDat(author, `slot${k}`, `older, from ${c.index}`, t - 1000)
        ])
        const writers = [a, b, c]
        const reports = yield* Effect.all(versions.map((d: any, i: number) => Effect.result(world.put(writers[i], d))), { concurrency: "unbounded" })
        slots.push({ versions, writers, reports })
        yield* world.sleep(200)
      }
      yield* world.sleep(30_000)
      const dec = new TextDecoder()
      for (const [k, slot] of slots.entries()) {
        const w = slot.versions.reduce((best: any, d: any) => (Steps.newer(d, best) ? d : best))
        const hs = yield* Steps.holders(world, w)
        const named = new Set(slot.reports.flatMap((r: any) => r._tag === "Success" ? r.success.replicas : []))
        const bad = hs.filter(([n, e]: any) => named.has(n.nodeId) && !Dat.bytesEqual(e.dat.value, w.value))
        if (bad.length === 0) continue
        console.log(`slot${k} winner="${dec.decode(w.value)}" writers=${slot.writers.map((n: any) => n.index)} replicas=${slot.reports.map((r: any) => r._tag === "Success" ? r.success.sentTo.length + (r.success.storedLocally ? "L" : "") : r.failure._tag + ":" + r.failure.reason)}`)
        for (const r of slot.reports) console.log("   list", r._tag === "Success" ? r.success.replicas.map((id: bigint) => world.nodes.findIndex((x: any) => x.nodeId === id)).join(",") : "-")
        for (const [n, e] of hs) console.log(`   node ${n.index}: "${dec.decode(e.dat.value)}" replicaIds=${e.replicas.map((r: bigint) => world.nodes.findIndex((x: any) => x.nodeId === r))}`)
      }
      return { checks: [], figures: [] }
    })
}
await Effect.runPromise(Runner.run({ scenario, seed: 11, nodes: 16, virtualMinutes: 0, crypto: "fake" }))
