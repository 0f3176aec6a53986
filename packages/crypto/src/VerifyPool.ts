import { Worker } from "node:worker_threads"
import { Constants, type Message } from "@dave/protocol"
import { Context, Effect, Layer, type Scope } from "effect"
import { check as checkDat, prepare, type Verdict } from "./DatSigning.ts"
import { Hasher } from "./Hasher.ts"
import { Verifier } from "./Verifier.ts"
import {
  JOB_BYTES,
  MESSAGE_BYTES,
  PUBLIC_KEY_BYTES,
  READY,
  type Reply,
  type Request,
  SIGNATURE_BYTES
} from "./VerifyMessages.ts"

/**
 * Dat verification (DatSigning.check) with the signatures on worker threads, so a node's event loop
 * keeps decoding, answering and storing while another core verifies: the signature is most of the cost
 * of a PUT, and one thread could not ingest faster than one core verifies. Time, key and work are
 * checked here (a few µs); a worker gets only packed signature checks. With no workers it checks
 * inline. A worker joins once loaded; one that dies is dropped and its requests are checked inline.
 */
export class VerifyPool extends Context.Service<
  VerifyPool,
  {
    /** Verdicts for `dats`, in order. */
    readonly check: (
      dats: ReadonlyArray<Message.Dat>,
      options: { readonly nowMs: number; readonly minWork?: number }
    ) => Effect.Effect<ReadonlyArray<Verdict>>
    /**
     * One dat's verdict, checked right here, when the pool would check it here anyway (no backlog
     * this turn); undefined when it belongs on a worker: ask `check` then. A node that keeps up
     * verifies and stores a PUT in the turn it came, without handing it to another fiber.
     */
    readonly checkHere: (
      dat: Message.Dat,
      options: { readonly nowMs: number; readonly minWork?: number }
    ) => Verdict | undefined
    /** Worker threads loaded and checking right now (0 while they start, or with none). */
    readonly workers: () => number
  }
>()("@dave/crypto/VerifyPool") {}

/** Node 24 runs the .ts worker from src directly (needing the "source" condition); the build has the .js. */
const fromSource = import.meta.url.endsWith(".ts")
const workerUrl = new URL(fromSource ? "./VerifyWorker.ts" : "./VerifyWorker.js", import.meta.url)

/** Most dats in one request to a worker: bounds the size of each message and of a lost batch. */
export const MAX_BATCH = 256

/**
 * Fewest signature checks asked for in one turn of the event loop worth a worker. Fewer means the
 * node keeps up: checked here, they are answered without two thread hops (and on a machine running
 * many nodes, without a thread each). A backlog shows as more per turn, and those go to the workers.
 */
export const DEFAULT_MIN_WORKER_BATCH = 8

export interface PoolOptions {
  /** Verification threads at most; started with the first backlog (or at once, `eager`). */
  readonly workers: number
  /** Signatures asked for in one turn from which the workers take them (default DEFAULT_MIN_WORKER_BATCH). */
  readonly minWorkerBatch?: number
  /**
   * Start the workers at once rather than with the first backlog (a cold start takes a second or
   * more): for a process that hosts many nodes and expects load, such as the bench.
   */
  readonly eager?: boolean
}

/** The signature checks of one batch still to do: which dats, over which messages. */
interface SignatureJobs {
  readonly at: Array<number>
  readonly dats: Array<Message.Dat>
  readonly messages: Array<Uint8Array>
}

const pack = (jobs: SignatureJobs): ArrayBuffer => {
  const bytes = new Uint8Array(jobs.at.length * JOB_BYTES)
  for (let j = 0; j < jobs.at.length; j++) {
    const o = j * JOB_BYTES
    bytes.set(jobs.dats[j]!.pubKey, o)
    bytes.set(jobs.messages[j]!, o + PUBLIC_KEY_BYTES)
    bytes.set(jobs.dats[j]!.sig, o + PUBLIC_KEY_BYTES + MESSAGE_BYTES)
  }
  return bytes.buffer
}

export const make = (
  options: PoolOptions
): Effect.Effect<VerifyPool["Service"], never, Scope.Scope | Hasher | Verifier> =>
  Effect.gen(function* () {
    const hasher = yield* Hasher
    const verifier = yield* Verifier
    const verifyInline = (jobs: SignatureJobs): Uint8Array =>
      Uint8Array.from(jobs.at, (_, j) =>
        verifier.verify(jobs.dats[j]!.pubKey, jobs.messages[j]!, jobs.dats[j]!.sig) ? 1 : 0
      )
    const pending = new Map<
      number,
      { readonly jobs: SignatureJobs; readonly worker: Worker; readonly resume: (valid: Uint8Array) => void }
    >()
    let live: Array<Worker> = []
    let nextId = 0
    let turn = 0

    const retire = (worker: Worker) => {
      live = live.filter((w) => w !== worker)
      for (const [id, p] of pending) {
        if (p.worker !== worker) continue
        pending.delete(id)
        p.resume(verifyInline(p.jobs))
      }
    }
    // Workers start with the first backlog, and each joins the rotation once it has
    // loaded (a cold start can take seconds on a busy machine); until then dats are checked inline, so
    // a pool never delays its node, and a node that never has a backlog never pays for a thread.
    const minWorkerBatch = Math.max(1, options.minWorkerBatch ?? DEFAULT_MIN_WORKER_BATCH)
    const started: Array<Worker> = []
    const start = () => {
      const worker = new Worker(workerUrl, { execArgv: fromSource ? ["--conditions=source"] : [] })
      worker.on("message", (reply: Reply) => {
        if (reply.id === READY) return void live.push(worker)
        const p = pending.get(reply.id)
        if (p === undefined) return
        pending.delete(reply.id)
        p.resume(new Uint8Array(reply.valid))
      })
      worker.on("error", () => retire(worker))
      worker.on("exit", () => retire(worker))
      started.push(worker)
    }
    const wanted = Math.max(0, Math.floor(options.workers))
    if (options.eager === true) while (started.length < wanted) start()
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => Promise.all(started.map((w) => w.terminate()))).pipe(Effect.ignore)
    )

    // Signatures asked for in this turn of the event loop, by every caller (many nodes of one process
    // may share the pool): once they reach minWorkerBatch, the rest of the turn's go to the workers.
    // A turn ends with the poll phase (setImmediate), not with each callback's microtasks: a node
    // handles each datagram in its own callback, and a flood arrives as many callbacks in one phase.
    let asked = 0
    /** Whether `n` more signatures this turn make a backlog, for the workers. */
    const backlogWith = (n: number): boolean => wanted > 0 && asked + n >= minWorkerBatch
    const countThisTurn = (n: number): void => {
      if (asked === 0)
        setImmediate(() => {
          asked = 0
        })
      asked += n
    }

    const onWorker = (jobs: SignatureJobs): Effect.Effect<Uint8Array> =>
      Effect.callback<Uint8Array>((resume) => {
        // The last worker may have died since the caller saw one.
        const worker = live[turn++ % Math.max(1, live.length)]
        if (worker === undefined) return resume(Effect.succeed(verifyInline(jobs)))
        const id = nextId++
        pending.set(id, { jobs, worker, resume: (valid) => resume(Effect.succeed(valid)) })
        const buffer = pack(jobs)
        worker.postMessage({ id, jobs: buffer, count: jobs.at.length } satisfies Request, [buffer])
        return Effect.sync(() => pending.delete(id))
      })

    const checkBatch = (
      dats: ReadonlyArray<Message.Dat>,
      nowMs: number,
      minWork: number
    ): Effect.Effect<ReadonlyArray<Verdict>> => {
      const verdicts: Array<Verdict> = new Array(dats.length)
      const jobs: SignatureJobs = { at: [], dats: [], messages: [] }
      for (let i = 0; i < dats.length; i++) {
        const dat = dats[i]!
        const prepared = prepare(hasher, dat, { nowMs, minWork })
        if (typeof prepared === "string") verdicts[i] = prepared
        else if (dat.sig.length !== SIGNATURE_BYTES) verdicts[i] = "BadSignature"
        else {
          jobs.at.push(i)
          jobs.dats.push(dat)
          jobs.messages.push(prepared)
        }
      }
      const fill = (valid: Uint8Array): ReadonlyArray<Verdict> => {
        for (let j = 0; j < jobs.at.length; j++) verdicts[jobs.at[j]!] = valid[j] === 1 ? "Valid" : "BadSignature"
        return verdicts
      }
      if (jobs.at.length === 0) return Effect.succeed(verdicts)
      const backlog = backlogWith(jobs.at.length)
      countThisTurn(jobs.at.length)
      if (backlog) while (started.length < wanted) start()
      // Checked right here, a callback would cost a suspension for nothing.
      if (!backlog || live.length === 0) return Effect.sync(() => fill(verifyInline(jobs)))
      return Effect.map(onWorker(jobs), fill)
    }

    return VerifyPool.of({
      workers: () => live.length,
      checkHere: (dat, checkOptions) => {
        // Declined, it is counted by `check`, which the caller asks next.
        if (backlogWith(1)) return undefined
        countThisTurn(1)
        const minWork = checkOptions.minWork ?? Constants.MIN_WORK
        return checkDat({ hasher, verifier }, dat, { nowMs: checkOptions.nowMs, minWork })
      },
      check: (dats, checkOptions) => {
        const minWork = checkOptions.minWork ?? Constants.MIN_WORK
        if (dats.length <= MAX_BATCH) return checkBatch(dats, checkOptions.nowMs, minWork)
        const chunks: Array<ReadonlyArray<Message.Dat>> = []
        for (let i = 0; i < dats.length; i += MAX_BATCH) chunks.push(dats.slice(i, i + MAX_BATCH))
        return Effect.map(
          Effect.forEach(chunks, (c) => checkBatch(c, checkOptions.nowMs, minWork), { concurrency: "unbounded" }),
          (parts) => parts.flat()
        )
      }
    })
  })

export const layer = (options: PoolOptions): Layer.Layer<VerifyPool, never, Hasher | Verifier> =>
  Layer.effect(VerifyPool, make(options))

/** Checks on the calling thread: for simulations and machines with one core. */
export const layerInline: Layer.Layer<VerifyPool, never, Hasher | Verifier> = layer({ workers: 0 })
