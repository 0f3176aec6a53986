/**
 * Issue 8.1, live part: 10^6 hostile datagrams against a live daemon (random bytes of every length
 * 0..1500, every truncation and bit flip of valid messages, valid headers with hostile lengths,
 * havoc mutations), 10% of them as frames on the TCP side channel, with health checks along the
 * way. Goals: no crash, PINGs answered and GETs served throughout, heap growth after GC <= 5 MB.
 * Loopback only; bounded by the count and --time-limit-s.
 *
 * Run: node --conditions=source hardening/fuzz.ts [--datagrams 1000000] [--seed 1] [--tcp-share 0.1]
 *      [--max-rate 40000] [--checks 10] [--time-limit-s 600]
 */

import { Effect } from "effect"
import * as LiveFuzz from "../test/support/LiveFuzz.ts"
import { numberArg, runScript } from "./Script.ts"

const options: LiveFuzz.LiveFuzzOptions = {
  datagrams: numberArg("datagrams", 1_000_000),
  seed: numberArg("seed", 1),
  tcpShare: numberArg("tcp-share", 0.1),
  maxPerSecond: numberArg("max-rate", 40_000),
  checks: numberArg("checks", 10),
  timeLimitMs: numberArg("time-limit-s", 600) * 1000,
  log: (line) => console.log(line)
}

runScript(
  "harden:fuzz",
  Effect.map(LiveFuzz.run(options), (report) => ({
    lines: LiveFuzz.lines(report, options),
    shortfalls: LiveFuzz.shortfalls(report, options)
  }))
)
