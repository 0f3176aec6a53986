/**
 * Issue 8.2: a child process (--threads worker threads) sends --rate invalid datagrams/s from 127.0.0.2 to a live daemon
 * (internet peer limits) while this process, a verified honest peer on 127.0.1.1, times GETs of
 * entries it stored before. Goals: the flood reaches its rate, honest p99 < 10 ms, nothing stored
 * is lost, rate limits and drops show in /metrics. Loopback only; bounded by --seconds.
 *
 * Run: node --conditions=source hardening/flood.ts [--rate 50000] [--threads 1] [--seconds 20]
 *      [--entries 100] [--get-every-ms 10]
 */

import { Effect } from "effect"
import * as Flood from "../test/support/Flood.ts"
import { numberArg, runScript } from "./Script.ts"

const options: Flood.FloodOptions = {
  ratePerSecond: numberArg("rate", 50_000),
  threads: numberArg("threads", 1),
  floodMs: numberArg("seconds", 20) * 1000,
  entries: numberArg("entries", 100),
  getEveryMs: numberArg("get-every-ms", 10),
  baselineMs: 3_000
}

runScript(
  "harden:flood",
  Effect.map(Flood.run(options), (report) => ({
    lines: Flood.lines(report, options),
    shortfalls: Flood.shortfalls(report, options)
  }))
)
