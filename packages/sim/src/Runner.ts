import { Data, Effect, Exit } from "effect"
import { defaultParams, failedChecks, type Report, type Scenario, type Settings } from "./Scenario.ts"
import type { Mode } from "./SimCrypto.ts"
import type { NetworkOptions } from "./SimNetwork.ts"
import type * as SimParams from "./SimParams.ts"
import * as Simulation from "./Simulation.ts"

/**
 * Runs a scenario and judges it: passed when the scenario finished and every check held. A failed
 * run's message names the seed and the command that reproduces it.
 */

export interface Request {
  readonly scenario: Scenario
  readonly seed: number
  readonly nodes: number
  readonly virtualMinutes: number
  readonly crypto: Mode
  /** Overrides of SimParams.scaled's defaults (see Settings). */
  readonly livenessScale?: number | undefined
  readonly maxPeers?: number | undefined
  /** Overrides the scenario's node settings entirely. */
  readonly params?: SimParams.SimParams
  readonly network?: NetworkOptions
  /** See Simulation.Options.abortWhen. */
  readonly abortWhen?: () => boolean
}

export interface Outcome {
  readonly request: Request
  readonly report: Report | undefined
  readonly summary: Simulation.Summary
  readonly passed: boolean
  /** Why it failed, with the seed and the command to re-run it; undefined when it passed. */
  readonly failure: string | undefined
  /** Real time the run took (not part of the simulation). */
  readonly wallMs: number
}

export class ScenarioFailed extends Data.TaggedError("ScenarioFailed")<{ readonly outcome: Outcome }> {
  override get message(): string {
    return this.outcome.failure ?? "scenario failed"
  }
}

export const settingsOf = (request: Request): Settings => ({
  nodes: request.nodes,
  virtualMinutes: request.virtualMinutes,
  livenessScale: request.livenessScale,
  maxPeers: request.maxPeers
})

export const reproduceCommand = (request: Request): string =>
  `pnpm sim -- --scenario ${request.scenario.name} --seed ${request.seed} --nodes ${request.nodes}` +
  ` --virtual-minutes ${request.virtualMinutes} --crypto ${request.crypto}` +
  (request.livenessScale === undefined ? "" : ` --liveness-scale ${request.livenessScale}`) +
  (request.maxPeers === undefined ? "" : ` --max-peers ${request.maxPeers}`)

export const run = (request: Request): Effect.Effect<Outcome> =>
  Effect.gen(function* () {
    const settings = settingsOf(request)
    const params = request.params ?? request.scenario.params?.(settings) ?? defaultParams(settings)
    // Real time is read only to report how long the run took; the simulation never sees it.
    const wallStart = performance.now()
    const result = yield* Simulation.run(
      {
        seed: request.seed,
        crypto: request.crypto,
        params,
        maxVirtualMs: request.scenario.maxVirtualMs(settings),
        ...(request.network === undefined ? {} : { network: request.network }),
        ...(request.abortWhen === undefined ? {} : { abortWhen: request.abortWhen })
      },
      (world) => request.scenario.run(world, settings)
    )
    const wallMs = performance.now() - wallStart
    const report = Exit.isSuccess(result.exit) ? result.exit.value : undefined
    const problems =
      report === undefined
        ? [`did not finish: ${Simulation.describeFailure(result.exit)}`]
        : failedChecks(report).map((c) => `${c.name}: ${c.detail}`)
    const failure =
      problems.length === 0
        ? undefined
        : `scenario "${request.scenario.name}" failed with seed ${request.seed}` +
          ` (${request.nodes} nodes, ${request.crypto} crypto, trace ${result.summary.traceHash}):\n  ` +
          `${problems.join("\n  ")}\n  re-run: ${reproduceCommand(request)}`
    return { request, report, summary: result.summary, passed: failure === undefined, failure, wallMs }
  })

/** Fails with the outcome's message (seed included) unless it passed. */
export const expectPassed = (outcome: Outcome): Effect.Effect<Outcome, ScenarioFailed> =>
  outcome.passed ? Effect.succeed(outcome) : Effect.fail(new ScenarioFailed({ outcome }))

/** The outcome as plain lines for a terminal. */
export const formatOutcome = (outcome: Outcome): ReadonlyArray<string> => {
  const s = outcome.summary
  const n = s.network
  const lines = [
    `scenario ${outcome.request.scenario.name}: ${outcome.passed ? "PASSED" : "FAILED"}`,
    `seed ${s.seed}, ${outcome.request.nodes} nodes, ${s.crypto} crypto`,
    `trace hash ${s.traceHash} (${s.traceRecords} records)`,
    `virtual time ${(s.virtualMs / 60_000).toFixed(1)} min, wall time ${(outcome.wallMs / 1000).toFixed(1)} s`,
    `events ${s.eventsFired}, fiber tasks ${s.tasksRun}`,
    `datagrams sent ${n.datagramsSent}, delivered ${n.datagramsDelivered}, lost ${n.lost}, duplicated ${n.duplicated},` +
      ` partitioned ${n.partitioned}, unreachable ${n.unreachable}, queue-dropped ${n.queueDropped}`,
    `nodes ${s.nodes} (${s.nodesRunning} running), node log errors ${s.logErrors}, warnings ${s.logWarnings}`
  ]
  for (const [name, value] of outcome.report?.figures ?? []) lines.push(`  ${name}: ${value}`)
  for (const c of outcome.report?.checks ?? []) lines.push(`  [${c.passed ? "ok" : "FAIL"}] ${c.name}: ${c.detail}`)
  for (const e of s.firstErrors) lines.push(`  node error: ${e}`)
  if (outcome.failure !== undefined) lines.push(outcome.failure)
  return lines
}
