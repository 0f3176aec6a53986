/**
 * What one run measures: network sizes, operation counts, and the bound on every phase. The full run
 * fits in ~15 minutes on a 2-core machine; BENCH_QUICK=1 (20 nodes, 50 operations) in ~2.
 */

export const SYSTEMS = ["bittorrent-dht", "hyperdht", "ours", "ours-processes"] as const
export type SystemName = (typeof SYSTEMS)[number]

export interface BenchConfig {
  readonly quick: boolean
  /** Network sizes of the in-process systems. */
  readonly sizes: ReadonlyArray<number>
  /** Network sizes of ours as separate daemon processes. */
  readonly processSizes: ReadonlyArray<number>
  readonly systems: ReadonlyArray<SystemName>
  /** Operations per phase (puts, then gets of what was put). */
  readonly ops: number
  /** Operations in flight in the concurrent phases. */
  readonly inFlight: number
  /** Put + get pairs before the measured phases, the same for every system (JIT, caches, first lookups). */
  readonly warmupOps: number
  readonly valueBytes: number
  /** Our proof-of-work bits: the network minimum. */
  readonly difficulty: number
  /** One operation taking longer counts as failed. */
  readonly opTimeoutMs: number
  /** No operation of a phase starts after this. */
  readonly phaseLimitMs: number
  /** The longest wait for a network to form before its workload runs anyway. */
  readonly formLimitMs: number
  /** A whole system run (start, workload, teardown) is killed past this. */
  readonly taskLimitMs: number
  /** The same for ours as daemon processes, which take longer to start. */
  readonly processTaskLimitMs: number
  readonly micro: boolean
  /** Profile our in-process run (node --cpu-prof) and print where its time went. */
  readonly profile: boolean
}

const list = (text: string | undefined): Array<string> | undefined =>
  text === undefined || text.trim() === ""
    ? undefined
    : text
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0)

const sizesFrom = (text: string | undefined, fallback: ReadonlyArray<number>): ReadonlyArray<number> => {
  const parsed = list(text)?.map(Number)
  if (parsed === undefined) return fallback
  const bad = parsed.find((n) => !Number.isInteger(n) || n < 3 || n > 500)
  if (bad !== undefined) throw new Error(`network sizes must be integers in 3..500, got ${text}`)
  return parsed
}

const positive = (name: string, text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${text}`)
  return n
}

/** The configuration from the environment (BENCH_QUICK, BENCH_SIZES, BENCH_SYSTEMS, ...). */
export const fromEnv = (env: NodeJS.ProcessEnv): BenchConfig => {
  const quick = env.BENCH_QUICK === "1"
  // "none": the micro-benchmarks only.
  const fallback = [...SYSTEMS]
  const systems = env.BENCH_SYSTEMS === "none" ? [] : (list(env.BENCH_SYSTEMS) ?? fallback)
  const unknown = systems.find((s) => !(SYSTEMS as ReadonlyArray<string>).includes(s))
  if (unknown !== undefined) throw new Error(`unknown system ${unknown}; known: ${SYSTEMS.join(", ")}`)
  return {
    quick,
    sizes: sizesFrom(env.BENCH_SIZES, quick ? [20] : [20, 100]),
    // 100 daemons need ~100 node processes' memory and start-up CPU: see the report's notes. The quick
    // run leaves the daemons out: starting 20 takes most of a minute on 2 cores.
    processSizes: sizesFrom(env.BENCH_PROCESS_SIZES, quick ? [] : [20]),
    systems: systems as Array<SystemName>,
    ops: positive("BENCH_OPS", env.BENCH_OPS, quick ? 50 : 200),
    inFlight: positive("BENCH_IN_FLIGHT", env.BENCH_IN_FLIGHT, 64),
    // Enough for the JIT to compile the hot paths of every system: the phases measure the steady state.
    warmupOps: positive("BENCH_WARMUP", env.BENCH_WARMUP, quick ? 10 : 100),
    valueBytes: 110,
    difficulty: 8,
    opTimeoutMs: 10_000,
    phaseLimitMs: quick ? 15_000 : 60_000,
    formLimitMs: quick ? 30_000 : 45_000,
    taskLimitMs: quick ? 150_000 : 300_000,
    processTaskLimitMs: 480_000,
    micro: env.BENCH_MICRO !== "0",
    profile: env.BENCH_PROFILE === "1"
  }
}
