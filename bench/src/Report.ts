import type { BenchConfig, SystemName } from "./Config.ts"
import { type Machine, summary } from "./Machine.ts"
import type { MicroRow } from "./micro/MicroRow.ts"
import type { SystemReport } from "./RunSystem.ts"
import { fmt, fmtSig, mib } from "./Stats.ts"

/** The results as rows with ratios to the best peer, and as a plain-text and a Markdown table. */

export interface NetworkRow {
  readonly nodes: number
  readonly system: SystemName
  readonly label: string
  readonly op: "put" | "get"
  readonly inFlight: number
  readonly opsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly found: number
  readonly total: number
  readonly rssPerNodeMiB: number
  readonly heapPerNodeMiB?: number
  readonly idleCpuPercent: number
  /** Ours: mean sign + proof-of-work time per put, ms. */
  readonly powMs?: number
  /** The peer with the most ops/s at the same size and phase, and ours against it. */
  readonly bestPeer?: string
  readonly opsRatio?: number
  readonly p99Ratio?: number
}

export interface Failure {
  readonly system: SystemName
  readonly nodes: number
  readonly error: string
}

export interface Goal {
  readonly what: string
  readonly measured: number
  readonly goal: string
  readonly met: boolean
}

export interface Results {
  readonly machine: Machine
  readonly config: BenchConfig
  readonly network: ReadonlyArray<NetworkRow>
  readonly systems: ReadonlyArray<SystemReport>
  readonly failures: ReadonlyArray<Failure>
  readonly goals: ReadonlyArray<Goal>
  readonly micro: ReadonlyArray<MicroRow>
  readonly notes: ReadonlyArray<string>
  readonly profile?: ReadonlyArray<string>
  readonly microOutputs?: Record<string, string>
}

const PEERS: ReadonlyArray<SystemName> = ["bittorrent-dht", "hyperdht"]

const LABELS: Record<SystemName, string> = {
  "bittorrent-dht": "bittorrent-dht",
  hyperdht: "hyperdht",
  ours: "ours, 1 process",
  "ours-processes": "ours, N processes"
}

const labelOf = (report: SystemReport): string =>
  report.system === "ours-processes" ? `ours, ${report.nodes} processes` : LABELS[report.system]

export const networkRows = (reports: ReadonlyArray<SystemReport>): Array<NetworkRow> => {
  const rows: Array<NetworkRow> = reports.flatMap((r) =>
    r.phases.map((p) => ({
      nodes: r.nodes,
      system: r.system,
      label: labelOf(r),
      op: p.op,
      inFlight: p.inFlight,
      opsPerSecond: p.opsPerSecond,
      // NaN crosses the child's JSON as null.
      p50Ms: p.p50Ms ?? Number.NaN,
      p99Ms: p.p99Ms ?? Number.NaN,
      found: p.found,
      total: p.total,
      rssPerNodeMiB: mib(r.rssPerNodeBytes),
      ...(r.heapPerNodeBytes === undefined ? {} : { heapPerNodeMiB: mib(r.heapPerNodeBytes) }),
      idleCpuPercent: r.idleCpuPercent,
      ...(p.powMs === undefined ? {} : { powMs: p.powMs })
    }))
  )
  return rows.map((row) => {
    if (PEERS.includes(row.system)) return row
    const peers = rows.filter(
      (p) => PEERS.includes(p.system) && p.nodes === row.nodes && p.op === row.op && p.inFlight === row.inFlight
    )
    const best = peers.sort((a, b) => b.opsPerSecond - a.opsPerSecond)[0]
    if (best === undefined) return row
    return {
      ...row,
      bestPeer: best.system,
      opsRatio: row.opsPerSecond / best.opsPerSecond,
      p99Ratio: row.p99Ms / best.p99Ms
    }
  })
}

/** The goal: at the largest size, ours (one process) ≥ 3× the best peer's ops/s, p99 no worse. */
export const goals = (rows: ReadonlyArray<NetworkRow>): Array<Goal> => {
  const largest = Math.max(...rows.map((r) => r.nodes))
  return rows
    .filter((r) => r.system === "ours" && r.nodes === largest && r.opsRatio !== undefined)
    .flatMap((r) => {
      const phase = `${r.op} ×${r.inFlight} at ${r.nodes} nodes vs ${r.bestPeer}`
      return [
        { what: `${phase}: ops/s ratio`, measured: r.opsRatio!, goal: "≥ 3", met: r.opsRatio! >= 3 },
        // NaN (nothing found) is not "no worse".
        { what: `${phase}: p99 ratio`, measured: r.p99Ratio!, goal: "≤ 1", met: r.p99Ratio! <= 1 }
      ]
    })
}

const HEADERS = [
  "nodes",
  "system",
  "phase",
  "ops/s",
  "p50 ms",
  "p99 ms",
  "found/total",
  "RSS/node MiB",
  "heap/node MiB",
  "idle CPU %",
  "sign+PoW ms",
  "ops/s ÷ best peer",
  "p99 ÷ best peer"
]

const cells = (r: NetworkRow): Array<string> => [
  String(r.nodes),
  r.label,
  `${r.op} ×${r.inFlight}`,
  fmtSig(r.opsPerSecond),
  fmtSig(r.p50Ms),
  fmtSig(r.p99Ms),
  `${r.found}/${r.total}`,
  fmt(r.rssPerNodeMiB, 2),
  r.heapPerNodeMiB === undefined ? "" : fmt(r.heapPerNodeMiB, 2),
  fmt(r.idleCpuPercent),
  r.powMs === undefined ? "" : fmt(r.powMs, 2),
  r.opsRatio === undefined ? "" : `${fmt(r.opsRatio, 2)} (${r.bestPeer})`,
  r.p99Ratio === undefined ? "" : fmt(r.p99Ratio, 2)
]

const MICRO_HEADERS = ["group", "figure", "measured", "limit (same run)", "ratio", "goal"]

const microCells = (r: MicroRow): Array<string> => [
  r.group,
  r.figure,
  `${fmtSig(r.measured)} ${r.unit}`,
  r.limit === undefined ? "" : `${r.limitFigure}: ${fmtSig(r.limit)}`,
  r.ratio === undefined ? "" : fmt(r.ratio, 2),
  r.goal ?? ""
]

const textTable = (headers: ReadonlyArray<string>, body: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)))
  const line = (row: ReadonlyArray<string>) =>
    row
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd()
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)]
}

/** A Markdown table with aligned columns (as biome formats them, so the README stays lint-clean). */
const markdownTable = (headers: ReadonlyArray<string>, body: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const escape = (c: string) => c.replaceAll("|", "\\|")
  const rows = [headers, ...body].map((row) => row.map(escape))
  const widths = headers.map((_, i) => Math.max(3, ...rows.map((row) => row[i]!.length)))
  const line = (row: ReadonlyArray<string>) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  return [line(rows[0]!), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)]
}

const goalLines = (results: Results): Array<string> =>
  results.goals.map((g) => `${g.met ? "met  " : "SHORT"} ${g.what}: ${fmt(g.measured, 2)} (goal ${g.goal})`)

export const toText = (results: Results): string =>
  [
    `Dave vs bittorrent-dht and hyperdht: ${summary(results.machine)}`,
    "",
    ...textTable(HEADERS, results.network.map(cells)),
    "",
    ...goalLines(results),
    ...results.failures.map((f) => `FAILED ${f.system} at ${f.nodes} nodes: ${f.error}`),
    ...(results.micro.length === 0
      ? []
      : ["", "micro-benchmarks", ...textTable(MICRO_HEADERS, results.micro.map(microCells))]),
    "",
    ...results.notes.map((n) => `- ${n}`),
    ...(results.profile === undefined ? [] : ["", ...results.profile])
  ].join("\n")

export const toMarkdown = (results: Results): string =>
  [
    "## Latest results",
    "",
    `Machine: ${summary(results.machine)}. Mode: ${results.config.quick ? "quick (BENCH_QUICK=1)" : "full"}, ` +
      `${results.config.ops} operations per phase, ${results.config.inFlight} in flight in the concurrent phases, ` +
      `${results.config.valueBytes}-byte values, our proof of work at difficulty ${results.config.difficulty}.`,
    "",
    ...markdownTable(HEADERS, results.network.map(cells)),
    "",
    ...(results.goals.length === 0
      ? []
      : ["Goals (ours in one process at the largest size):", "", ...goalLines(results).map((l) => `- ${l}`), ""]),
    ...results.failures.map((f) => `- FAILED ${f.system} at ${f.nodes} nodes: ${f.error}`),
    ...(results.micro.length === 0
      ? []
      : ["### Micro-benchmarks", "", ...markdownTable(MICRO_HEADERS, results.micro.map(microCells)), ""]),
    "### Notes",
    "",
    ...results.notes.map((n) => `- ${n}`),
    ...(results.profile === undefined ? [] : ["", "### Profile", "", "```", ...results.profile, "```"]),
    ""
  ].join("\n")
