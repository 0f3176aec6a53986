import { parentPort } from "node:worker_threads"
import { Effect } from "effect"
import { check } from "./DatSigning.ts"
import { makeWasm } from "./Hasher.ts"
import { makeDefault } from "./Verifier.ts"
import { READY, type Reply, type Request } from "./VerifyMessages.ts"

/**
 * One dat-verification thread of a VerifyPool: checks work and signature of each dat it is sent, with
 * its own WASM BLAKE3 and the default verifier (sodium-native when it loads, else node:crypto), and posts the verdicts back in order.
 */

const port = parentPort
if (port === null) throw new Error("VerifyWorker must run as a worker thread")

const crypto = { hasher: await Effect.runPromise(makeWasm), verifier: await Effect.runPromise(makeDefault) }
port.on("message", (request: Request) => {
  const verdicts = request.dats.map((dat) => check(crypto, dat, { nowMs: request.nowMs, minWork: request.minWork }))
  port.postMessage({ id: request.id, verdicts } satisfies Reply)
})
// Loaded: the pool starts sending requests only after this.
port.postMessage({ id: READY, verdicts: [] } satisfies Reply)
