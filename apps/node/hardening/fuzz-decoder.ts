/**
 * Issue 8.1, in-process part: a coverage-guided mutation fuzz of the decoders (Codec.decode,
 * Codec.decodeEntry, the TCP frame decoder), guided by V8's block coverage (no fuzzer package is
 * installed; see test/support/DecoderFuzz.ts). Goal: no problem on any input. Prints the blocks of
 * Codec.ts and TcpFrame.ts it reached and those it did not. `--json` prints the report as one JSON
 * line instead (the test suite reads it).
 *
 * Run: node --conditions=source hardening/fuzz-decoder.ts [--execs 1000000] [--seed 1] [--batch 2048]
 *      [--time-limit-s 300] [--json]
 */
import * as Coverage from "../test/support/Coverage.ts"
import { numberArg } from "./Script.ts"

const options = {
  execs: numberArg("execs", 1_000_000),
  timeLimitMs: numberArg("time-limit-s", 300) * 1000,
  seed: numberArg("seed", 1),
  batch: numberArg("batch", 2048)
}

// Coverage first: V8 counts blocks only in functions compiled after it starts, so the decoders
// are loaded after it (a dynamic import).
const coverage = Coverage.start(
  (url) => url.endsWith("/protocol/src/Codec.ts") || url.endsWith("/network/src/TcpFrame.ts")
)
const DecoderFuzz = await import("../test/support/DecoderFuzz.ts")
const report = DecoderFuzz.run(coverage, options)
coverage.stop()
if (process.argv.includes("--json")) {
  console.log(JSON.stringify(report))
} else {
  for (const line of DecoderFuzz.lines(report, options)) console.log(line)
  const shortfalls = DecoderFuzz.shortfalls(report, options)
  for (const s of shortfalls) console.log(`SHORT: ${s}`)
  console.log(`harden:fuzz-decoder: ${shortfalls.length === 0 ? "PASS" : "FAIL"}`)
  process.exitCode = shortfalls.length === 0 ? 0 : 1
}
