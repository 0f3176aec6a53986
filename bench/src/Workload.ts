import type { BenchConfig } from "./Config.ts"
import { mean, quantile, withTimeout } from "./Stats.ts"

/**
 * The workload every system runs: a warm-up, then `ops` puts one at a time and `ops` gets of them
 * (through another node than the writer), then the same with `inFlight` operations at once on a
 * fresh set of keys. Each phase is bounded in count and in time; each operation by a timeout.
 */

export interface OpOutcome {
  /** A put acknowledged by at least one storing node; a get that returned the value put. */
  readonly ok: boolean
  /** Ours only: signing plus proof of work of this put, ms. */
  readonly powMs?: number
}

/** One system's network, driven by operation number: `set` keeps the phases' keys apart. */
export interface Target {
  readonly put: (set: number, index: number) => Promise<OpOutcome>
  readonly get: (set: number, index: number) => Promise<OpOutcome>
}

export const SET_WARMUP = 0
export const SET_SEQUENTIAL = 1
export const SET_CONCURRENT = 2
export const SETS = 3

export interface PhaseResult {
  readonly op: "put" | "get"
  readonly inFlight: number
  readonly total: number
  /** Operations that finished, acknowledged or not (the rest were not started within the phase limit). */
  readonly completed: number
  readonly found: number
  readonly elapsedMs: number
  /** Successful operations per second of phase time. */
  readonly opsPerSecond: number
  /** Over every finished operation, failed ones included (a timeout counts as its full wait); NaN if none succeeded. */
  readonly p50Ms: number
  readonly p99Ms: number
  /** Mean signing + proof-of-work time per put (ours), ms. */
  readonly powMs?: number
}

const failed: OpOutcome = { ok: false }

/** Runs `run(0..total-1)` with at most `inFlight` at once, none started after `limitMs`. */
export const runPhase = async (
  op: "put" | "get",
  run: (index: number) => Promise<OpOutcome>,
  total: number,
  inFlight: number,
  limits: { readonly opTimeoutMs: number; readonly phaseLimitMs: number }
): Promise<PhaseResult> => {
  const latencies: Array<number> = []
  const pows: Array<number> = []
  let found = 0
  let next = 0
  const start = performance.now()
  const deadline = start + limits.phaseLimitMs
  await new Promise<void>((resolve) => {
    let running = 0
    const launch = (): void => {
      while (running < inFlight && next < total && performance.now() < deadline) {
        const index = next++
        running++
        const opStart = performance.now()
        const attempt = Promise.resolve()
          .then(() => run(index))
          .catch(() => failed)
        void withTimeout(attempt, limits.opTimeoutMs, () => failed).then((outcome) => {
          latencies.push(performance.now() - opStart)
          if (outcome.ok) found++
          if (outcome.powMs !== undefined) pows.push(outcome.powMs)
          running--
          launch()
        })
      }
      if (running === 0) resolve()
    }
    launch()
  })
  const elapsedMs = performance.now() - start
  return {
    op,
    inFlight,
    total,
    completed: latencies.length,
    found,
    elapsedMs,
    opsPerSecond: (found * 1000) / Math.max(1, elapsedMs),
    // With nothing found there is no latency to speak of (failures may be instant).
    p50Ms: found === 0 ? Number.NaN : quantile(latencies, 0.5),
    p99Ms: found === 0 ? Number.NaN : quantile(latencies, 0.99),
    ...(pows.length === 0 ? {} : { powMs: mean(pows) })
  }
}

/** Warm-up (unmeasured), then the four measured phases. */
export const runWorkload = async (
  target: Target,
  config: BenchConfig,
  log: (line: string) => void
): Promise<Array<PhaseResult>> => {
  const limits = { opTimeoutMs: config.opTimeoutMs, phaseLimitMs: config.phaseLimitMs }
  const warmPuts = await runPhase("put", (i) => target.put(SET_WARMUP, i), config.warmupOps, 1, limits)
  const warmGets = await runPhase("get", (i) => target.get(SET_WARMUP, i), config.warmupOps, 1, limits)
  log(`  warm-up: ${warmPuts.found}/${warmPuts.total} puts, ${warmGets.found}/${warmGets.total} gets`)
  const results: Array<PhaseResult> = []
  for (const [set, inFlight] of [
    [SET_SEQUENTIAL, 1],
    [SET_CONCURRENT, config.inFlight]
  ] as const) {
    const puts = await runPhase("put", (i) => target.put(set, i), config.ops, inFlight, limits)
    // The gets read what the puts attempted: a put the phase limit left out is not read.
    const gets = await runPhase("get", (i) => target.get(set, i), puts.completed, inFlight, limits)
    for (const result of [puts, gets]) {
      log(
        `  ${result.op} x${inFlight}: ${result.found}/${result.total} in ${Math.round(result.elapsedMs)} ms, ` +
          `${result.opsPerSecond.toFixed(1)}/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms`
      )
      results.push(result)
    }
  }
  return results
}
