import { parentPort } from "node:worker_threads"
import type { Message } from "@dave/protocol"
import { Effect } from "effect"
import { check, type Verdict } from "./DatSigning.ts"
import { makeWasm } from "./Hasher.ts"
import { makeNative } from "./Verifier.ts"

/**
 * One dat-verification thread of a VerifyPool: checks work and signature of each dat it is sent, with
 * its own WASM BLAKE3 and its own cache of node:crypto keys, and posts the verdicts back in order.
 */

export interface Request {
  readonly id: number
  readonly dats: ReadonlyArray<Message.Dat>
  readonly nowMs: number
  readonly minWork: number
}

export interface Reply {
  readonly id: number
  readonly verdicts: ReadonlyArray<Verdict>
}

const port = parentPort
if (port === null) throw new Error("VerifyWorker must run as a worker thread")

const crypto = { hasher: await Effect.runPromise(makeWasm), verifier: makeNative() }
port.on("message", (request: Request) => {
  const verdicts = request.dats.map((dat) => check(crypto, dat, { nowMs: request.nowMs, minWork: request.minWork }))
  port.postMessage({ id: request.id, verdicts } satisfies Reply)
})
