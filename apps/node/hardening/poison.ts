/**
 * Issue 8.5: one IP (127.0.0.2) with --ports ports pings a live daemon (internet peer limits) every
 * second from each, answers its challenges and names its other ports, while --honest peers on other
 * IPs join. Goals: the attacker's IP never holds more than its cap (maxPeersPerIp, 4) of the table;
 * every honest peer becomes active and stays active. Loopback only; bounded by --seconds.
 *
 * Run: node --conditions=source hardening/poison.ts [--ports 1000] [--seconds 60] [--honest 3]
 */

import { Effect } from "effect"
import * as Poison from "../test/support/Poison.ts"
import { numberArg, runScript } from "./Script.ts"

const options: Poison.PoisonOptions = {
  ports: numberArg("ports", 1_000),
  durationMs: numberArg("seconds", 60) * 1000,
  honestPeers: numberArg("honest", 3)
}

runScript(
  "harden:poison",
  Effect.map(Poison.run(options), (report) => ({
    lines: Poison.lines(report, options),
    shortfalls: Poison.shortfalls(report)
  }))
)
