import { Effect } from "effect"
import { check, type Scenario, type Settings } from "../Scenario.ts"
import * as SimParams from "../SimParams.ts"
import * as Steps from "../Steps.ts"

/** The sample of PUTs a run writes at its end, and the random readers of each. */
const SAMPLE_PUTS = 5
const READERS_PER_PUT = 6
/** Virtual time kept at the end of the run for the sample of PUTs and its reads. */
const SAMPLE_PHASE_MS = 5 * 60_000
const DEFAULT_MINUTES = 60

/** User + system CPU time of this process, ms. Read for the figures only; never reaches the run. */
const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** JS heap in use after a full collection when node runs with --expose-gc (else as it is). */
const heapUsedAfterGcBytes = (): number => {
  ;(globalThis as { gc?: () => void }).gc?.()
  return process.memoryUsage().heapUsed
}

const minutesOf = (settings: Settings): number =>
  settings.virtualMinutes > 0 ? settings.virtualMinutes : DEFAULT_MINUTES

/**
 * The scale benchmark's run: N nodes join over 30 s and form (every node >= k active peers); the
 * network idles until 5 minutes before the end; then a sample of PUTs is written through random
 * nodes and each is read back through 5 other random nodes; at the end every node must still have
 * k active peers. The node settings are the coarse profile (SimParams.coarse). The sample goes in
 * at the end because with 16-peer tables in a network of thousands each node's view of the
 * closest replicas differs, so forwarding spreads an entry to a large share of the nodes (the
 * holders figure), and storage challenges and re-replication then run on all of them: the idle
 * phase measures the network's own cost, the last minutes that it serves.
 */
export const hour: Scenario = {
  name: "hour",
  description:
    "coarse profile: nodes join over 30 s, form, idle; in the last 5 min a sample of PUTs is written and read back (default 60 virtual min)",
  defaultNodes: 1_000,
  params: (s) =>
    SimParams.scaled({
      ...SimParams.COARSE,
      nodes: s.nodes,
      ...(s.livenessScale === undefined ? {} : { livenessScale: s.livenessScale }),
      ...(s.maxPeers === undefined ? {} : { maxPeers: s.maxPeers })
    }),
  maxVirtualMs: (s) => (minutesOf(s) + 10) * 60_000,
  run: (world, settings) =>
    Effect.gen(function* () {
      const virtualMs = minutesOf(settings) * 60_000
      const startMs = world.nowMs
      const cpuStartMs = cpuMs()
      const heapBefore = heapUsedAfterGcBytes()
      const nodes = yield* world.addNodes(settings.nodes)
      yield* world.startAll(nodes, 30_000)
      const cpuStartedMs = cpuMs()
      const k = Steps.formThreshold(settings.nodes)
      const writesAtMs = startMs + virtualMs - SAMPLE_PHASE_MS
      const formedAfterMs = yield* Steps.waitUntil(world, writesAtMs - world.nowMs, 30_000, () =>
        world.running().every((n) => Steps.activeCount(n) >= k)
      )
      const formedAtMs = world.nowMs
      const cpuFormedMs = cpuMs()
      yield* world.sleep(writesAtMs - world.nowMs)
      const cpuIdleMs = cpuMs()
      const written = yield* Steps.writeEntries(world, SAMPLE_PUTS, { authors: 5, gapMs: 1_000 })
      yield* world.sleep(30_000)
      // Counted before the reads, which leave a copy at every reader.
      const holderCounts = yield* Effect.forEach(written, (w) =>
        Effect.map(Steps.holders(world, w.dat), (h) => h.length)
      )
      const running = world.running()
      const tallies = yield* Effect.forEach(written, (w) =>
        Steps.readAll(
          world,
          world.random.sample(running, READERS_PER_PUT).map((reader) => [reader, w.dat] as const)
        )
      )
      const sum = (f: (t: Steps.ReadTally) => number) => tallies.reduce((n, t) => n + f(t), 0)
      const found = sum((t) => t.found)
      const reads = sum((t) => t.total)
      const foundByMost = tallies.filter((t) => 2 * t.found > t.total).length
      yield* world.sleep(startMs + virtualMs - world.nowMs)
      const cpuEndMs = cpuMs()
      const heapEnd = heapUsedAfterGcBytes()
      const counts = Steps.activeCounts(world.running())
      const least = Math.min(...counts)
      /** µs of CPU per node per virtual second over a phase. */
      const perNodeSecond = (cpuSpanMs: number, virtualSpanMs: number): string =>
        virtualSpanMs <= 0 ? "n/a" : ((cpuSpanMs * 1000) / (settings.nodes * (virtualSpanMs / 1000))).toFixed(1)
      return {
        checks: [
          check(
            "network forms",
            formedAfterMs !== undefined,
            `every node had >= ${k} active peers after ${formedAfterMs === undefined ? "never" : `${formedAfterMs / 1000} s`}`
          ),
          check("sample of PUTs accepted", written.length === SAMPLE_PUTS, `${written.length} of ${SAMPLE_PUTS}`),
          // Most readers, not all: a reader whose view's closest six nodes all lack the entry
          // finds nothing (see the description above).
          check(
            "sample of PUTs retrievable",
            written.length > 0 && foundByMost === written.length,
            `${foundByMost} of ${written.length} PUTs found by most of their ${READERS_PER_PUT} random readers; ${found} of ${reads} reads found`
          ),
          check("stays formed", least >= k, `least active peers at the end ${least} (need ${k})`)
        ],
        figures: [
          ["formed after s", formedAfterMs === undefined ? "never" : formedAfterMs / 1000],
          [
            "reads found / stale / missing / failed",
            `${found} / ${sum((t) => t.stale)} / ${sum((t) => t.missing)} / ${sum((t) => t.failed)} of ${reads}`
          ],
          [
            "nodes holding each sampled PUT before the reads min / mean / max",
            holderCounts.length === 0
              ? "n/a"
              : `${Math.min(...holderCounts)} / ${Steps.mean(holderCounts).toFixed(1)} / ${Math.max(...holderCounts)}`
          ],
          ["active peers at the end min / mean", `${least} / ${Steps.mean(counts).toFixed(1)}`],
          [
            "CPU s: start / forming / formed and idle / PUTs, reads and the rest",
            [cpuStartedMs - cpuStartMs, cpuFormedMs - cpuStartedMs, cpuIdleMs - cpuFormedMs, cpuEndMs - cpuIdleMs]
              .map((ms) => (ms / 1000).toFixed(1))
              .join(" / ")
          ],
          [
            "CPU us per node-second: forming / formed and idle",
            `${perNodeSecond(cpuFormedMs - cpuStartedMs, formedAtMs - startMs - 30_000)} / ${perNodeSecond(cpuIdleMs - cpuFormedMs, writesAtMs - formedAtMs)}`
          ],
          ["JS heap per node at the end KiB", ((heapEnd - heapBefore) / settings.nodes / 1024).toFixed(0)]
        ]
      }
    })
}
