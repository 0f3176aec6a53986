import { Worker } from "node:worker_threads"
import { Constants, type Message } from "@dave/protocol"
import { Context, Effect, Layer, type Scope } from "effect"
import { check, type Verdict } from "./DatSigning.ts"
import { Hasher } from "./Hasher.ts"
import { Verifier } from "./Verifier.ts"
import { READY, type Reply, type Request } from "./VerifyMessages.ts"

/**
 * Dat verification (work and signature, DatSigning.check) on worker threads, so a node's event loop
 * keeps decoding, answering and storing while another core verifies: verification is most of the cost
 * of a PUT, and one thread could not ingest faster than one core verifies. With no workers it checks
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
    /** Worker threads loaded and checking right now (0 while they start, or with none). */
    readonly workers: () => number
  }
>()("@dave/crypto/VerifyPool") {}

/** Node 24 runs the .ts worker from src directly (needing the "source" condition); the build has the .js. */
const fromSource = import.meta.url.endsWith(".ts")
const workerUrl = new URL(fromSource ? "./VerifyWorker.ts" : "./VerifyWorker.js", import.meta.url)

/** Most dats in one request to a worker: bounds the size of each message and of a lost batch. */
export const MAX_BATCH = 256

const copyDat = (d: Message.Dat): Message.Dat => ({
  time: d.time,
  salt: d.salt.slice(),
  work: d.work.slice(),
  sig: d.sig.slice(),
  pubKey: d.pubKey.slice(),
  key: d.key.slice(),
  value: d.value.slice()
})

export const make = (options: {
  readonly workers: number
}): Effect.Effect<VerifyPool["Service"], never, Scope.Scope | Hasher | Verifier> =>
  Effect.gen(function* () {
    const crypto = { hasher: yield* Hasher, verifier: yield* Verifier }
    const inline = (dats: ReadonlyArray<Message.Dat>, nowMs: number, minWork: number) =>
      dats.map((dat) => check(crypto, dat, { nowMs, minWork }))
    const pending = new Map<
      number,
      { readonly request: Request; readonly resume: (v: ReadonlyArray<Verdict>) => void }
    >()
    const owner = new Map<number, Worker>()
    let live: Array<Worker> = []
    let nextId = 0
    let turn = 0

    const retire = (worker: Worker) => {
      live = live.filter((w) => w !== worker)
      for (const [id, p] of pending) {
        if (owner.get(id) !== worker) continue
        pending.delete(id)
        owner.delete(id)
        p.resume(inline(p.request.dats, p.request.nowMs, p.request.minWork))
      }
    }
    // A worker joins the rotation once it has loaded (a cold start can take seconds on a busy
    // machine); until one has, dats are checked inline, so starting the pool never delays the node.
    const started = Array.from({ length: Math.max(0, Math.floor(options.workers)) }, () => {
      const worker = new Worker(workerUrl, { execArgv: fromSource ? ["--conditions=source"] : [] })
      worker.on("message", (reply: Reply) => {
        if (reply.id === READY) return void live.push(worker)
        const p = pending.get(reply.id)
        if (p === undefined) return
        pending.delete(reply.id)
        owner.delete(reply.id)
        p.resume(reply.verdicts)
      })
      worker.on("error", () => retire(worker))
      worker.on("exit", () => retire(worker))
      return worker
    })
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => Promise.all(started.map((w) => w.terminate()))).pipe(Effect.ignore)
    )

    const checkBatch = (dats: ReadonlyArray<Message.Dat>, nowMs: number, minWork: number) =>
      // Without a worker, checked right here: a callback would cost a suspension for nothing.
      live.length === 0 ? Effect.sync(() => inline(dats, nowMs, minWork)) : checkOnWorker(dats, nowMs, minWork)

    const checkOnWorker = (dats: ReadonlyArray<Message.Dat>, nowMs: number, minWork: number) =>
      Effect.callback<ReadonlyArray<Verdict>>((resume) => {
        const worker = live[turn++ % Math.max(1, live.length)]
        if (worker === undefined) return resume(Effect.succeed(inline(dats, nowMs, minWork)))
        const request: Request = { id: nextId++, dats: dats.map(copyDat), nowMs, minWork }
        pending.set(request.id, { request, resume: (v) => resume(Effect.succeed(v)) })
        owner.set(request.id, worker)
        worker.postMessage(request)
        return Effect.sync(() => {
          pending.delete(request.id)
          owner.delete(request.id)
        })
      })

    return VerifyPool.of({
      workers: () => live.length,
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

export const layer = (options: { readonly workers: number }): Layer.Layer<VerifyPool, never, Hasher | Verifier> =>
  Layer.effect(VerifyPool, make(options))

/** Checks on the calling thread: for simulations and machines with one core. */
export const layerInline: Layer.Layer<VerifyPool, never, Hasher | Verifier> = layer({ workers: 0 })
