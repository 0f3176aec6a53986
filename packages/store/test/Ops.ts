import { Codec, Dat, type Entry } from "@dave/protocol"
import { ShardStore, type StoreChange } from "@dave/store"
import { assert } from "@effect/vitest"
import { Clock, Effect, Option, PubSub, Result, type Scope, Stream } from "effect"
import * as fc from "fast-check"
import * as ManualClock from "./ManualClock.ts"
import { hex, idOf, Model, type ModelOptions } from "./Model.ts"

/**
 * Random operation sequences, run against the store and the model side by side, comparing after
 * every operation: the outcome, every eviction (which entries, in which order, why), `used`, the
 * entry count and every entry's content, and `used <= capacity`.
 */

export type Op =
  | {
      readonly kind: "put"
      readonly author: number
      readonly key: number
      /** Time of the entry relative to the clock, as a fraction of the TTL. */
      readonly age: number
      readonly work: number
      readonly sig: number
      readonly valueLength: number
      readonly valueByte: number
    }
  | { readonly kind: "advance"; readonly fraction: number }
  | { readonly kind: "remove"; readonly author: number; readonly key: number }
  | { readonly kind: "prune" }
  | { readonly kind: "replicas"; readonly author: number; readonly key: number; readonly replica: number }
  | { readonly kind: "odd"; readonly which: 0 | 1 | 2 }

export interface Scenario {
  readonly nodeId: bigint
  readonly authorSeeds: ReadonlyArray<Uint8Array>
  readonly capacityBytes: number
  readonly ops: ReadonlyArray<Op>
}

export const TTL_MS = 10_000
const START_MS = 1_000_000

export const scenario = (options: {
  readonly keys: number
  /** Capacity in entries of the smallest size (224 B), between these bounds. */
  readonly minEntries: number
  readonly maxEntries: number
  readonly minOps: number
  readonly maxOps: number
  /** Largest clock advance, as a fraction of the TTL. */
  readonly maxAdvance: number
}): fc.Arbitrary<Scenario> => {
  const author = fc.nat(7)
  const key = fc.nat(options.keys - 1)
  const put = fc.record({
    kind: fc.constant("put" as const),
    author,
    key,
    age: fc.oneof(
      fc.constantFrom(0, -0.5, 0.25),
      fc.double({ min: -0.2, max: 0, noNaN: true }),
      fc.double({ min: -1.2, max: 0.5, noNaN: true })
    ),
    work: fc.nat(2),
    sig: fc.nat(1),
    valueLength: fc.oneof(fc.constantFrom(0, 8), fc.nat(60)),
    valueByte: fc.nat(1)
  })
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: put },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("advance" as const),
        fraction: fc.oneof(
          fc.constantFrom(0, options.maxAdvance),
          fc.double({ min: 0, max: options.maxAdvance, noNaN: true })
        )
      })
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("remove" as const), author, key }) },
    { weight: 1, arbitrary: fc.constant({ kind: "prune" as const }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("replicas" as const), author, key, replica: fc.nat(1000) })
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("odd" as const), which: fc.constantFrom(0, 1, 2) }) }
  )
  return fc.record({
    nodeId: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    authorSeeds: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 3, maxLength: 3 }),
    capacityBytes: fc.integer({ min: 224 * options.minEntries, max: 224 * options.maxEntries + 300 }),
    ops: fc.array(op, { minLength: options.minOps, maxLength: options.maxOps, size: "max" })
  })
}

const le64 = (x: bigint): Uint8Array => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, x, true)
  return out
}

/**
 * Eight authors: three random, one sharing author 0's node ID (equal weight, other key), one at
 * distance 1 from us (weight 2^64 − 1), one at the farthest distance (weight 1), and two whose
 * distances differ from 1 only in the low half (3) or only in the high half (2^32 + 1), for the
 * weight tie-break between entries expiring together.
 */
export const authorsOf = (s: Scenario): ReadonlyArray<Uint8Array> => {
  const [a, b, c] = s.authorSeeds as [Uint8Array, Uint8Array, Uint8Array]
  const twin = a.slice()
  twin[31]! ^= 0xff
  const near = a.slice()
  near.set(le64(s.nodeId ^ 1n))
  const far = b.slice()
  far.set(le64(s.nodeId ^ ((1n << 64n) - 1n)))
  const nearLow = c.slice()
  nearLow.set(le64(s.nodeId ^ 3n))
  const nearHigh = c.slice()
  nearHigh[31]! ^= 0xff
  nearHigh.set(le64(s.nodeId ^ ((1n << 32n) + 1n)))
  return [a, b, c, twin, near, far, nearLow, nearHigh]
}

const keyBytes = (i: number): Uint8Array => new TextEncoder().encode(i % 3 === 0 ? "" : `k${i}`)

export const makeEntry = (
  pubKey: Uint8Array,
  key: Uint8Array,
  time: bigint,
  work: number,
  sig: number,
  value: Uint8Array
): Entry => {
  const workBytes = new Uint8Array(32)
  workBytes[0] = work
  workBytes[31] = work
  const sigBytes = new Uint8Array(64)
  sigBytes[0] = sig
  return {
    replicas: [1n, 2n, 3n, 4n, 5n],
    dat: { time, salt: new Uint8Array(16).fill(7), work: workBytes, sig: sigBytes, pubKey, key, value }
  }
}

/** Whether an entry encodes to `record`. */
const sameRecord = (entry: Entry, record: Uint8Array): boolean => {
  const encoded = Codec.encodeEntry(entry)
  return Result.isSuccess(encoded) && Dat.bytesEqual(encoded.success, record)
}

/** Asserts strict equality, building the message only on failure (the loop runs a million times). */
const expect = (actual: unknown, expected: unknown, where: () => string): void => {
  if (actual !== expected) assert.strictEqual(actual, expected, where())
}

const dropsOf = (changes: ReadonlyArray<StoreChange>) =>
  changes.flatMap((c) => (c._tag === "Dropped" ? [{ id: idOf(c.pubKey, c.key), reason: c.reason }] : []))

/** What a scenario exercised, so that tests can check their generators reach what they claim. */
export interface Coverage {
  readonly maxEntries: number
  readonly evictions: number
  readonly rejects: Set<string>
}

/** Runs a scenario; fails (an assertion defect) at the first difference from the model. */
export const runScenario = (
  s: Scenario,
  options: {
    readonly keyHash?: ((pubKey: Uint8Array, key: Uint8Array) => bigint) | undefined
    /** Compare every entry's content after every n-th operation (and at the end); default 1. */
    readonly contentEvery?: number
  } = {}
): Effect.Effect<Coverage, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    let maxEntries = 0
    let evictions = 0
    const rejects = new Set<string>()
    const { keyHash, contentEvery = 1 } = options
    const storeOptions: ModelOptions = {
      capacityBytes: s.capacityBytes,
      ttlMs: TTL_MS,
      nodeId: s.nodeId,
      ...(keyHash ? { keyHash } : {})
    }
    const manual = ManualClock.make(START_MS)
    const store = yield* ShardStore.make({ ...storeOptions, pruneEveryMs: 0, changeBufferSize: 256 }).pipe(
      Effect.provideService(Clock.Clock, manual.clock)
    )
    const model = new Model(storeOptions)
    const sub = yield* store.changes
    const authors = authorsOf(s)
    const now = () => Number(model.clock > BigInt(START_MS) ? model.clock : BigInt(START_MS))
    let clockMs = START_MS
    for (const [step, op] of s.ops.entries()) {
      const where = () => `step ${step} ${JSON.stringify(op)}`
      let expectedDrops: ReadonlyArray<{ id: string; reason: string }> = []
      switch (op.kind) {
        case "put": {
          const time = BigInt(Math.max(0, Math.round(now() + op.age * TTL_MS)))
          const value = new Uint8Array(op.valueLength).fill(op.valueByte)
          const entry = makeEntry(authors[op.author]!, keyBytes(op.key), time, op.work, op.sig, value)
          const got = yield* Effect.result(store.put(entry))
          const want = model.put(entry, clockMs)
          if (want.ok) {
            expect(Result.isSuccess(got) ? got.success._tag : got.failure.reason, want.tag, where)
            if (Result.isSuccess(got) && got.success._tag !== "Duplicate") {
              expect(got.success.evicted, want.evicted.length, where)
            }
            expectedDrops = want.evicted
          } else {
            expect(Result.isFailure(got) ? got.failure.reason : got.success._tag, want.reason, where)
            rejects.add(want.reason)
          }
          break
        }
        case "advance": {
          const ms = Math.round(op.fraction * TTL_MS)
          manual.advance(ms)
          clockMs += ms
          break
        }
        case "remove": {
          const key = keyBytes(op.key)
          const removed = yield* store.remove(authors[op.author]!, key)
          expectedDrops = model.remove(authors[op.author]!, key, clockMs)
          expect(removed, expectedDrops.length === 1, where)
          break
        }
        case "prune": {
          const pruned = yield* store.pruneExpired
          expectedDrops = model.prune(clockMs)
          expect(pruned, expectedDrops.length, where)
          break
        }
        case "replicas": {
          const replicas = [BigInt(op.replica), 0n, 7n, (1n << 64n) - 1n, 9n]
          const key = keyBytes(op.key)
          const set = yield* store.setReplicas(authors[op.author]!, key, replicas)
          expect(set, model.setReplicas(authors[op.author]!, key, replicas), where)
          break
        }
        case "odd": {
          const base = makeEntry(authors[0]!, keyBytes(1), BigInt(now()), 0, 0, new Uint8Array(4))
          const entry: Entry =
            op.which === 0
              ? { ...base, dat: { ...base.dat, salt: new Uint8Array(15) } }
              : op.which === 1
                ? { ...base, dat: { ...base.dat, time: BigInt(Number.MAX_SAFE_INTEGER) } }
                : { ...base, dat: { ...base.dat, value: new Uint8Array(s.capacityBytes) } }
          const got = yield* Effect.result(store.put(entry))
          const want = model.put(entry, clockMs)
          expect(want.ok, false, where)
          if (!want.ok) {
            expect(Result.isFailure(got) ? got.failure.reason : got.success._tag, want.reason, where)
            rejects.add(want.reason)
          }
          break
        }
      }
      const drops = dropsOf(yield* PubSub.takeUpTo(sub, 10_000))
      const sameDrops =
        drops.length === expectedDrops.length &&
        drops.every((d, i) => d.id === expectedDrops[i]!.id && d.reason === expectedDrops[i]!.reason)
      if (!sameDrops) assert.deepStrictEqual(drops, expectedDrops, `${where()}: evictions`)
      evictions += expectedDrops.filter((d) => d.reason !== "Removed").length
      const stats = yield* store.stats
      expect(stats.usedBytes <= s.capacityBytes, true, () => `${where()}: used <= capacity`)
      expect(stats.usedBytes, model.used, () => `${where()}: used`)
      expect(stats.entries, model.items.size, () => `${where()}: entries`)
      maxEntries = Math.max(maxEntries, stats.entries)
      if (step % contentEvery !== contentEvery - 1 && step !== s.ops.length - 1) continue
      for (const item of model.items.values()) {
        const got = yield* store.get(item.entry.dat.pubKey, item.entry.dat.key)
        const same = Option.isSome(got) && sameRecord(got.value, item.record)
        expect(same, true, () => `${where()}: content of ${hex(item.entry.dat.key)}`)
      }
    }
    // The full listing agrees too.
    const listed = yield* Stream.runCollect(store.entries)
    assert.strictEqual(listed.length, model.items.size)
    for (const entry of listed) {
      const item = model.find(entry.dat.pubKey, entry.dat.key)
      assert.isTrue(item !== undefined && sameRecord(entry, item.record), "listing")
    }
    return { maxEntries, evictions, rejects }
  })
