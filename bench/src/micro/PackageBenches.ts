import { spawn } from "node:child_process"
import * as Path from "node:path"
import { type MicroRow, row } from "./MicroRow.ts"

/**
 * The store and backup benchmarks of their own packages (not dependencies of this one), run as they
 * are with a smaller entry count, their figures read from their output.
 */

const ROOT = Path.resolve(import.meta.dirname, "../../..")
const LIMIT_MS = 90_000

const runScript = (script: string, args: ReadonlyArray<string>, execArgv: ReadonlyArray<string>) =>
  new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [...execArgv, "--conditions=source", Path.join(ROOT, script), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"]
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

const number = (output: string, pattern: RegExp): number => {
  const match = pattern.exec(output)
  return match === null ? Number.NaN : Number(match[1]!.replaceAll(",", ""))
}

export interface PackageBenchResult {
  readonly rows: Array<MicroRow>
  /** Each script's whole output, kept in the JSON results. */
  readonly outputs: Record<string, string>
}

export const run = async (entries: number, log: (line: string) => void): Promise<PackageBenchResult> => {
  const store = await runScript("packages/store/bench/store.ts", [String(entries)], ["--expose-gc"])
  const backup = await runScript("packages/backup/bench/restore.ts", [String(entries)], [])
  const rows = [
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
  return { rows, outputs: { store, backup } }
}
