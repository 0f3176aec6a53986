/**
 * Issue 8.3: for every request type (PING, unsolicited PONG, valid and invalid PUT, GET of a stored
 * and a missing key, unsolicited GET_ACKs, GETMYADDRPORT and its ACK, the reserved PUT_ACK, garbage,
 * and all of them from one source), the bytes a live daemon sends toward a source that never
 * answered its challenges, per byte received from it. Goal: <= 3 for each, and no data (a GET_ACK
 * with a value) toward any of them. Loopback only; bounded by --seconds.
 *
 * Run: node --conditions=source hardening/amplification.ts [--seconds 20] [--every-ms 2]
 */

import { Effect } from "effect"
import * as Amplification from "../test/support/Amplification.ts"
import { numberArg, runScript } from "./Script.ts"

const options: Amplification.AmplificationOptions = {
  durationMs: numberArg("seconds", 20) * 1000,
  everyMs: numberArg("every-ms", 2)
}

runScript(
  "harden:amplification",
  Effect.map(Amplification.run(options), (report) => ({
    lines: Amplification.lines(report),
    shortfalls: Amplification.shortfalls(report)
  }))
)
