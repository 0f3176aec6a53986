import { DatSigning, Hasher, Signer, Verifier, VerifyPool, Work } from "@dave/crypto"
import type { Message } from "@dave/protocol"
import * as V from "@dave/protocol/vectors"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"

const crypto = Layer.mergeAll(Signer.layerNative(V.seed), Verifier.layerNative(), Work.layerSingleThread).pipe(
  Layer.provideMerge(Hasher.layerWasm)
)

const flip = (b: Uint8Array, i: number) => {
  const c = b.slice()
  c[i] = c[i]! ^ 1
  return c
}

/** Valid dats and one of each way to be refused. */
const sample = Effect.gen(function* () {
  const dats: Array<Message.Dat> = []
  for (let i = 0; i < 6; i++) {
    dats.push(
      yield* DatSigning.signDat({
        key: new TextEncoder().encode(`k${i}`),
        value: new TextEncoder().encode(`v${i}`),
        timeMs: 1_700_000_000_000 + i,
        difficulty: 8
      })
    )
  }
  const [a, b, c, d] = dats as [Message.Dat, Message.Dat, Message.Dat, Message.Dat]
  return [
    ...dats,
    { ...a, value: flip(a.value, 0) }, // BadSignature
    { ...b, salt: flip(b.salt, 3) }, // WorkMismatch
    { ...c, work: new Uint8Array(32).fill(0xff) }, // LowWork
    { ...d, time: 1_800_000_000_000n } // FutureTime
  ]
})

const NOW_MS = 1_700_000_001_000

describe("VerifyPool", () => {
  it.live("workers give the same verdicts as the inline check, in order", () =>
    Effect.gen(function* () {
      const dats = yield* sample
      const expected = yield* Effect.gen(function* () {
        const pool = yield* VerifyPool.VerifyPool
        expect(pool.workers()).toBe(0)
        return yield* pool.check(dats, { nowMs: NOW_MS })
      }).pipe(Effect.provide(VerifyPool.layerInline))
      expect(expected.slice(6)).toEqual(["BadSignature", "WorkMismatch", "LowWork", "FutureTime"])
      expect(expected.slice(0, 6).every((v) => v === "Valid")).toBe(true)
      const viaWorkers = yield* Effect.gen(function* () {
        const pool = yield* VerifyPool.VerifyPool
        // Batches below the threshold are checked inline and start no thread.
        expect(yield* pool.check(dats.slice(0, 4), { nowMs: NOW_MS })).toEqual(expected.slice(0, 4))
        yield* Effect.sleep(200)
        expect(pool.workers()).toBe(0)
        // A large batch starts the workers (checked inline while they load), then both take their share.
        const many = Array.from({ length: 3 * VerifyPool.MAX_BATCH }, (_, i) => dats[i % dats.length]!)
        expect(yield* pool.check(many, { nowMs: NOW_MS })).toEqual(many.map((_, i) => expected[i % dats.length]))
        const deadline = Date.now() + 20_000
        while (pool.workers() < 2 && Date.now() < deadline) yield* Effect.sleep(50)
        expect(pool.workers()).toBe(2)
        // More than one batch, so chunks go to both workers and come back in order.
        const verdicts = yield* pool.check(many, { nowMs: NOW_MS })
        expect(verdicts).toEqual(many.map((_, i) => expected[i % dats.length]))
        return yield* pool.check(dats, { nowMs: NOW_MS })
      }).pipe(Effect.provide(VerifyPool.layer({ workers: 2, minWorkerBatch: 5 })))
      expect(viaWorkers).toEqual(expected)
    }).pipe(Effect.provide(crypto))
  )

  it.live("an eager pool starts its workers at once, and they check correctly", () =>
    Effect.gen(function* () {
      const dats = yield* sample
      const pool = yield* VerifyPool.VerifyPool
      const deadline = Date.now() + 20_000
      while (pool.workers() < 1 && Date.now() < deadline) yield* Effect.sleep(50)
      expect(pool.workers()).toBe(1)
      const verdicts = yield* pool.check(dats, { nowMs: NOW_MS })
      expect(verdicts.slice(6)).toEqual(["BadSignature", "WorkMismatch", "LowWork", "FutureTime"])
      expect(verdicts.slice(0, 6).every((v) => v === "Valid")).toBe(true)
    }).pipe(Effect.provide(VerifyPool.layer({ workers: 1, eager: true, minWorkerBatch: 2 })), Effect.provide(crypto))
  )
})
