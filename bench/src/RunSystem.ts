import type { BenchConfig, SystemName } from "./Config.ts"
import { mib } from "./Stats.ts"
import * as BittorrentDht from "./systems/BittorrentDht.ts"
import * as HyperDht from "./systems/HyperDht.ts"
import * as OursInProcess from "./systems/OursInProcess.ts"
import * as OursProcesses from "./systems/OursProcesses.ts"
import type { Start } from "./systems/System.ts"
import { type PhaseResult, runWorkload } from "./Workload.ts"

/** One system at one size, start to teardown: what a child process of the bench runs. */

export interface SystemReport {
  readonly system: SystemName
  readonly nodes: number
  readonly formed: boolean
  readonly formation: string
  /** CPU the idle network used over IDLE_MS after forming, % of one core. */
  readonly idleCpuPercent: number
  readonly rssTotalBytes: number
  readonly rssPerNodeBytes: number
  /** Live heap per node (in-process systems only). */
  readonly heapPerNodeBytes?: number
  readonly phases: ReadonlyArray<PhaseResult>
  readonly notes: ReadonlyArray<string>
  readonly wallMs: number
}

const IDLE_MS = 3_000

const starts: Record<SystemName, Start> = {
  "bittorrent-dht": BittorrentDht.start,
  hyperdht: HyperDht.start,
  ours: OursInProcess.start,
  "ours-processes": OursProcesses.start
}

export const runSystem = async (
  system: SystemName,
  nodes: number,
  config: BenchConfig,
  log: (line: string) => void
): Promise<SystemReport> => {
  const startedAt = performance.now()
  log(`${system}, ${nodes} nodes`)
  const running = await starts[system](nodes, config, log)
  try {
    const cpuBefore = running.cpuMs()
    const idleStart = performance.now()
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
    const idleCpuPercent = (100 * (running.cpuMs() - cpuBefore)) / (performance.now() - idleStart)
    log(`  idle CPU ${idleCpuPercent.toFixed(0)} % of a core`)
    const phases = await runWorkload(running.target, config, log)
    const outcomes = running.outcomes?.() ?? ""
    if (outcomes !== "") log(`  outcomes: ${outcomes}`)
    const memory = running.memory()
    const rssTotalBytes = memory.rssBytes
    log(`  RSS ${mib(rssTotalBytes).toFixed(1)} MiB, ${mib(rssTotalBytes / nodes).toFixed(2)} MiB per node`)
    return {
      system,
      nodes,
      formed: running.formed,
      formation: running.formation,
      idleCpuPercent,
      rssTotalBytes,
      rssPerNodeBytes: rssTotalBytes / nodes,
      ...(memory.heapBytes === undefined ? {} : { heapPerNodeBytes: memory.heapBytes / nodes }),
      phases,
      notes: outcomes === "" ? running.notes : [...running.notes, `outcomes: ${outcomes}`],
      wallMs: performance.now() - startedAt
    }
  } finally {
    await running.close()
  }
}
