import type { BenchConfig } from "../Config.ts"
import type { Target } from "../Workload.ts"

/** A running network of one system, ready for the workload. */
export interface Running {
  readonly target: Target
  /** How the network formed, in words (tables filled, time taken). */
  readonly formation: string
  readonly formed: boolean
  /**
   * Memory of the network's nodes, bytes: this process's growth in RSS and in live heap (V8 heap +
   * external, after a full collection) since before the network started, or the daemons' RSS sum.
   */
  readonly memory: () => { readonly rssBytes: number; readonly heapBytes?: number }
  /** CPU time used so far by the network's nodes (and this process), ms. */
  readonly cpuMs: () => number
  readonly notes: ReadonlyArray<string>
  /** What happened to the operations, when the system can tell (ours). */
  readonly outcomes?: () => string
  readonly close: () => Promise<void>
}

export type Start = (nodes: number, config: BenchConfig, log: (line: string) => void) => Promise<Running>

/** Polls `check` every `everyMs` until it returns true or `limitMs` passes; returns whether it did. */
export const waitUntil = async (check: () => Promise<boolean> | boolean, limitMs: number, everyMs = 250) => {
  const deadline = performance.now() + limitMs
  const maxPolls = Math.ceil(limitMs / everyMs) + 1
  for (let poll = 0; poll < maxPolls; poll++) {
    if (await check()) return true
    if (performance.now() >= deadline) return false
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  return false
}

/** This process's user + system CPU time, ms. */
export const ownCpuMs = (): number => {
  const used = process.cpuUsage()
  return (used.user + used.system) / 1000
}

/**
 * How a network of ours formed, in words: whether every member sees all others, when, and the
 * spread of active peers per member, then how the clients joined.
 */
export const formationText = (
  member: "node" | "daemon",
  formed: boolean,
  formedMs: number,
  activePeers: ReadonlyArray<number>,
  clientsFormation: string
): string => {
  const count = activePeers.length
  const mean = activePeers.reduce((a, b) => a + b, 0) / count
  return (
    `${formed ? `every ${member} sees all others` : "NOT FORMED"} after ${formedMs} ms ` +
    `(active peers per ${member} ${Math.min(...activePeers)}..${Math.max(...activePeers)}, ` +
    `mean ${mean.toFixed(1)} of ${count - 1}); ${clientsFormation}`
  )
}
