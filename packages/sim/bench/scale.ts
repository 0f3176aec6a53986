// biome-ignore-all assist/source/organizeImports: AsyncContextOff must load before effect does.
import * as AsyncContextOff from "@dave/sim/AsyncContextOff"
/**
 * Scale benchmark (fake crypto, seed 7):
 *  1. wall and CPU time of 1,000 nodes × 1 hour of virtual time (goal: ≤ 60 s wall);
 *  2. the largest network that runs one virtual hour within 5 minutes of wall time (goal: 10,000):
 *     10,000 nodes first when the first run's cost says it may fit, else a guess from that cost;
 *     then 70 % of the last size that did not fit, at most 3 runs, each cut off at 5 minutes.
 * Each run is the "hour" scenario (src/scenarios/Hour.ts), which checks something: every node has
 * >= k active peers once formed and at the end, and in the last 5 virtual minutes a sample of PUTs
 * written through random nodes is read back through other random nodes.
 * Node settings: the coarse profile (SimParams.coarse) unless --liveness-scale / --max-peers /
 * --activation-scale say otherwise.
 *
 *   pnpm --filter @dave/sim bench [-- --quick (300 nodes, no ladder)] [--sizes 2000,5000] [--base 1000] [--minutes 60]
 *                                    [--liveness-scale 600] [--max-peers 16] [--activation-scale 120]
 *
 * Exits 0 whether the goals are met or not (it is a benchmark); each goal line says MET or SHORT.
 */
import { parseArgs } from "node:util"
import { Runner, Scenarios, SimParams } from "@dave/sim"
import { Effect } from "effect"

AsyncContextOff.restore()

const LADDER_WALL_CAP_MS = 5 * 60_000
const MAX_LADDER_RUNS = 3
const BASE_GOAL_WALL_MS = 60_000
const LADDER_GOAL_NODES = 10_000

/** User + system CPU time of this process so far, in ms (reported beside wall time). */
const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

interface Tuning {
  readonly livenessScale?: number | undefined
  readonly maxPeers?: number | undefined
  readonly activationScale?: number | undefined
}

interface Measured {
  readonly outcome: Runner.Outcome
  readonly cpuMs: number
}

const paramsFor = (nodes: number, tuning: Tuning): SimParams.SimParams =>
  SimParams.scaled({
    nodes,
    livenessScale: tuning.livenessScale ?? SimParams.COARSE.livenessScale,
    maxPeers: tuning.maxPeers ?? SimParams.COARSE.maxPeers,
    activationScale: tuning.activationScale ?? SimParams.COARSE.activationScale
  })

const runOnce = (nodes: number, virtualMs: number, tuning: Tuning, capMs?: number): Effect.Effect<Measured> =>
  Effect.gen(function* () {
    const wallStart = performance.now()
    const cpuStart = cpuMs()
    const outcome = yield* Runner.run({
      scenario: Scenarios.hour,
      seed: 7,
      nodes,
      virtualMinutes: virtualMs / 60_000,
      crypto: "fake",
      params: paramsFor(nodes, tuning),
      ...(capMs === undefined ? {} : { abortWhen: () => performance.now() - wallStart > capMs })
    })
    const cpu = cpuMs() - cpuStart
    const s = outcome.summary
    const nodeSeconds = nodes * (s.virtualMs / 1000)
    console.log(
      `${nodes} nodes x ${(s.virtualMs / 60_000).toFixed(0)} virtual min: wall ${(outcome.wallMs / 1000).toFixed(1)} s,` +
        ` CPU ${(cpu / 1000).toFixed(1)} s user+sys (${((cpu * 1000) / nodeSeconds).toFixed(1)} us per node-second),` +
        ` ${outcome.passed ? "passed" : "FAILED"}`
    )
    console.log(
      `  datagrams delivered ${s.network.datagramsDelivered} (${(s.network.datagramsDelivered / nodeSeconds).toFixed(3)} per node-second),` +
        ` events ${s.eventsFired}, trace ${s.traceHash}`
    )
    for (const [name, value] of outcome.report?.figures ?? []) console.log(`  ${name}: ${value}`)
    console.log(`  RSS of the process after the run MiB: ${(process.memoryUsage().rss / 1048576).toFixed(0)}`)
    if (!outcome.passed) console.log(`  ${outcome.failure?.split("\n").join("\n  ")}`)
    return { outcome, cpuMs: cpu }
  })

const metOrShort = (met: boolean): string => (met ? "MET" : "SHORT")

const main = Effect.gen(function* () {
  const args = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== "--"),
    options: {
      quick: { type: "boolean" },
      sizes: { type: "string" },
      base: { type: "string" },
      minutes: { type: "string" },
      "liveness-scale": { type: "string" },
      "max-peers": { type: "string" },
      "activation-scale": { type: "string" }
    }
  }).values
  const numberArg = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined
    const n = Number(text)
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive whole number`)
    return n
  }
  const tuning: Tuning = {
    ...(args["liveness-scale"] === undefined
      ? {}
      : { livenessScale: numberArg("liveness-scale", args["liveness-scale"]) }),
    ...(args["max-peers"] === undefined ? {} : { maxPeers: numberArg("max-peers", args["max-peers"]) }),
    ...(args["activation-scale"] === undefined
      ? {}
      : { activationScale: numberArg("activation-scale", args["activation-scale"]) })
  }
  const quick = args.quick === true
  const minutes = numberArg("minutes", args.minutes) ?? 60
  const virtualMs = minutes * 60_000
  const baseNodes = numberArg("base", args.base) ?? (quick ? 300 : 1_000)
  const fullSize = minutes === 60 && baseNodes === 1_000
  const p = paramsFor(baseNodes, tuning)
  console.log(`scale benchmark (fake crypto, seed 7, ${minutes} virtual minutes per run)`)
  console.log(
    `profile: ping interval ${(p.peers.minPingIntervalMs ?? 0) / 1000} s, activation ${(p.peers.activateAfterMs ?? 0) / 1000} s,` +
      ` deactivation ${(p.peers.deactivateAfterMs ?? 0) / 1000} s, drop ${(p.peers.dropAfterMs ?? 0) / 1000} s,` +
      ` table ${p.peers.maxPeers} (bootstrap ${p.bootstrapMaxPeers} at ${baseNodes} nodes), tick ${(p.node.tickEveryMs ?? 0) / 1000} s,` +
      ` storage challenges and re-replication every ${(p.node.storageChallengeEveryMs ?? 0) / 1000} s`
  )

  const base = yield* runOnce(baseNodes, virtualMs, tuning)
  const baseWallMs = base.outcome.wallMs
  console.log(
    `${baseNodes} nodes x ${minutes} virtual min: wall ${(baseWallMs / 1000).toFixed(1)} s, CPU ${(base.cpuMs / 1000).toFixed(1)} s` +
      (fullSize
        ? ` (goal <= ${BASE_GOAL_WALL_MS / 1000} s wall): ${metOrShort(base.outcome.passed && baseWallMs <= BASE_GOAL_WALL_MS)}`
        : " (the goal is for 1000 nodes x 60 min)")
  )

  // Cost per node-second from the base run; larger networks cost a little more per node.
  const costPerNodeMs = baseWallMs / (baseNodes * (base.outcome.summary.virtualMs / 1000))
  const guess = Math.floor((0.9 * LADDER_WALL_CAP_MS) / (costPerNodeMs * (virtualMs / 1000)) / 100) * 100
  // --quick: the first run only.
  const sizes =
    args.sizes === undefined
      ? quick
        ? []
        : [Math.min(LADDER_GOAL_NODES, guess)]
      : args.sizes
          .split(",")
          .filter((x) => x !== "")
          .map(Number)
  let largest = base.outcome.passed && baseWallMs <= LADDER_WALL_CAP_MS ? baseNodes : 0
  // sizes grows as the loop goes (70 % of a size that did not fit); MAX_LADDER_RUNS bounds it.
  for (let run = 0; run < MAX_LADDER_RUNS && run < sizes.length; run++) {
    const nodes = sizes[run]!
    if (!Number.isSafeInteger(nodes) || nodes < 2 || nodes > 100_000 || nodes <= largest) continue
    const { outcome } = yield* runOnce(nodes, virtualMs, tuning, LADDER_WALL_CAP_MS)
    const fits = outcome.passed && outcome.wallMs <= LADDER_WALL_CAP_MS
    if (fits) largest = nodes
    // Without --sizes: stop at the first size that fits, else try 70 % of it.
    if (args.sizes === undefined && !fits) sizes.push(Math.floor((nodes * 0.7) / 100) * 100)
    if (args.sizes === undefined && fits) break
  }
  console.log(
    `largest network run for ${minutes} virtual min within 5 min wall: ${largest} nodes` +
      (minutes === 60
        ? ` (goal ${LADDER_GOAL_NODES}): ${metOrShort(largest >= LADDER_GOAL_NODES)}`
        : ` (the goal is ${LADDER_GOAL_NODES} nodes for 60 min)`)
  )
})

Effect.runPromise(main).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
