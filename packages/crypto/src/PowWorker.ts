import { parentPort, workerData } from "node:worker_threads"
import { createBLAKE3 } from "hash-wasm"
import { searchStep, startSearch } from "./ProofOfWork.ts"

/**
 * One proof-of-work search thread, started by `Work.layerWorkers`. Searches its share of the salt
 * space (counter = start, start + stride, ...) with its own WASM BLAKE3 (node:crypto hashing does not
 * scale across threads), reports progress after every batch, posts the first solution and stops.
 * The parent terminates it when the search is over or interrupted.
 */

export interface Task {
  readonly sigHash: Uint8Array
  readonly difficulty: number
  readonly start: number
  readonly stride: number
  readonly batchHashes: number
}

export type Report =
  | { readonly _tag: "Progress"; readonly hashes: number }
  | { readonly _tag: "Found"; readonly hashes: number; readonly salt: Uint8Array; readonly work: Uint8Array }

const task = workerData as Task
const port = parentPort
if (port === null) throw new Error("PowWorker must run as a worker thread")

const hasher = await createBLAKE3()
const blake3 = (data: Uint8Array): Uint8Array => {
  hasher.init()
  hasher.update(data)
  return hasher.digest("binary")
}

const search = startSearch(task.sigHash, task.start, task.stride)
const maxBatches = Math.floor(Number.MAX_SAFE_INTEGER / task.batchHashes)
for (let batch = 0; batch < maxBatches; batch++) {
  const before = search.hashes
  const found = searchStep(blake3, search, task.difficulty, task.batchHashes)
  const hashes = search.hashes - before
  if (found !== undefined) {
    port.postMessage({ _tag: "Found", hashes, salt: found.salt, work: found.work } satisfies Report)
    // Idle until terminated (a port with a listener keeps the thread alive), so the parent never
    // sees this thread exit before it has read the answer.
    port.on("message", () => {})
    break
  }
  port.postMessage({ _tag: "Progress", hashes } satisfies Report)
}
