import { Effect } from "effect"
import type { BenchConfig } from "../Config.ts"
import * as CodecMicro from "./CodecMicro.ts"
import * as CryptoMicro from "./CryptoMicro.ts"
import type { MicroRow } from "./MicroRow.ts"
import * as PackageBenches from "./PackageBenches.ts"

/** The micro-benchmarks of the earlier issues in one place, each beside its physical limit. */

export interface MicroReport {
  readonly rows: ReadonlyArray<MicroRow>
  readonly outputs: Record<string, string>
}

export const run = async (config: BenchConfig, log: (line: string) => void): Promise<MicroReport> => {
  log("micro-benchmarks")
  const crypto = await Effect.runPromise(CryptoMicro.run(config.difficulty))
  const codec = CodecMicro.run()
  const daemon = { puts: config.quick ? 1_000 : 12_000, getMs: config.quick ? 1_000 : 2_000 }
  const packages = await PackageBenches.run(config.quick ? 10_000 : 50_000, daemon, log)
  for (const r of packages.rows)
    if (r.group === "daemon")
      log(`  ${r.figure}: ${Math.round(r.measured)} ${r.unit} (limit ${Math.round(r.limit ?? Number.NaN)})`)
  return { rows: [...crypto, ...codec, ...packages.rows], outputs: packages.outputs }
}
