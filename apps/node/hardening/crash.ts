/**
 * Issue 8.4: a daemon with its backup takes --puts-per-second PUTs and is SIGKILLed at a random
 * moment (--min-load-ms..--max-load-ms after the load starts), --kills times; after each restart
 * the backup must open, every entry committed before the kill must be served, and none invented.
 * "Committed" is defined in test/support/CrashSoak.ts: served to a verified GET, then two backup
 * group commits (dave_backup_flushes) later. Loopback only; bounded by --kills and --time-limit-s.
 *
 * Run: node --conditions=source hardening/crash.ts [--kills 100] [--puts-per-second 100]
 *      [--min-load-ms 300] [--max-load-ms 3000] [--seed 1] [--time-limit-s 1800]
 */

import { Effect } from "effect"
import * as CrashSoak from "../test/support/CrashSoak.ts"
import { numberArg, runScript } from "./Script.ts"

const options: CrashSoak.CrashSoakOptions = {
  kills: numberArg("kills", 100),
  putsPerSecond: numberArg("puts-per-second", 100),
  minLoadMs: numberArg("min-load-ms", 300),
  maxLoadMs: numberArg("max-load-ms", 3_000),
  seed: numberArg("seed", 1),
  timeLimitMs: numberArg("time-limit-s", 1_800) * 1000,
  log: (line) => console.log(line)
}

runScript(
  "harden:crash",
  Effect.map(CrashSoak.run(options), (report) => ({
    lines: CrashSoak.lines(report, options),
    shortfalls: CrashSoak.shortfalls(report, options)
  }))
)
