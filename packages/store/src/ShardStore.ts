import { Constants, type Entry, NodeId } from "@dave/protocol"
import {
  Clock,
  Config,
  Context,
  Data,
  Effect,
  Layer,
  Option,
  PubSub,
  Result,
  Schedule,
  type Scope,
  Stream
} from "effect"
import * as KeyHash from "./KeyHash.ts"
import { type EntryRejected, type PutAccepted, rejection } from "./PutOutcome.ts"
import type { StoreChange } from "./StoreChange.ts"
import { type PutResult, replicasError, StoreCore } from "./StoreCore.ts"
import * as StoreMetrics from "./StoreMetrics.ts"

/**
 * The ShardStore service: the node's entries in 256 shards (by the top byte of XXH64(public key ‖
 * key)), under one byte budget, with convergent updates and priority eviction (PROTOCOL.md §4,
 * §13.2–13.4, §13.13).
 *
 * Priority = (1 − distance(author, us) / 2^64) × time to expiry; when an insert does not fit, the
 * lowest-priority entries of the whole store are evicted, as many as needed, but only if every one
 * ranks below the newcomer; otherwise the newcomer is rejected (RanksLowest) and nothing is evicted.
 * The order is exact at every moment (Priority.ts, Tournament.ts).
 *
 * Update rules for one (public key, key): greater (time, work, dat bytes) wins, so every replica
 * converges whatever the arrival order; an identical dat is a Duplicate (a no-op); a smaller one is
 * Stale. Replica lists are not part of the order: `setReplicas` rewrites them explicitly.
 *
 * Concurrency: every state change is one synchronous step (StoreCore) that no other fiber can
 * interleave with, which gives the store-wide budget and eviction a consistent view without a
 * lock: invariants hold between any two steps, whatever the fibers. A step never waits; the only
 * wait is publishing its change events to a subscriber whose buffer is full (backpressure, after
 * the step). `putAll` runs each shard's entries on a fiber of its own, in order within the shard,
 * so a large batch interleaves with other work and its shards proceed side by side.
 * Expired entries rank lowest and stay readable until evicted or pruned (every `pruneEveryMs`).
 */

export interface StoreStats {
  readonly entries: number
  readonly usedBytes: number
  readonly capacityBytes: number
}

export interface ShardStoreOptions {
  /** The byte budget: Σ (key + value + 224) over entries never exceeds it. */
  readonly capacityBytes: number
  /** Our node ID, for the distance in the priority. */
  readonly nodeId: bigint
  /** Lifetime of an entry after its time (default 365 days). */
  readonly ttlMs?: number
  /** Period of the background prune of expired entries; 0 turns it off (default 60 s). */
  readonly pruneEveryMs?: number
  /** Change events buffered per subscriber before writers wait for it (default 4096). */
  readonly changeBufferSize?: number
  /** Replaces XXH64 (public key ‖ key); tests use it to force 64-bit collisions. */
  readonly keyHash?: (pubKey: Uint8Array, key: Uint8Array) => bigint
}

export class StoreOptionsError extends Data.TaggedError("StoreOptionsError")<{
  readonly field: string
  readonly detail: string
}> {
  override get message(): string {
    return `invalid store option ${this.field}: ${this.detail}`
  }
}

export interface ShardStoreShape {
  /**
   * Stores an entry, or says why not. Signature and work are the caller's to verify. The entry is
   * copied in, so its buffers may be reused as soon as the effect completes.
   */
  readonly put: (entry: Entry) => Effect.Effect<PutAccepted, EntryRejected>
  /** `put` for many entries, one fiber per shard; results in input order. */
  readonly putAll: (
    entries: ReadonlyArray<Entry>
  ) => Effect.Effect<ReadonlyArray<Result.Result<PutAccepted, EntryRejected>>>
  /** A copy of the stored entry, if any. */
  readonly get: (pubKey: Uint8Array, key: Uint8Array) => Effect.Effect<Option.Option<Entry>>
  /**
   * For a hot path (serving GETs): a copy of the stored record, Codec.encodeEntry format, placed
   * after `headroomBytes` free bytes; undefined when absent. Synchronous, hence Unsafe.
   */
  readonly getRecordUnsafe: (pubKey: Uint8Array, key: Uint8Array, headroomBytes: number) => Uint8Array | undefined
  /** Removes an entry; whether it was there. */
  readonly remove: (pubKey: Uint8Array, key: Uint8Array) => Effect.Effect<boolean>
  /** Rewrites the replica list of a stored entry; whether it was there. */
  readonly setReplicas: (
    pubKey: Uint8Array,
    key: Uint8Array,
    replicas: ReadonlyArray<bigint>
  ) => Effect.Effect<boolean, EntryRejected>
  /** Removes every expired entry; how many. */
  readonly pruneExpired: Effect.Effect<number>
  readonly stats: Effect.Effect<StoreStats>
  /** Every entry, shard by shard (each shard's chunk is a consistent snapshot). */
  readonly entries: Stream.Stream<Entry>
  /**
   * Subscribes to accepted changes for the scope's lifetime. Take from it on a fiber of its own:
   * writers wait while its buffer (changeBufferSize) is full. To mirror the store (backup
   * compaction), subscribe first, then read `entries`.
   */
  readonly changes: Effect.Effect<PubSub.Subscription<StoreChange>, never, Scope.Scope>
}

export class ShardStore extends Context.Service<ShardStore, ShardStoreShape>()("@dave/store/ShardStore") {}

const U64_MAX = (1n << 64n) - 1n
const PRUNE_BATCH = 1024

const checkOptions = (options: ShardStoreOptions): StoreOptionsError | undefined => {
  const positive = (field: string, x: number) =>
    Number.isSafeInteger(x) && x > 0
      ? undefined
      : new StoreOptionsError({ field, detail: `${x} is not a positive integer` })
  return (
    positive("capacityBytes", options.capacityBytes) ??
    positive("ttlMs", options.ttlMs ?? Constants.TTL_MS) ??
    positive("changeBufferSize", options.changeBufferSize ?? 1) ??
    (Number.isSafeInteger(options.pruneEveryMs ?? 0) && (options.pruneEveryMs ?? 0) >= 0
      ? undefined
      : new StoreOptionsError({ field: "pruneEveryMs", detail: `${options.pruneEveryMs} is not an integer >= 0` })) ??
    (NodeId.isNodeId(options.nodeId) && options.nodeId <= U64_MAX
      ? undefined
      : new StoreOptionsError({ field: "nodeId", detail: `${options.nodeId} is not a u64` }))
  )
}

/** Builds the store; the scope owns the background prune fiber and the change PubSub. */
export const make = (options: ShardStoreOptions): Effect.Effect<ShardStoreShape, StoreOptionsError, Scope.Scope> =>
  Effect.gen(function* () {
    const bad = checkOptions(options)
    if (bad !== undefined) return yield* bad
    const hasher = options.keyHash === undefined ? yield* KeyHash.make : KeyHash.fromFunction(options.keyHash)
    const core = new StoreCore({
      capacityBytes: options.capacityBytes,
      ttlMs: options.ttlMs ?? Constants.TTL_MS,
      nodeId: options.nodeId,
      hasher
    })
    const pubsub = yield* PubSub.bounded<StoreChange>(options.changeBufferSize ?? 4096)
    yield* Effect.addFinalizer(() => PubSub.shutdown(pubsub))
    let subscribers = 0
    // The clock the store was built with (TestClock in tests), read synchronously per operation.
    const clock = yield* Clock.Clock

    const registrations = StoreMetrics.register(yield* Effect.context<never>(), core.counts, {
      entries: () => core.entryCount,
      usedBytes: () => core.usedBytes,
      capacityBytes: core.capacityBytes
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const registration of registrations) registration.remove()
      })
    )

    /** Publishes a mutation's changes, waiting while a subscriber's buffer is full. */
    const publish = <A, E>(changes: ReadonlyArray<StoreChange>, then: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      changes.length === 0 ? then : Effect.andThen(PubSub.publishAll(pubsub, changes), then)

    const putResult = (entry: Entry): Effect.Effect<PutResult> =>
      Effect.suspend(() => {
        const changes: Array<StoreChange> = []
        const result = core.put(entry, clock.currentTimeMillisUnsafe(), changes)
        return publish(changes, Effect.succeed(result))
      })

    const put = (entry: Entry): Effect.Effect<PutAccepted, EntryRejected> =>
      Effect.suspend(() => {
        const changes: Array<StoreChange> = []
        const result = core.put(entry, clock.currentTimeMillisUnsafe(), changes)
        return publish(changes, Result.isSuccess(result) ? Effect.succeed(result.success) : Effect.fail(result.failure))
      })

    const putAll = (entries: ReadonlyArray<Entry>) =>
      Effect.suspend(() => {
        const results = new Array<PutResult>(entries.length)
        const groups = new Map<number, Array<number>>()
        entries.forEach((entry, i) => {
          const { pubKey, key } = entry.dat
          const wellFormed = pubKey.length === Constants.PUBKEY_LEN && key.length <= Constants.MAX_KEY_LEN
          const shard = wellFormed ? KeyHash.shardOf(hasher(pubKey, key).hi) : 0
          const group = groups.get(shard)
          if (group === undefined) groups.set(shard, [i])
          else group.push(i)
        })
        const runGroup = (group: ReadonlyArray<number>) =>
          Effect.forEach(
            group,
            (i) =>
              Effect.map(putResult(entries[i]!), (r) => {
                results[i] = r
              }),
            { discard: true }
          )
        return Effect.as(
          Effect.forEach(groups.values(), runGroup, { concurrency: "unbounded", discard: true }),
          results as ReadonlyArray<PutResult>
        )
      })

    const get = (pubKey: Uint8Array, key: Uint8Array) =>
      Effect.sync(() => Option.fromUndefinedOr(core.get(pubKey, key)))

    const remove = (pubKey: Uint8Array, key: Uint8Array) =>
      Effect.suspend(() => {
        const changes: Array<StoreChange> = []
        return publish(changes, Effect.succeed(core.remove(pubKey, key, clock.currentTimeMillisUnsafe(), changes)))
      })

    const setReplicas = (pubKey: Uint8Array, key: Uint8Array, replicas: ReadonlyArray<bigint>) =>
      Effect.suspend(() => {
        const bad = replicasError(replicas)
        if (bad !== undefined) return Effect.fail(rejection("Malformed", bad))
        const changes: Array<StoreChange> = []
        return publish(changes, Effect.succeed(core.setReplicas(pubKey, key, replicas, changes)))
      })

    /** One batch of up to PRUNE_BATCH, so a large prune yields to other fibers between batches. */
    const pruneBatch = Effect.suspend(() => {
      const changes: Array<StoreChange> = []
      return publish(changes, Effect.succeed(core.pruneExpired(clock.currentTimeMillisUnsafe(), PRUNE_BATCH, changes)))
    })

    const pruneExpired = Effect.gen(function* () {
      let total = 0
      // Bounded: every full batch removes PRUNE_BATCH entries from a finite store.
      for (;;) {
        const pruned = yield* pruneBatch
        total += pruned
        if (pruned < PRUNE_BATCH) return total
        yield* Effect.yieldNow
      }
    })

    const stats = Effect.sync(
      (): StoreStats => ({ entries: core.entryCount, usedBytes: core.usedBytes, capacityBytes: core.capacityBytes })
    )

    const entries: Stream.Stream<Entry> = Stream.paginate(0, (shard: number) =>
      Effect.sync(
        () =>
          [core.shardEntries(shard), shard + 1 < KeyHash.SHARD_COUNT ? Option.some(shard + 1) : Option.none()] as const
      )
    )

    const changes = Effect.andThen(
      Effect.acquireRelease(
        Effect.sync(() => {
          subscribers++
          core.collectChanges = true
        }),
        () =>
          Effect.sync(() => {
            subscribers--
            core.collectChanges = subscribers > 0
          })
      ),
      PubSub.subscribe(pubsub)
    )

    const pruneEveryMs = options.pruneEveryMs ?? 60_000
    if (pruneEveryMs > 0) {
      yield* pruneExpired.pipe(
        Effect.repeat(Schedule.spaced(pruneEveryMs)),
        Effect.delay(pruneEveryMs),
        Effect.forkScoped
      )
    }

    const getRecordUnsafe = (pubKey: Uint8Array, key: Uint8Array, headroomBytes: number) =>
      core.getRecord(pubKey, key, headroomBytes)
    return ShardStore.of({
      put,
      putAll,
      get,
      getRecordUnsafe,
      remove,
      setReplicas,
      pruneExpired,
      stats,
      entries,
      changes
    })
  })

/** The store with the given options. */
export const layer = (options: ShardStoreOptions): Layer.Layer<ShardStore, StoreOptionsError> =>
  Layer.effect(ShardStore, make(options))

/** Capacity and TTL from DAVE_CAPACITY_BYTES (default 1 GiB) and DAVE_TTL_MS (default 365 days). */
export const StoreConfig: Config.Config<{ readonly capacityBytes: number; readonly ttlMs: number }> = Config.all({
  capacityBytes: Config.Int("DAVE_CAPACITY_BYTES").pipe(Config.withDefault(1024 * 1024 * 1024)),
  ttlMs: Config.Int("DAVE_TTL_MS").pipe(Config.withDefault(Constants.TTL_MS))
})

/** The store configured from the environment (StoreConfig), with the other options given. */
export const layerConfig = (
  options: Omit<ShardStoreOptions, "capacityBytes" | "ttlMs">
): Layer.Layer<ShardStore, StoreOptionsError | Config.ConfigError> =>
  Layer.effect(
    ShardStore,
    Effect.flatMap(StoreConfig, (config) => make({ ...options, ...config }))
  )
