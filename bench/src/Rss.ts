import * as Fs from "node:fs"

/** Resident memory of this process and of others (Linux /proc). */

const gc = (globalThis as { gc?: () => void }).gc

/** This process's RSS and live heap after a full collection, bytes. */
export const settledMemory = (): { readonly rss: number; readonly heap: number } => {
  gc?.()
  gc?.()
  const usage = process.memoryUsage()
  return { rss: usage.rss, heap: usage.heapUsed + usage.external }
}

/** This process's growth in RSS and live heap since `baseline`, after a full collection. */
export const growthSince = (baseline: { readonly rss: number; readonly heap: number }) => {
  const now = settledMemory()
  return { rssBytes: now.rss - baseline.rss, heapBytes: now.heap - baseline.heap }
}

/** VmRSS of another process in bytes; 0 if it is gone or /proc is unavailable. */
export const rssOfPid = (pid: number | undefined): number => {
  if (pid === undefined) return 0
  try {
    const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
    return match === null ? 0 : Number(match[1]) * 1024
  } catch {
    return 0
  }
}

/** User + system CPU time of another process, ms (Linux /proc; NaN elsewhere). */
export const cpuMsOfPid = (pid: number | undefined): number => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return Number.NaN
  }
}
