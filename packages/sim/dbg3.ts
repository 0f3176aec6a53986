import { Runner, Scenarios, SimParams } from "@dave/sim"
import { Effect } from "effect"
const nodes = 50
const scenario = {
  ...Scenarios.form,
  run: (world: any) =>
    Effect.gen(function* () {
      const ns = yield* world.addNodes(nodes)
      yield* world.startAll(ns, 10_000)
      yield* world.sleep(20 * 60_000)
      return { checks: [], figures: [] }
    })
}
const base = SimParams.scaled({ nodes })
const params = { ...base, bootstrapCount: 1, node: { ...base.node, tickEveryMs: Number(process.argv[2] ?? 2000) } }
const c0 = process.cpuUsage()
const o = await Effect.runPromise(Runner.run({ scenario, seed: 1, nodes, virtualMinutes: 0, crypto: "fake", params }))
const cpu = process.cpuUsage(c0)
console.log(Runner.formatOutcome(o).slice(3, 6).join("\n"))
console.log(`cpu ${(cpu.user / 1000).toFixed(0)} ms, per node-second ${(cpu.user / (nodes * o.summary.virtualMs / 1000)).toFixed(1)} us`)
