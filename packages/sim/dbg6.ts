import v8 from "node:v8"
import { Runner, Scenarios, Steps } from "@dave/sim"
import { Effect } from "effect"
const scenario = {
  ...Scenarios.form,
  run: (world: any, settings: any) =>
    Effect.gen(function* () {
      const ns = yield* world.addNodes(settings.nodes)
      yield* world.startAll(ns, 30_000)
      yield* world.sleep(Number(process.argv[3]) * 60_000)
      ;(globalThis as any).gc()
      console.log("heap used MiB", (process.memoryUsage().heapUsed / 1048576).toFixed(0), "pending events", world.loop.pending)
      const file = v8.writeHeapSnapshot("/tmp/sim.heapsnapshot")
      console.log(file)
      return { checks: [], figures: [] }
    })
}
await Effect.runPromise(Runner.run({ scenario, seed: 1, nodes: Number(process.argv[2]), virtualMinutes: 0, crypto: "fake", livenessScale: 60, maxPeers: 32 }))
