import { spawn } from "node:child_process"
import * as Path from "node:path"
import { type MicroRow, row } from "./MicroRow.ts"

/**
 * The benchmarks of the packages themselves, run as they are with smaller counts, their figures read
 * from their output: one daemon's PUT ingest and GET serving (packages/network/bench/node.ts, beside
 * the raw verify rate and a raw dgram request/reply server measured in the same run), the store and
 * the backup.
 */

const ROOT = Path.resolve(import.meta.dirname, "../../..")
const LIMIT_MS = 90_000

const runScript = (
  script: string,
  args: ReadonlyArray<string>,
  execArgv: ReadonlyArray<string>,
  env: Record<string, string> = {}
) =>
  new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [...execArgv, "--conditions=source", Path.join(ROOT, script), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env }
    })
    let output = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk
    })
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), LIMIT_MS)
    child.on("close", () => {
      clearTimeout(timer)
      resolve(output)
    })
  })

const number = (output: string, pattern: RegExp, group = 1): number => {
  const text = pattern.exec(output)?.[group]
  return text === undefined ? Number.NaN : Number(text.replaceAll(",", ""))
}

/** A summary line of the node benchmark: `  <figure>   <a> / <b>` (or one value); its `group`-th number. */
const summary = (output: string, figure: string, group = 1): number => {
  const escaped = figure.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
  return number(output, new RegExp(`^\\s+${escaped}\\s+([\\d,.]+)(?:\\s*/\\s*([\\d,.]+))?`, "m"), group)
}

/** `raw p50 / p99 µs, 1 / 64 in flight   p50/p99 p50/p99` */
const RAW_LATENCY = /raw p50 \/ p99 µs, 1 \/ 64 in flight\s+([\d,.]+)\/([\d,.]+) ([\d,.]+)\/([\d,.]+)/

export interface DaemonSettings {
  readonly puts: number
  readonly getMs: number
}

const daemonRows = (output: string): Array<MicroRow> => {
  const rawVerify = summary(output, "raw Ed25519 verify, 1 core (/s)")
  const ingest = summary(output, "PUT ingest, one daemon (stored/s)")
  const rawP99 = (inFlight: 1 | 64) => number(output, RAW_LATENCY, inFlight === 1 ? 2 : 4)
  const rows = [
    row("daemon", "PUT ingest, one daemon, stored/s", ingest, "/s", {
      figure: "raw verify of the daemon's verifier, 1 core",
      value: rawVerify,
      goal: "≥ 0.70"
    }),
    // CPU time is much less disturbed by other load on a shared machine than rates are.
    row(
      "daemon",
      "PUT ingest, daemon CPU per PUT (all threads)",
      summary(output, "CPU µs per PUT (daemon) / per verify"),
      "µs",
      {
        figure: "raw verify CPU, µs",
        value: summary(output, "CPU µs per PUT (daemon) / per verify", 2),
        lowerIsBetter: true
      }
    )
  ]
  for (const inFlight of [1, 64] as const) {
    const replies = `GET replies/s, ${inFlight} in flight (daemon / raw)`
    rows.push(
      row("daemon", `GET replies/s, ${inFlight} in flight`, summary(output, replies), "/s", {
        figure: "raw dgram request/reply",
        value: summary(output, replies, 2),
        goal: "≥ 0.50"
      }),
      row(
        "daemon",
        `GET p99, ${inFlight} in flight`,
        summary(output, `GET p50 / p99 µs, ${inFlight} in flight`, 2),
        "µs",
        {
          figure: "raw dgram p99",
          value: rawP99(inFlight),
          lowerIsBetter: true
        }
      )
    )
  }
  return rows
}

export interface PackageBenchResult {
  readonly rows: Array<MicroRow>
  /** Each script's whole output, kept in the JSON results. */
  readonly outputs: Record<string, string>
}

export const run = async (
  entries: number,
  daemon: DaemonSettings,
  log: (line: string) => void
): Promise<PackageBenchResult> => {
  const node = await runScript("packages/network/bench/node.ts", [], [], {
    BENCH_PUTS: String(daemon.puts),
    BENCH_GET_MS: String(daemon.getMs)
  })
  const store = await runScript("packages/store/bench/store.ts", [String(entries)], ["--expose-gc"])
  const backup = await runScript("packages/backup/bench/restore.ts", [String(entries)], [])
  const rows = [
    ...daemonRows(node),
    row(
      "store",
      `ShardStore inserts (${entries} entries, 100-byte values)`,
      number(store, /^inserts \([\d,]+ entries\)\s+([\d,]+)\/s/m),
      "/s"
    ),
    row(
      "store",
      `ShardStore gets (at ${entries} entries)`,
      number(store, /^gets \(at [\d,]+ entries\)\s+([\d,]+)\/s/m),
      "/s"
    ),
    row("store", "ShardStore RSS / accounted bytes", number(store, /^RSS \/ accounted\s+([\d.]+)x/m), "×", {
      figure: "goal",
      value: 1.5,
      lowerIsBetter: true,
      goal: "≥ 1 (RSS ≤ 1.5× accounted)"
    }),
    row(
      "backup",
      `backup append + group commit (${entries} entries)`,
      number(backup, /group commit: .*?, (\d+) entries\/s/),
      "/s"
    ),
    row("backup", "backup restore (read + CRC + decode)", number(backup, /restore rate: (\d+) entries\/s/), "/s")
  ]
  for (const r of rows)
    if (!Number.isFinite(r.measured)) log(`  could not read "${r.figure}" from its benchmark's output`)
  return { rows, outputs: { node, store, backup } }
}
