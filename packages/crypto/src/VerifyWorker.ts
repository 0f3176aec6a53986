import { parentPort } from "node:worker_threads"
import { Effect } from "effect"
import { makeDefault } from "./Verifier.ts"
import { JOB_BYTES, MESSAGE_BYTES, PUBLIC_KEY_BYTES, READY, type Reply, type Request } from "./VerifyMessages.ts"

/**
 * One signature-checking thread of a VerifyPool, with the default verifier (sodium-native when it
 * loads, else node:crypto): verifies each packed job it is sent and posts one byte per job back.
 */

const port = parentPort
if (port === null) throw new Error("VerifyWorker must run as a worker thread")

const verifier = await Effect.runPromise(makeDefault)
const SIG_AT = PUBLIC_KEY_BYTES + MESSAGE_BYTES

port.on("message", (request: Request) => {
  const jobs = new Uint8Array(request.jobs)
  const valid = new Uint8Array(request.count)
  for (let i = 0; i < request.count; i++) {
    const at = i * JOB_BYTES
    const publicKey = jobs.subarray(at, at + PUBLIC_KEY_BYTES)
    const message = jobs.subarray(at + PUBLIC_KEY_BYTES, at + SIG_AT)
    valid[i] = verifier.verify(publicKey, message, jobs.subarray(at + SIG_AT, at + JOB_BYTES)) ? 1 : 0
  }
  port.postMessage({ id: request.id, valid: valid.buffer } satisfies Reply, [valid.buffer])
})
// Loaded: the pool starts sending requests only after this.
port.postMessage({ id: READY, valid: new ArrayBuffer(0) } satisfies Reply)
