import * as Inspector from "node:inspector/promises"
import { fromEnv } from "./Config.ts"
import * as Profile from "./Profile.ts"
import * as OursInProcess from "./systems/OursInProcess.ts"
import { ownCpuMs } from "./systems/System.ts"
import { runPhase, runWorkload, SET_SEQUENTIAL, SET_WARMUP } from "./Workload.ts"

/**
 * A focused run for iterating on our node: ours in one process only, at each of BENCH_SIZES, with
 * the same workload and configuration as `pnpm bench` (BENCH_QUICK, BENCH_OPS, ...), and with
 * BENCH_PROFILE=1 a CPU profile of the workload phases alone (formation left out), with BENCH_PROFILE=idle
 * one of the idle network before it, with BENCH_PROFILE=put1 or get1 one of that sequential phase alone
 * (BENCH_ELU=1: that phase alone without the profiler, with the main thread's busy time per op).
 * BENCH_PROFILE_OUT=file also writes the raw profile (a .cpuprofile for Chrome DevTools). With
 * BENCH_ALLOC=1 instead of a CPU profile, where that phase's allocations come from (sampled).
 * Writes no results.
 *   BENCH_QUICK=1 BENCH_SIZES=100 BENCH_PROFILE=1 node --conditions=source --expose-gc src/focus.ts
 */

const IDLE_MS = 3_000
const PROFILE_LINES = 60

const config = fromEnv(process.env)

const startProfile = async (): Promise<Inspector.Session> => {
  const session = new Inspector.Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.start")
  return session
}

const stopProfile = async (session: Inspector.Session, what: string): Promise<void> => {
  const { profile } = await session.post("Profiler.stop")
  session.disconnect()
  if (process.env.BENCH_PROFILE_OUT)
    (await import("node:fs")).writeFileSync(process.env.BENCH_PROFILE_OUT, JSON.stringify(profile))
  log(`  profile of the ${what} phase:`)
  const summary = Profile.summarize(profile as Parameters<typeof Profile.summarize>[0], PROFILE_LINES)
  for (const line of Profile.format(summary)) log(line)
}
const log = (line: string): void => console.log(line)

// Sampled allocations (every 4 KiB allocated, with the stack, collected or not), for where the garbage comes from.
const startAllocations = async (): Promise<Inspector.Session> => {
  const session = new Inspector.Session()
  session.connect()
  await session.post("HeapProfiler.enable")
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 4_096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true
  })
  return session
}

const stopAllocations = async (session: Inspector.Session, ops: number): Promise<void> => {
  const { profile } = await session.post("HeapProfiler.stopSampling")
  session.disconnect()
  const summary = Profile.summarizeAllocations(
    profile as Parameters<typeof Profile.summarizeAllocations>[0],
    PROFILE_LINES
  )
  log(`  allocations, ${(summary.totalBytes / ops / 1024).toFixed(1)} KiB per op:`)
  for (const line of Profile.formatAllocations(summary)) log(line)
}

for (const nodes of config.sizes) {
  log(`ours, ${nodes} nodes`)
  const running = await OursInProcess.start(nodes, config, log)
  try {
    const profileIdle = process.env.BENCH_PROFILE === "idle"
    const idleSession = profileIdle ? await startProfile() : undefined
    const cpuBefore = ownCpuMs()
    const idleStart = performance.now()
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
    log(`  idle CPU ${((100 * (ownCpuMs() - cpuBefore)) / (performance.now() - idleStart)).toFixed(0)} % of a core`)
    if (idleSession !== undefined) await stopProfile(idleSession, "idle")
    const sequential = process.env.BENCH_PROFILE
    if (sequential === "put1" || sequential === "get1") {
      // One latency-bound phase alone, profiled: the sequential puts, or the gets that follow them.
      const limits = { opTimeoutMs: config.opTimeoutMs, phaseLimitMs: config.phaseLimitMs }
      await runPhase("put", (i) => running.target.put(SET_WARMUP, i), config.warmupOps, 1, limits)
      // Each op's latency, for the shape of the tail (the phase's ops/s is its mean).
      const latencies: Array<number> = []
      const timed = async <A>(run: () => Promise<A>): Promise<A> => {
        const start = performance.now()
        const result = await run()
        latencies.push(performance.now() - start)
        return result
      }
      const put = (i: number) => timed(() => running.target.put(SET_SEQUENTIAL, i))
      const get = (i: number) => timed(() => running.target.get(SET_SEQUENTIAL, i))
      if (sequential === "get1") await runPhase("put", put, config.ops, 1, limits)
      const session =
        process.env.BENCH_ELU === "1" || process.env.BENCH_ALLOC === "1" ? undefined : await startProfile()
      const allocSession = process.env.BENCH_ALLOC === "1" ? await startAllocations() : undefined
      const elu = performance.eventLoopUtilization()
      const phase = sequential === "put1" ? "put" : "get"
      const result = await runPhase(phase, phase === "put" ? put : get, config.ops, 1, limits)
      const busy = performance.eventLoopUtilization(elu)
      const measured = latencies.slice(-config.ops).sort((a, b) => a - b)
      const at = (q: number) => measured[Math.min(measured.length - 1, Math.floor(q * measured.length))]!.toFixed(2)
      const meanMs = measured.reduce((sum, ms) => sum + ms, 0) / Math.max(1, measured.length)
      log(
        `  latency ms: mean ${meanMs.toFixed(2)}, p50 ${at(0.5)}, p90 ${at(0.9)}, p99 ${at(0.99)}, max ${at(1)}; over 3 ms: ${measured.filter((ms) => ms > 3).length}`
      )
      log(
        `  main thread busy ${((1_000 * busy.active) / config.ops).toFixed(0)} µs per op, utilization ${busy.utilization.toFixed(2)}`
      )
      if (session !== undefined) await stopProfile(session, `${phase} x1`)
      if (allocSession !== undefined) await stopAllocations(allocSession, config.ops)
      log(
        `  ${phase} x1: ${result.found}/${result.total}, ${result.opsPerSecond.toFixed(1)}/s, p50 ${result.p50Ms.toFixed(1)} ms`
      )
    } else {
      const session = config.profile && !profileIdle ? await startProfile() : undefined
      await runWorkload(running.target, config, log)
      if (session !== undefined) await stopProfile(session, "workload")
    }
    log(`  outcomes: ${running.outcomes?.() ?? ""}`)
  } finally {
    await running.close()
  }
}
process.exit(0)
