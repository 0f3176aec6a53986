import { Codec, type Entry, NodeId } from "@dave/protocol"
import { type EntryRejected, KeyHash, type PutAccepted, ShardStore, StoreMetrics } from "@dave/store"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Metric, Option, PubSub, Result, type Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { hex, Model } from "./Model.ts"
import { makeEntry } from "./Ops.ts"

const DAY_MS = 24 * 60 * 60 * 1000
const T0 = 1_700_000_000_000
const NODE_ID = 0x1122334455667788n
const bytes = (s: string) => Uint8Array.from(Buffer.from(s, "hex"))
const text = (s: string) => new TextEncoder().encode(s)

/** An author whose node ID is at `distance` from NODE_ID. */
const authorAt = (distance: bigint, tail = 0): Uint8Array => {
  const pub = new Uint8Array(32).fill(tail)
  new DataView(pub.buffer).setBigUint64(0, NODE_ID ^ distance, true)
  return pub
}
const near = authorAt(1n)
const far = authorAt((1n << 64n) - 1n)
const mid = authorAt(1n << 63n)

const entry = (pub: Uint8Array, key: string, timeMs: number, options: { work?: number; value?: number } = {}) =>
  makeEntry(pub, text(key), BigInt(timeMs), options.work ?? 0, 0, new Uint8Array(options.value ?? 16).fill(1))

/** Accounted size of an `entry(...)` with a key of `keyLength` bytes and a value of `value` bytes. */
const sizeOf = (keyLength: number, value = 16) => keyLength + value + 224

const withStore = <A, E>(
  options: Partial<ShardStore.ShardStoreOptions>,
  f: (store: ShardStore.ShardStoreShape) => Effect.Effect<A, E, Scope.Scope>
) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(T0)
    const store = yield* ShardStore.make({ capacityBytes: 1 << 20, nodeId: NODE_ID, pruneEveryMs: 0, ...options })
    return yield* f(store)
  })

const reasonOf = (r: Result.Result<PutAccepted, EntryRejected>) => (Result.isFailure(r) ? r.failure.reason : undefined)
const tagOf = (r: Result.Result<PutAccepted, EntryRejected>) => (Result.isSuccess(r) ? r.success._tag : undefined)
const encoded = (e: Entry) => hex(Result.getOrThrow(Codec.encodeEntry(e)))

describe("KeyHash", () => {
  it.effect('XXH64(seed 0, pub ‖ "hello") = 0x81ec508820a03fdf, shard 129', () =>
    Effect.gen(function* () {
      const hash = (yield* KeyHash.make)(
        bytes("79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"),
        text("hello")
      )
      assert.strictEqual(KeyHash.toBigInt(hash), 0x81ec508820a03fdfn)
      assert.strictEqual(KeyHash.shardOf(hash.hi), 129)
    })
  )
})

describe("ShardStore reads and writes", () => {
  it.effect("put then get returns a copy; the caller may reuse its buffers", () =>
    withStore({}, (store) =>
      Effect.gen(function* () {
        const e = entry(near, "k", T0)
        const want = encoded(e)
        assert.deepStrictEqual(yield* store.put(e), { _tag: "Inserted", evicted: 0 })
        e.dat.value.fill(9)
        const got = Option.getOrThrow(yield* store.get(near, text("k")))
        assert.strictEqual(encoded(got), want)
        got.dat.value.fill(7)
        assert.strictEqual(encoded(Option.getOrThrow(yield* store.get(near, text("k")))), want)
        assert.isTrue(Option.isNone(yield* store.get(near, text("other"))))
        assert.isTrue(Option.isNone(yield* store.get(new Uint8Array(5), text("k"))), "a short public key finds nothing")
        assert.deepStrictEqual(yield* store.stats, { entries: 1, usedBytes: sizeOf(1), capacityBytes: 1 << 20 })
      })
    )
  )

  it.effect("getRecordUnsafe copies the encoded record after the requested headroom", () =>
    withStore({}, (store) =>
      Effect.gen(function* () {
        const e = entry(near, "k", T0)
        yield* store.put(e)
        const out = store.getRecordUnsafe(near, text("k"), 3)!
        assert.deepStrictEqual(Array.from(out.subarray(0, 3)), [0, 0, 0])
        assert.strictEqual(hex(out.subarray(3)), encoded(e))
        out.fill(9)
        assert.strictEqual(hex(store.getRecordUnsafe(near, text("k"), 0)!), encoded(e))
        assert.isUndefined(store.getRecordUnsafe(near, text("missing"), 3))
      })
    )
  )

  it.effect("update rules: later time wins, equal time goes to the greater work, identical is Duplicate", () =>
    withStore({}, (store) =>
      Effect.gen(function* () {
        const put = (e: Entry) => Effect.result(store.put(e))
        assert.strictEqual(tagOf(yield* put(entry(mid, "k", T0, { work: 5 }))), "Inserted")
        assert.strictEqual(reasonOf(yield* put(entry(mid, "k", T0 - 1, { work: 9 }))), "Stale")
        assert.strictEqual(reasonOf(yield* put(entry(mid, "k", T0, { work: 4 }))), "Stale")
        assert.strictEqual(tagOf(yield* put(entry(mid, "k", T0, { work: 5 }))), "Duplicate")
        assert.strictEqual(tagOf(yield* put(entry(mid, "k", T0, { work: 6, value: 40 }))), "Replaced")
        assert.strictEqual(tagOf(yield* put(entry(mid, "k", T0 + 1, { work: 0, value: 2 }))), "Replaced")
        const stored = Option.getOrThrow(yield* store.get(mid, text("k")))
        assert.strictEqual(stored.dat.time, BigInt(T0 + 1))
        assert.strictEqual((yield* store.stats).usedBytes, sizeOf(1, 2))
        // Same dat, other replicas: a Duplicate that leaves the replicas alone; setReplicas changes them.
        const same = { ...entry(mid, "k", T0 + 1, { work: 0, value: 2 }), replicas: [9n, 9n, 9n, 9n, 9n] }
        assert.strictEqual(tagOf(yield* put(same)), "Duplicate")
        assert.deepStrictEqual(Option.getOrThrow(yield* store.get(mid, text("k"))).replicas, [1n, 2n, 3n, 4n, 5n])
        assert.isTrue(yield* store.setReplicas(mid, text("k"), [9n, 8n, 7n, 6n, (1n << 64n) - 1n]))
        assert.deepStrictEqual(Option.getOrThrow(yield* store.get(mid, text("k"))).replicas, [
          9n,
          8n,
          7n,
          6n,
          (1n << 64n) - 1n
        ])
        assert.isFalse(yield* store.setReplicas(mid, text("missing"), [0n, 0n, 0n, 0n, 0n]))
        const bad = yield* Effect.flip(store.setReplicas(mid, text("k"), [1n, 2n]))
        assert.strictEqual(bad.reason, "Malformed")
      })
    )
  )

  it.effect("rejects with a typed reason: Malformed, TimeOutOfRange, Expired, TooLarge", () =>
    withStore({ capacityBytes: 300 }, (store) =>
      Effect.gen(function* () {
        const base = entry(near, "k", T0)
        const reason = (e: Entry) => Effect.map(Effect.flip(store.put(e)), (error) => error.reason)
        assert.strictEqual(yield* reason({ ...base, dat: { ...base.dat, pubKey: new Uint8Array(31) } }), "Malformed")
        assert.strictEqual(yield* reason({ ...base, replicas: [1n] }), "Malformed")
        assert.strictEqual(yield* reason({ ...base, dat: { ...base.dat, key: new Uint8Array(256) } }), "Malformed")
        assert.strictEqual(yield* reason({ ...base, dat: { ...base.dat, time: 1n << 60n } }), "TimeOutOfRange")
        assert.strictEqual(yield* reason(entry(near, "k", T0 - 366 * DAY_MS)), "Expired")
        assert.strictEqual(yield* reason(entry(near, "k", T0, { value: 80 })), "TooLarge")
        assert.deepStrictEqual(yield* store.stats, { entries: 0, usedBytes: 0, capacityBytes: 300 })
      })
    )
  )

  it.effect("64-bit collisions never overwrite: OtherAuthor and KeyCollision", () =>
    withStore({ keyHash: () => 42n }, (store) =>
      Effect.gen(function* () {
        yield* store.put(entry(near, "a", T0))
        assert.strictEqual((yield* Effect.flip(store.put(entry(far, "b", T0 + 1)))).reason, "OtherAuthor")
        assert.strictEqual((yield* Effect.flip(store.put(entry(near, "b", T0 + 1)))).reason, "KeyCollision")
        assert.isTrue(Option.isNone(yield* store.get(near, text("b"))))
        assert.strictEqual(Option.getOrThrow(yield* store.get(near, text("a"))).dat.time, BigInt(T0))
      })
    )
  )

  it.effect("remove, entries and putAll", () =>
    withStore({}, (store) =>
      Effect.gen(function* () {
        const batch = Array.from({ length: 300 }, (_, i) => entry(i % 2 ? near : far, `k${i}`, T0 - i))
        const stale = entry(near, "k1", T0 - 1000)
        const results = yield* store.putAll([...batch, stale, { ...batch[0]!, replicas: [] }])
        assert.strictEqual(results.length, 302)
        assert.isTrue(results.slice(0, 300).every((r) => tagOf(r) === "Inserted"))
        assert.strictEqual(reasonOf(results[300]!), "Stale")
        assert.strictEqual(reasonOf(results[301]!), "Malformed")
        const listed = yield* Stream.runCollect(store.entries)
        assert.deepStrictEqual(listed.map(encoded).sort(), batch.map(encoded).sort())
        assert.isTrue(yield* store.remove(near, text("k1")))
        assert.isFalse(yield* store.remove(near, text("k1")))
        assert.isTrue(Option.isNone(yield* store.get(near, text("k1"))))
        assert.strictEqual((yield* store.stats).entries, 299)
      })
    )
  )

  it.effect("grows past its initial slots and keeps every entry readable after heavy churn", () =>
    withStore({}, (store) =>
      Effect.gen(function* () {
        for (let i = 0; i < 2000; i++) yield* store.put(entry(mid, `k${i}`, T0, { value: i % 50 }))
        for (let i = 0; i < 2000; i += 2) yield* store.remove(mid, text(`k${i}`))
        for (let i = 1; i < 2000; i += 2) yield* store.put(entry(mid, `k${i}`, T0 + 1, { value: (i * 7) % 300 }))
        assert.strictEqual((yield* store.stats).entries, 1000)
        for (let i = 0; i < 2000; i++) {
          const got = yield* store.get(mid, text(`k${i}`))
          if (i % 2 === 0) assert.isTrue(Option.isNone(got))
          else
            assert.strictEqual(
              encoded(Option.getOrThrow(got)),
              encoded(entry(mid, `k${i}`, T0 + 1, { value: (i * 7) % 300 }))
            )
        }
      })
    )
  )

  it.effect("one shard with many large records: compaction moves records, none is lost", () =>
    // Every key hashes to shard 0 (top byte 0), each to its own slot.
    withStore({ keyHash: (_p, k) => BigInt(Number(new TextDecoder().decode(k).slice(4)) + 1) }, (store) =>
      Effect.gen(function* () {
        const keyOf = (i: number) => `key-${String(i).padStart(4, "0")}`
        const want = new Map<string, Entry>()
        for (let round = 0; round < 6; round++) {
          for (let i = round % 2; i < 300; i += 1 + (round % 3)) {
            const e = entry(mid, keyOf(i), T0 + round, { value: 200 + ((i * 13 + round) % 900) })
            yield* store.put(e)
            want.set(keyOf(i), e)
          }
          for (let i = round; i < 300; i += 7) {
            yield* store.remove(mid, text(keyOf(i)))
            want.delete(keyOf(i))
          }
        }
        assert.strictEqual((yield* store.stats).entries, want.size)
        for (const [key, e] of want)
          assert.strictEqual(encoded(Option.getOrThrow(yield* store.get(mid, text(key)))), encoded(e))
      })
    )
  )
})

describe("ShardStore budget and eviction", () => {
  it.effect("an insert evicts as many lowest-ranked entries as it needs, all or nothing", () =>
    withStore({ capacityBytes: 4 * sizeOf(2) }, (store) =>
      Effect.gen(function* () {
        const sub = yield* store.changes
        // Four entries of the same author: older ones rank lower.
        for (let i = 0; i < 4; i++) yield* store.put(entry(mid, `k${i}`, T0 - (4 - i) * DAY_MS))
        assert.strictEqual((yield* store.stats).usedBytes, 4 * sizeOf(2))
        // A newcomer twice the size, ranking above the two oldest: exactly those two go.
        const big = entry(mid, "kb", T0, { value: 16 + sizeOf(2) })
        assert.deepStrictEqual(yield* store.put(big), { _tag: "Inserted", evicted: 2 })
        const dropped = (yield* PubSub.takeUpTo(sub, 100)).flatMap((c) =>
          c._tag === "Dropped" ? [`${new TextDecoder().decode(c.key)}:${c.reason}`] : []
        )
        assert.deepStrictEqual(dropped, ["k0:Capacity", "k1:Capacity"])
        // A newcomer that would have to evict something ranking above it: rejected, nothing evicted.
        const low = entry(far, "kl", T0 - 5 * DAY_MS, { value: 16 + sizeOf(2) })
        assert.strictEqual((yield* Effect.flip(store.put(low))).reason, "RanksLowest")
        const stats = yield* store.stats
        assert.deepStrictEqual([stats.entries, stats.usedBytes], [3, 4 * sizeOf(2)])
        assert.isTrue(Option.isSome(yield* store.get(mid, text("k2"))))
      })
    )
  )

  it.effect("a replacement that grows evicts others, or is rejected and keeps the old version", () =>
    withStore({ capacityBytes: 3 * sizeOf(1) }, (store) =>
      Effect.gen(function* () {
        yield* store.put(entry(far, "a", T0 - DAY_MS))
        yield* store.put(entry(mid, "b", T0))
        yield* store.put(entry(near, "c", T0))
        // b grows by one entry's size: a (lowest) is evicted.
        assert.deepStrictEqual(yield* store.put(entry(mid, "b", T0 + 1, { value: 16 + sizeOf(1) })), {
          _tag: "Replaced",
          evicted: 1
        })
        assert.isTrue(Option.isNone(yield* store.get(far, text("a"))))
        // b grows again, but c ranks above it: rejected, b's previous version stays.
        assert.strictEqual(
          (yield* Effect.flip(store.put(entry(mid, "b", T0 + 2, { value: 16 + 2 * sizeOf(1) })))).reason,
          "RanksLowest"
        )
        assert.strictEqual(Option.getOrThrow(yield* store.get(mid, text("b"))).dat.time, BigInt(T0 + 1))
        assert.strictEqual((yield* store.stats).usedBytes, 3 * sizeOf(1))
      })
    )
  )

  it.effect("expired entries stay readable, rank lowest, and are pruned on schedule", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const store = yield* ShardStore.make({
        capacityBytes: 3 * sizeOf(1),
        nodeId: NODE_ID,
        ttlMs: 10 * DAY_MS,
        pruneEveryMs: DAY_MS
      })
      const sub = yield* store.changes
      yield* store.put(entry(near, "a", T0 - 10 * DAY_MS + 1000)) // the nearest author, but expires in 1 s
      yield* store.put(entry(far, "b", T0))
      yield* store.put(entry(far, "c", T0))
      yield* TestClock.adjust(2000)
      assert.isTrue(Option.isSome(yield* store.get(near, text("a"))), "expired but not yet pruned")
      assert.deepStrictEqual(yield* store.put(entry(far, "d", T0)), { _tag: "Inserted", evicted: 1 })
      const reasons = (yield* PubSub.takeUpTo(sub, 100)).flatMap((c) => (c._tag === "Dropped" ? [c.reason] : []))
      assert.deepStrictEqual(reasons, ["Expired"])
      assert.isTrue(Option.isNone(yield* store.get(near, text("a"))))
      // b, c, d expire after 10 days; the background prune (every day) removes them.
      yield* TestClock.adjust(11 * DAY_MS)
      assert.strictEqual((yield* store.stats).entries, 0)
      const pruned = (yield* PubSub.takeUpTo(sub, 100)).filter((c) => c._tag === "Dropped")
      assert.strictEqual(pruned.length, 3)
    })
  )

  it.effect(
    "the eviction order flips exactly at the computed crossing time",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.bigInt({ min: 1n, max: (1n << 64n) - 2n }),
            fc.bigInt({ min: 1n, max: (1n << 64n) - 2n }),
            fc.integer({ min: 1, max: 300 * DAY_MS }),
            fc.integer({ min: 1, max: 300 * DAY_MS }),
            (d1, d2, age1, age2) => {
              // a: farther (decays slower) and expiring later; b overtakes it at t* (ceil).
              const [da, db] = d1 > d2 ? [d1, d2] : [d2, d1]
              const [older, newer] = age1 > age2 ? [age1, age2] : [age2, age1]
              if (da === db || older === newer) return Promise.resolve(true)
              const ttl = BigInt(365 * DAY_MS)
              const ea = BigInt(T0 - newer) + ttl
              const eb = BigInt(T0 - older) + ttl
              const wa = (1n << 64n) - da
              const wb = (1n << 64n) - db
              const crossing = (wb * eb - wa * ea + (wb - wa) - 1n) / (wb - wa)
              if (crossing <= BigInt(T0) + 1n) return Promise.resolve(true)
              const program = (offset: bigint) =>
                Effect.gen(function* () {
                  yield* TestClock.setTime(T0)
                  const options = { capacityBytes: 2 * sizeOf(1), nodeId: NODE_ID, ttlMs: 365 * DAY_MS }
                  const store = yield* ShardStore.make({ ...options, pruneEveryMs: 0, changeBufferSize: 8 })
                  const model = new Model(options)
                  const sub = yield* store.changes
                  const a = entry(authorAt(da, 1), "a", T0 - newer)
                  const b = entry(authorAt(db, 2), "b", T0 - older)
                  for (const e of [a, b]) {
                    yield* store.put(e)
                    model.put(e, T0)
                  }
                  const at = Number(crossing + offset)
                  yield* TestClock.setTime(at)
                  const c = entry(near, "c", at)
                  yield* store.put(c)
                  const want = model.put(c, at)
                  const got = (yield* PubSub.takeUpTo(sub, 10)).flatMap((x) =>
                    x._tag === "Dropped" ? [new TextDecoder().decode(x.key)] : []
                  )
                  const expected = want.ok ? want.evicted.map((v) => (v.id.endsWith(hex(text("a"))) ? "a" : "b")) : []
                  assert.deepStrictEqual(got, expected, `offset ${offset}`)
                  assert.deepStrictEqual(got, [offset < 0n ? "a" : "b"])
                })
              return Effect.runPromise(
                Effect.all([program(-1n), program(0n)]).pipe(
                  Effect.scoped,
                  Effect.provide(TestClock.layer()),
                  Effect.as(true)
                )
              )
            }
          ),
          { numRuns: 300 }
        )
      ),
    30_000
  )
})

describe("ShardStore convergence", () => {
  it.effect(
    "1,000 random orders of conflicting writes give the same store",
    () =>
      Effect.gen(function* () {
        const authors = [near, mid, far]
        const writes: Array<Entry> = []
        for (const pub of authors) {
          for (const key of ["x", "y", "z"]) {
            for (const [dt, work, sig] of [
              [0, 1, 0],
              [0, 3, 0],
              [0, 3, 1],
              [5, 0, 0],
              [5, 2, 0],
              [-3, 9, 0],
              [5, 2, 0]
            ] as const) {
              writes.push(makeEntry(pub, text(key), BigInt(T0 + dt), work, sig, text(`${key}${dt}${work}${sig}`)))
            }
          }
        }
        // The expected winner of each slot: the greatest (time, work, dat bytes).
        const beats = (x: Entry, y: Entry) =>
          x.dat.time !== y.dat.time
            ? x.dat.time > y.dat.time
            : hex(x.dat.work) !== hex(y.dat.work)
              ? hex(x.dat.work) > hex(y.dat.work)
              : encoded(x).slice(84) > encoded(y).slice(84)
        const winners = new Map<string, Entry>()
        for (const w of writes) {
          const id = `${hex(w.dat.pubKey)}:${hex(w.dat.key)}`
          const best = winners.get(id)
          if (best === undefined || beats(w, best)) winners.set(id, w)
        }
        const expected = [...winners.values()].map(encoded).sort()
        const orders = fc.sample(fc.shuffledSubarray(writes, { minLength: writes.length }), { numRuns: 1000, seed: 7 })
        const slots = [...winners.values()].map((w) => [w.dat.pubKey, w.dat.key] as const)
        yield* TestClock.setTime(T0)
        for (const order of orders) {
          const final = yield* Effect.scoped(
            Effect.gen(function* () {
              const store = yield* ShardStore.make({ capacityBytes: 1 << 20, nodeId: NODE_ID, changeBufferSize: 8 })
              for (const w of order) yield* Effect.ignore(store.put(w))
              assert.strictEqual((yield* store.stats).entries, slots.length)
              const stored = yield* Effect.forEach(slots, ([pub, key]) => store.get(pub, key))
              return stored.map((e) => encoded(Option.getOrThrow(e))).sort()
            })
          )
          assert.deepStrictEqual(final, expected)
        }
      }),
    30_000
  )
})

describe("ShardStore metrics, events and layers", () => {
  it.effect("counts every outcome, reject reason and eviction; gauges follow the store", () =>
    withStore({ capacityBytes: 2 * sizeOf(1) }, (store) =>
      Effect.gen(function* () {
        const count = (m: Metric.Counter<number>) => Effect.map(Metric.value(m), (s) => s.count)
        yield* store.put(entry(mid, "a", T0 - DAY_MS))
        yield* store.put(entry(mid, "a", T0 - DAY_MS))
        yield* store.put(entry(mid, "a", T0))
        yield* store.put(entry(mid, "b", T0))
        yield* store.put(entry(near, "c", T0))
        yield* Effect.ignore(store.put(entry(mid, "c", T0 - 400 * DAY_MS)))
        yield* Effect.ignore(store.put(entry(far, "d", T0 - DAY_MS)))
        yield* store.remove(near, text("c"))
        assert.strictEqual(yield* count(StoreMetrics.inserts), 3)
        assert.strictEqual(yield* count(StoreMetrics.duplicates), 1)
        assert.strictEqual(yield* count(StoreMetrics.replacements), 1)
        assert.strictEqual(yield* count(StoreMetrics.rejects("Expired")), 1)
        assert.strictEqual(yield* count(StoreMetrics.rejects("RanksLowest")), 1)
        assert.strictEqual(yield* count(StoreMetrics.rejects("Stale")), 0)
        assert.strictEqual(yield* count(StoreMetrics.evictions("Capacity")), 1)
        assert.strictEqual(yield* count(StoreMetrics.evictions("Removed")), 1)
        assert.strictEqual((yield* Metric.value(StoreMetrics.entries)).value, 1)
        assert.strictEqual((yield* Metric.value(StoreMetrics.usedBytes)).value, sizeOf(1))
        assert.strictEqual((yield* Metric.value(StoreMetrics.capacityBytes)).value, 2 * sizeOf(1))
      })
    )
  )

  it.effect("subscribers get Stored events with the record and Dropped events with the reason", () =>
    withStore({ capacityBytes: sizeOf(1) }, (store) =>
      Effect.gen(function* () {
        const sub = yield* store.changes
        const a = entry(mid, "a", T0 - DAY_MS)
        yield* store.put(a)
        yield* store.put(entry(mid, "b", T0))
        yield* store.setReplicas(mid, text("b"), [5n, 4n, 3n, 2n, 1n])
        const events = yield* PubSub.takeUpTo(sub, 100)
        assert.deepStrictEqual(
          events.map((e) => (e._tag === "Stored" ? `Stored ${e.how}` : `Dropped ${e.reason}`)),
          ["Stored Inserted", "Dropped Capacity", "Stored Inserted", "Stored ReplicasSet"]
        )
        const first = events[0]!
        assert.isTrue(
          first._tag === "Stored" && hex(first.record) === encoded(a) && encoded(first.entry) === encoded(a)
        )
        const last = events[3]!
        assert.isTrue(last._tag === "Stored" && last.entry.replicas[0] === 5n)
      })
    )
  )

  it.effect("layerConfig reads DAVE_CAPACITY_BYTES and DAVE_TTL_MS; bad values fail with typed errors", () =>
    Effect.gen(function* () {
      const config = (env: Record<string, string>) =>
        ShardStore.layerConfig({ nodeId: NODE_ID, pruneEveryMs: 0 }).pipe(
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
        )
      const stats = Effect.gen(function* () {
        return yield* (yield* ShardStore.ShardStore).stats
      })
      const configured = yield* stats.pipe(Effect.provide(config({ DAVE_CAPACITY_BYTES: "5000" })))
      assert.strictEqual(configured.capacityBytes, 5000)
      const defaults = yield* stats.pipe(Effect.provide(config({})))
      assert.strictEqual(defaults.capacityBytes, 1024 * 1024 * 1024)
      yield* TestClock.setTime(T0)
      const expired = yield* Effect.gen(function* () {
        return yield* Effect.flip((yield* ShardStore.ShardStore).put(entry(near, "k", T0 - 60_000)))
      }).pipe(Effect.provide(config({ DAVE_CAPACITY_BYTES: "5000", DAVE_TTL_MS: "60000" })))
      assert.strictEqual(expired.reason, "Expired")
      const notANumber = yield* Effect.flip(stats.pipe(Effect.provide(config({ DAVE_CAPACITY_BYTES: "lots" }))))
      assert.strictEqual(notANumber._tag, "ConfigError")
      const zero = yield* Effect.flip(stats.pipe(Effect.provide(config({ DAVE_CAPACITY_BYTES: "0" }))))
      assert.isTrue(zero._tag === "StoreOptionsError" && zero.field === "capacityBytes")
      const badNode = yield* Effect.flip(Effect.scoped(ShardStore.make({ capacityBytes: 1, nodeId: -1n })))
      assert.strictEqual(badNode.field, "nodeId")
      assert.strictEqual(NodeId.isNodeId(NODE_ID), true)
    })
  )
})
