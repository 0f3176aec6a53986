import * as Os from "node:os"

/** The machine a run measured, for the report. */

export interface Machine {
  readonly cpuModel: string
  readonly cpuCount: number
  readonly totalMemoryBytes: number
  readonly nodeVersion: string
  readonly platform: string
  readonly date: string
  /** 1-minute load average when the run started and ended: other work on a shared machine. */
  readonly loadAtStart: number
  loadAtEnd: number
}

export const describe = (): Machine => {
  const cpus = Os.cpus()
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cpuCount: cpus.length,
    totalMemoryBytes: Os.totalmem(),
    nodeVersion: process.version,
    platform: `${Os.type()} ${Os.release()} ${Os.arch()}`,
    date: new Date().toISOString(),
    loadAtStart: Os.loadavg()[0]!,
    loadAtEnd: Os.loadavg()[0]!
  }
}

export const summary = (m: Machine): string =>
  `${m.cpuModel} × ${m.cpuCount}, ${(m.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.nodeVersion}, ` +
  `${m.platform}, ${m.date.slice(0, 16).replace("T", " ")} UTC, load average ${m.loadAtStart.toFixed(1)} → ${m.loadAtEnd.toFixed(1)}`
