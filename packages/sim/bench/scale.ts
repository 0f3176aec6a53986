/**
 * Scale benchmark: wall time of 1,000 nodes × 1 hour of virtual time (fake crypto), then the largest
 * network that runs one virtual hour within 5 minutes of wall time (a guess from the first run's
 * cost, then 70 % of it, each cut off at 5 minutes). Also RSS and JS heap per node. Run: pnpm --filter @dave/sim bench [-- --quick] [--sizes 2000,5000]
 * [--base 1000] [--minutes 60] [--liveness-scale 60] [--max-peers 32] (node runs with --expose-gc, so
 * RSS is measured after a collection).
 */
import { parseArgs } from "node:util"
import { Runner, type Scenario, SimParams, Steps } from "@dave/sim"
import { Effect } from "effect"

const LADDER_WALL_CAP_MS = 5 * 60_000
const MAX_LADDER_RUNS = 4

const gcAndRssBytes = (): number => {
  ;(globalThis as { gc?: () => void }).gc?.()
  return process.memoryUsage().rss
}

const heapAndExternal = (): string => {
  const m = process.memoryUsage()
  return `${(m.heapUsed / 1048576).toFixed(0)} / ${(m.external / 1048576).toFixed(0)}`
}

/** N nodes join over 30 s; the network runs until one virtual hour has passed since the first start. */
const hour = (virtualMs: number): Scenario.Scenario => ({
  name: "hour",
  description: "nodes join over 30 s and run for the rest of the virtual duration",
  defaultNodes: 1_000,
  maxVirtualMs: () => virtualMs + 60_000,
  run: (world, settings) =>
    Effect.gen(function* () {
      const startMs = world.nowMs
      const rssBefore = gcAndRssBytes()
      const nodes = yield* world.addNodes(settings.nodes)
      yield* world.startAll(nodes, 30_000)
      const rssStarted = gcAndRssBytes()
      const k = Steps.formThreshold(settings.nodes)
      const formedAfterMs = yield* Steps.waitUntil(world, virtualMs - (world.nowMs - startMs), 10_000, () =>
        world.running().every((n) => Steps.activeCount(n) >= k)
      )
      yield* world.sleep(startMs + virtualMs - world.nowMs)
      const rssEnd = gcAndRssBytes()
      const counts = Steps.activeCounts(world.running())
      return {
        checks: [
          { name: "network forms", passed: formedAfterMs !== undefined, detail: `formed after ${formedAfterMs} ms` },
          { name: "stays formed", passed: Math.min(...counts) >= k, detail: `least active ${Math.min(...counts)}` }
        ],
        figures: [
          ["formed after s", formedAfterMs === undefined ? "never" : formedAfterMs / 1000],
          ["active peers min / mean", `${Math.min(...counts)} / ${Steps.mean(counts).toFixed(1)}`],
          ["RSS per node after start KiB", ((rssStarted - rssBefore) / settings.nodes / 1024).toFixed(0)],
          ["RSS per node at the end KiB", ((rssEnd - rssBefore) / settings.nodes / 1024).toFixed(0)],
          ["RSS total at the end MiB", (rssEnd / 1024 / 1024).toFixed(0)],
          ["JS heap used / external at the end MiB", heapAndExternal()]
        ]
      }
    })
})

interface Tuning {
  readonly livenessScale?: number
  readonly maxPeers?: number
}

const runOnce = (nodes: number, virtualMs: number, tuning: Tuning, capMs?: number) =>
  Effect.gen(function* () {
    const wallStart = performance.now()
    const cpuStart = process.cpuUsage()
    const outcome = yield* Runner.run({
      scenario: hour(virtualMs),
      seed: 7,
      nodes,
      virtualMinutes: 0,
      crypto: "fake",
      params: SimParams.scaled({ nodes, ...tuning }),
      ...(capMs === undefined ? {} : { abortWhen: () => performance.now() - wallStart > capMs })
    })
    const cpuMs = process.cpuUsage(cpuStart).user / 1000
    const s = outcome.summary
    const nodeSeconds = nodes * (s.virtualMs / 1000)
    console.log(
      `${nodes} nodes x ${(s.virtualMs / 60_000).toFixed(0)} virtual min: wall ${(outcome.wallMs / 1000).toFixed(1)} s,` +
        ` CPU ${(cpuMs / 1000).toFixed(1)} s (${((cpuMs * 1000) / nodeSeconds).toFixed(1)} us CPU per node-second),` +
        ` ${outcome.passed ? "passed" : "FAILED"}`
    )
    console.log(
      `  datagrams delivered ${s.network.datagramsDelivered} (${(s.network.datagramsDelivered / nodes / (s.virtualMs / 1000)).toFixed(2)} per node-second), events ${s.eventsFired}, trace ${s.traceHash}`
    )
    for (const [name, value] of outcome.report?.figures ?? []) console.log(`  ${name}: ${value}`)
    if (!outcome.passed) console.log(`  ${outcome.failure?.split("\n").join("\n  ")}`)
    return outcome
  })

const main = Effect.gen(function* () {
  const args = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== "--"),
    options: {
      quick: { type: "boolean" },
      sizes: { type: "string" },
      base: { type: "string" },
      minutes: { type: "string" },
      "liveness-scale": { type: "string" },
      "max-peers": { type: "string" }
    }
  }).values
  const tuning: Tuning = {
    ...(args["liveness-scale"] === undefined ? {} : { livenessScale: Number(args["liveness-scale"]) }),
    ...(args["max-peers"] === undefined ? {} : { maxPeers: Number(args["max-peers"]) })
  }
  const quick = args.quick === true
  const minutes = args.minutes === undefined ? (quick ? 10 : 60) : Number(args.minutes)
  const virtualMs = minutes * 60_000
  const baseNodes = args.base === undefined ? 1_000 : Number(args.base)
  console.log(`scale benchmark (fake crypto, seed 7, ${minutes} virtual minutes per run)`)
  const p = SimParams.scaled({ nodes: baseNodes, ...tuning })
  console.log(
    `parameters at ${baseNodes} nodes: liveness x${(p.peers.minPingIntervalMs ?? 1000) / 1000}, table ${p.peers.maxPeers}` +
      ` (bootstrap ${p.bootstrapMaxPeers}), ${p.peers.maxPingsPerSecond} PINGs/s per tick, tick ${p.node.tickEveryMs} ms`
  )

  const base = yield* runOnce(baseNodes, virtualMs, tuning)
  console.log(
    `${baseNodes} nodes x ${minutes} virtual min: ${(base.wallMs / 1000).toFixed(1)} s wall` +
      (baseNodes === 1_000 && minutes === 60 ? " (goal <= 60 s)" : "")
  )

  // The largest network that runs `minutes` of virtual time within 5 minutes of wall time: sizes
  // given with --sizes, else a guess from the base run's cost per node-second, then 70 % of it.
  const costPerNodeMs = base.wallMs / (baseNodes * (base.summary.virtualMs / 1000))
  const guess = Math.floor(LADDER_WALL_CAP_MS / (costPerNodeMs * (virtualMs / 1000)) / 100) * 100
  const sizes =
    args.sizes === undefined
      ? [guess, Math.floor((guess * 0.7) / 100) * 100]
      : args.sizes
          .split(",")
          .filter((x) => x !== "")
          .map(Number)
  let largest = base.passed && base.wallMs <= LADDER_WALL_CAP_MS ? baseNodes : 0
  for (const nodes of sizes.slice(0, MAX_LADDER_RUNS)) {
    if (!Number.isSafeInteger(nodes) || nodes < 2 || nodes > 100_000 || nodes <= largest) continue
    const outcome = yield* runOnce(nodes, virtualMs, tuning, LADDER_WALL_CAP_MS)
    if (outcome.passed && outcome.wallMs <= LADDER_WALL_CAP_MS) {
      largest = nodes
      if (args.sizes === undefined) break
    }
  }
  console.log(
    `largest network run for ${minutes} virtual min within 5 min wall: ${largest} nodes (goal 10,000 for 60 min)`
  )
})

Effect.runPromise(main).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
