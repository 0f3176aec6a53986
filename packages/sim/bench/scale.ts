/**
 * Scale benchmark: wall time of 1,000 nodes × 1 hour of virtual time (fake crypto), then a ladder
 * of larger networks, each for one virtual hour and cut off at 5 minutes of wall time, to find the
 * largest that fits. Also RSS per node. Run: pnpm --filter @dave/sim bench [-- --quick] [--sizes 2000,5000]
 * (node with --expose-gc, so RSS is measured after a collection).
 */
import { parseArgs } from "node:util"
import { Runner, type Scenario, Steps } from "@dave/sim"
import { Effect } from "effect"

const HOUR_MS = 60 * 60_000
const LADDER_WALL_CAP_MS = 5 * 60_000

const gcAndRssBytes = (): number => {
  ;(globalThis as { gc?: () => void }).gc?.()
  return process.memoryUsage().rss
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
          ["RSS per node after 1 h KiB", ((rssEnd - rssBefore) / settings.nodes / 1024).toFixed(0)],
          ["RSS total after 1 h MiB", (rssEnd / 1024 / 1024).toFixed(0)]
        ]
      }
    })
})

const runOnce = (nodes: number, virtualMs: number, capMs?: number) =>
  Effect.gen(function* () {
    const wallStart = performance.now()
    const outcome = yield* Runner.run({
      scenario: hour(virtualMs),
      seed: 7,
      nodes,
      virtualMinutes: 0,
      crypto: "fake",
      ...(capMs === undefined ? {} : { abortWhen: () => performance.now() - wallStart > capMs })
    })
    const s = outcome.summary
    const perNodeSecondUs = (outcome.wallMs * 1000) / (nodes * (s.virtualMs / 1000))
    console.log(
      `${nodes} nodes x ${(s.virtualMs / 60_000).toFixed(0)} virtual min: wall ${(outcome.wallMs / 1000).toFixed(1)} s` +
        ` (${perNodeSecondUs.toFixed(1)} us per node-second), ${outcome.passed ? "passed" : "FAILED"}`
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
    options: { quick: { type: "boolean" }, sizes: { type: "string" } }
  }).values
  const quick = args.quick === true
  const virtualMs = quick ? 10 * 60_000 : HOUR_MS
  console.log(`scale benchmark (fake crypto, seed 7${quick ? ", quick: 10 virtual minutes" : ""})`)

  const base = yield* runOnce(1_000, virtualMs)
  console.log(
    `1000 nodes x ${quick ? "10 min" : "1 h"} virtual: ${(base.wallMs / 1000).toFixed(1)} s wall (goal <= ${quick ? "10" : "60"} s)`
  )

  const sizes = (args.sizes ?? (quick ? "2000" : "2000,5000,10000")).split(",").map(Number)
  let largest = base.passed && base.wallMs <= LADDER_WALL_CAP_MS ? 1_000 : 0
  for (const nodes of sizes) {
    if (!Number.isSafeInteger(nodes) || nodes < 2 || nodes > 100_000) continue
    const outcome = yield* runOnce(nodes, virtualMs, LADDER_WALL_CAP_MS)
    if (!outcome.passed || outcome.wallMs > LADDER_WALL_CAP_MS) break
    largest = nodes
  }
  console.log(`largest network run for ${quick ? "10 virtual min" : "1 virtual hour"} within 5 min wall: ${largest} nodes (goal 10,000)`)
})

Effect.runPromise(main).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
