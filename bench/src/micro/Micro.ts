import { Effect } from "effect"
import type { BenchConfig } from "../Config.ts"
import * as CodecMicro from "./CodecMicro.ts"
import * as CryptoMicro from "./CryptoMicro.ts"
import * as DaemonMicro from "./DaemonMicro.ts"
import type { MicroRow } from "./MicroRow.ts"
import * as PackageBenches from "./PackageBenches.ts"

/** The micro-benchmarks of the earlier issues in one place, each beside its physical limit. */

export interface MicroReport {
  readonly rows: ReadonlyArray<MicroRow>
  readonly outputs: Record<string, string>
}

export const run = async (config: BenchConfig, self: string, log: (line: string) => void): Promise<MicroReport> => {
  log("micro-benchmarks")
  const crypto = await Effect.runPromise(CryptoMicro.run(config.difficulty))
  const rawVerify = crypto.find((r) => r.figure.startsWith("raw verify, node:crypto"))!.measured
  log(`  raw Ed25519 verify ${Math.round(rawVerify)}/s`)
  const codec = CodecMicro.run()
  const daemon = await DaemonMicro.run(
    {
      puts: config.quick ? 400 : 3_000,
      getMs: config.quick ? 1_000 : 2_000,
      difficulty: config.difficulty,
      rawVerifyPerSecond: rawVerify,
      self
    },
    log
  )
  const packages = await PackageBenches.run(config.quick ? 10_000 : 50_000, log)
  return { rows: [...crypto, ...codec, ...daemon, ...packages.rows], outputs: packages.outputs }
}
