import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import { Context, Effect, Layer } from "effect"
import { Hasher } from "./Hasher.ts"
import type { Report, Task } from "./PowWorker.ts"
import { MAX_DIFFICULTY, meetsDifficulty, type Solution, searchStep, startSearch } from "./ProofOfWork.ts"

/** Proof-of-work solver (PROTOCOL.md 3.2). */
export class Work extends Context.Service<
  Work,
  {
    /**
     * Finds a salt whose work over `sig` has at least `difficulty` leading zero bits. Interruptible.
     * `onProgress` is called from time to time with the number of salts tried so far.
     */
    readonly solve: (
      sig: Uint8Array,
      difficulty: number,
      options?: SolveOptions
    ) => Effect.Effect<{ readonly salt: Uint8Array; readonly work: Uint8Array }>
  }
>()("@dave/crypto/Work") {}

export interface SolveOptions {
  readonly onProgress?: (hashes: number) => void
}

/** Salts tried between two yields of the in-process solver (a few ms, so the event loop stays live). */
const IN_PROCESS_BATCH = 4096
/** Salts a worker tries between two progress reports (a few tens of ms). */
const WORKER_BATCH = 65536

const checkDifficulty = (difficulty: number): Effect.Effect<void> =>
  Number.isInteger(difficulty) && difficulty >= 0 && difficulty <= MAX_DIFFICULTY
    ? Effect.void
    : Effect.die(new RangeError(`difficulty must be an integer in 0..${MAX_DIFFICULTY}, got ${difficulty}`))

/** Searches in this thread, salts in the reference's order, yielding between batches. */
const solveInProcess = (
  hasher: Hasher["Service"],
  sig: Uint8Array,
  difficulty: number,
  options: SolveOptions | undefined
): Effect.Effect<Solution> =>
  Effect.gen(function* () {
    yield* checkDifficulty(difficulty)
    const search = startSearch(hasher.blake3(sig), 0, 1)
    const maxBatches = Math.floor(Number.MAX_SAFE_INTEGER / IN_PROCESS_BATCH)
    for (let batch = 0; batch < maxBatches; batch++) {
      const found = searchStep(hasher.blake3, search, difficulty, IN_PROCESS_BATCH)
      options?.onProgress?.(search.hashes)
      if (found !== undefined) return found
      yield* Effect.yieldNow
    }
    return yield* Effect.die(new Error("proof-of-work salt space exhausted"))
  })

/** Node 24 runs the .ts worker from src directly; the build has the .js beside this module. */
const workerUrl = new URL(import.meta.url.endsWith(".ts") ? "./PowWorker.ts" : "./PowWorker.js", import.meta.url)

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

let liveWorkers = 0

/** Proof-of-work worker threads alive right now, across all solvers (0 when no solve is running). */
export const activeWorkerCount = (): number => liveWorkers

const startWorkers = (sigHash: Uint8Array, difficulty: number, count: number): Array<Worker> =>
  Array.from({ length: count }, (_, i) => {
    const task: Task = { sigHash, difficulty, start: i, stride: count, batchHashes: WORKER_BATCH }
    const thread = new Worker(workerUrl, { workerData: task })
    liveWorkers++
    thread.once("exit", () => {
      liveWorkers--
    })
    return thread
  })

const awaitSolution = (threads: ReadonlyArray<Worker>, options: SolveOptions | undefined): Effect.Effect<Solution> =>
  Effect.callback<Solution>((resume) => {
    let done = false
    let hashes = 0
    const finish = (result: Effect.Effect<Solution>) => {
      if (done) return
      done = true
      resume(result)
    }
    for (const thread of threads) {
      thread.on("message", (report: Report) => {
        if (done) return
        hashes += report.hashes
        options?.onProgress?.(hashes)
        if (report._tag === "Found") finish(Effect.succeed({ salt: report.salt, work: report.work }))
      })
      thread.on("error", (error) => finish(Effect.die(error)))
      thread.on("exit", (code) => finish(Effect.die(new Error(`proof-of-work worker exited early (code ${code})`))))
    }
    return Effect.sync(() => {
      done = true
    })
  })

/** Searches on `count` worker threads, each striding the counter space; all are terminated at the end. */
const solveOnWorkers = (
  hasher: Hasher["Service"],
  sig: Uint8Array,
  difficulty: number,
  count: number,
  options: SolveOptions | undefined
): Effect.Effect<Solution> =>
  Effect.gen(function* () {
    yield* checkDifficulty(difficulty)
    const sigHash = hasher.blake3(sig)
    const solution = yield* Effect.acquireUseRelease(
      Effect.sync(() => startWorkers(sigHash, difficulty, count)),
      (threads) => awaitSolution(threads, options),
      (threads) => Effect.promise(() => Promise.all(threads.map((thread) => thread.terminate())))
    )
    // A worker's answer is cheap to check; a wrong one would be a bug in the search.
    const input = new Uint8Array(solution.salt.length + sigHash.length)
    input.set(solution.salt, 0)
    input.set(sigHash, solution.salt.length)
    if (!meetsDifficulty(solution.work, difficulty) || !bytesEqual(hasher.blake3(input), solution.work)) {
      return yield* Effect.die(new Error("proof-of-work worker returned invalid work"))
    }
    return solution
  })

/** The single-threaded solver; its salts come in the reference's order, so its answers are reproducible. */
export const makeSingleThread = (hasher: Hasher["Service"]): Work["Service"] =>
  Work.of({ solve: (sig, difficulty, options) => solveInProcess(hasher, sig, difficulty, options) })

export interface WorkersOptions {
  /** Worker threads per solve. Default: the available parallelism. */
  readonly workers?: number
  /**
   * Difficulties below this are solved in-process. Default 18: starting a worker takes ~100–150 ms
   * on an idle machine (more when busy), about what a single thread needs for 2^18 hashes.
   */
  readonly thresholdBits?: number
}

export const DEFAULT_THRESHOLD_BITS = 18

/**
 * Solves difficulties of at least `thresholdBits` on worker threads (started per solve, terminated
 * when it ends or is interrupted), lower ones in-process.
 */
export const makeWorkers = (hasher: Hasher["Service"], options?: WorkersOptions): Work["Service"] => {
  const workers = options?.workers ?? availableParallelism()
  const thresholdBits = options?.thresholdBits ?? DEFAULT_THRESHOLD_BITS
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError("workers must be a positive integer")
  return Work.of({
    solve: (sig, difficulty, solveOptions) =>
      difficulty >= thresholdBits
        ? solveOnWorkers(hasher, sig, difficulty, workers, solveOptions)
        : solveInProcess(hasher, sig, difficulty, solveOptions)
  })
}

export const layerSingleThread: Layer.Layer<Work, never, Hasher> = Layer.effect(
  Work,
  Effect.map(Hasher, makeSingleThread)
)
export const layerWorkers = (options?: WorkersOptions): Layer.Layer<Work, never, Hasher> =>
  Layer.effect(
    Work,
    Effect.map(Hasher, (hasher) => makeWorkers(hasher, options))
  )
/** The default: worker threads (one per core) from 18 bits of difficulty. */
export const layer: Layer.Layer<Work, never, Hasher> = layerWorkers()
