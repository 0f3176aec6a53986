import { Runner, Scenarios } from "@dave/sim"
import { Effect } from "effect"
const keys = ["pongs_accepted","pings_sent","refused:full","refused:ip-cap","refused:prefix-cap","refused:introduced-cap","refused:cooldown","dropped:silent","dropped:introduced-unanswered","dropped:evicted","amplification_denied:pong","amplification_denied:ping","amplification_denied:reply","pongs_rejected:challenge-mismatch","pongs_rejected:no-challenge","pongs_rejected:unknown-peer","rate_limited:ip"]
const scenario = {
  ...Scenarios.form,
  run: (world: any, settings: any) =>
    Effect.gen(function* () {
      const nodes = yield* world.addNodes(settings.nodes)
      yield* world.startAll(nodes, 30_000)
      yield* world.sleep(10 * 60_000)
      const run = world.running()
      console.log(run.map((n: any) => `${n.index}:${n.stack.peers.core.activeCount(n.clock.currentTimeMillisUnsafe())}/${n.stack.peers.core.size}`).join(" "))
      for (const n of [run[0], run[10], run.find((n: any) => n.stack.peers.core.activeCount(n.clock.currentTimeMillisUnsafe()) < 8)]) {
        if (!n) continue
        const core = n.stack.peers.core
        console.log("node", n.index, keys.map((k) => `${k}=${core.total(k)}`).join(" "))
        const now = n.clock.currentTimeMillisUnsafe()
        const snap = core.snapshot(now)
        console.log(" origins", JSON.stringify(snap.reduce((m: any, v: any) => ((m[`${v.origin}/${v.active}/${v.verified}`] = (m[`${v.origin}/${v.active}/${v.verified}`] ?? 0) + 1), m), {})), "interval", core.pingIntervalMs())
      }
      return { checks: [], figures: [] }
    })
}
const o = await Effect.runPromise(Runner.run({ scenario, seed: 1, nodes: 50, virtualMinutes: 0, crypto: "fake" }))
console.log(Runner.formatOutcome(o).slice(0, 6).join("\n"))
