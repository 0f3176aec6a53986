import { Codec, Constants, Dat, type Entry } from "@dave/protocol"
import { Result } from "effect"
import { type KeyHasher, SHARD_COUNT, shardOf } from "./KeyHash.ts"
import { less } from "./Priority.ts"
import * as PutOutcome from "./PutOutcome.ts"
import { PagePool, RecordArena } from "./RecordArena.ts"
import { ShardIndex } from "./ShardIndex.ts"
import { Slots } from "./Slots.ts"
import type { DropReason, StoreChange } from "./StoreChange.ts"
import { makeCounts, type StoreCounts } from "./StoreMetrics.ts"
import { Tournament } from "./Tournament.ts"

/**
 * The store's state and rules, synchronous. ShardStore wraps it in Effects; every method runs to
 * completion without yielding, so each is atomic with respect to every other fiber.
 *
 * Invariants after every method:
 * - usedBytes = Σ accounted sizes of live entries <= capacityBytes.
 * - Each live entry has one slot, present in its shard's index (by hash), its shard's arena
 *   (by recordOffset) and the tournament; hashes are unique among live slots.
 * - The store clock (the latest time seen) never goes back, and the tournament is advanced to it.
 */

/** Offsets inside an entry record (Codec.encodeEntry format). */
const DAT_AT = 42
const TIME_AT = DAT_AT
const WORK_AT = DAT_AT + 24
const PUBKEY_AT = DAT_AT + 120
const KEYLEN_AT = DAT_AT + 152
const KEY_AT = DAT_AT + 153

const INITIAL_SLOTS = 64
/** Free arena pages kept for reuse (1 MiB). */
const PAGE_POOL = 32

export interface StoreCoreOptions {
  readonly capacityBytes: number
  readonly ttlMs: number
  readonly nodeId: bigint
  readonly hasher: KeyHasher
}

interface Victim {
  readonly slot: number
  readonly reason: DropReason
}

export type PutResult = Result.Result<PutOutcome.PutAccepted, PutOutcome.EntryRejected>

const reject = (reason: PutOutcome.RejectReason, detail: string): PutResult =>
  Result.fail(PutOutcome.rejection(reason, detail))

const readU32 = (b: Uint8Array, o: number): number =>
  (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0

const timeOf = (record: Uint8Array): number => readU32(record, TIME_AT) + readU32(record, TIME_AT + 4) * 4294967296

const keyOf = (record: Uint8Array): Uint8Array => record.subarray(KEY_AT, KEY_AT + record[KEYLEN_AT]!)

/** Order of two versions of a slot: time, then work, then the whole dat, bytewise. */
const compareVersions = (stored: Uint8Array, incoming: Uint8Array): number => {
  const byTime = timeOf(stored) - timeOf(incoming)
  if (byTime !== 0) return byTime
  const byWork = Dat.compareBytes(stored.subarray(WORK_AT, WORK_AT + 32), incoming.subarray(WORK_AT, WORK_AT + 32))
  if (byWork !== 0) return byWork
  return Dat.compareBytes(stored.subarray(DAT_AT), incoming.subarray(DAT_AT))
}

const decodeRecord = (record: Uint8Array): Entry => {
  const decoded = Codec.decodeEntry(record)
  if (Result.isFailure(decoded)) throw new Error(`StoreCore: stored record does not decode: ${decoded.failure.message}`)
  return decoded.success
}

/** Why a replica list cannot be stored, or undefined. */
export const replicasError = (replicas: ReadonlyArray<bigint>): string | undefined => {
  if (replicas.length !== Constants.FANOUT) return `${replicas.length} replicas, expected ${Constants.FANOUT}`
  return replicas.every((id) => id >= 0n && id < 1n << 64n) ? undefined : "a replica ID is not a u64"
}

export class StoreCore {
  readonly capacityBytes: number
  readonly ttlMs: number
  usedBytes = 0
  entryCount = 0
  /** Whether mutations build change events (someone subscribed). */
  collectChanges = false
  readonly counts: StoreCounts = makeCounts()
  private readonly victims: Array<Victim> = []
  private clockMs = Number.NEGATIVE_INFINITY
  private readonly maxTimeMs: bigint
  private readonly nodeHi: number
  private readonly nodeLo: number
  private readonly hasher: KeyHasher
  private readonly slots = new Slots(INITIAL_SLOTS)
  private readonly tree = new Tournament(this.slots)
  private readonly indexes: Array<ShardIndex> = []
  private readonly arenas: Array<RecordArena> = []
  private readonly scratch = new Uint8Array(Constants.MAX_MSG_LEN)

  constructor(options: StoreCoreOptions) {
    this.capacityBytes = options.capacityBytes
    this.ttlMs = options.ttlMs
    this.maxTimeMs = BigInt(Number.MAX_SAFE_INTEGER - options.ttlMs)
    this.nodeHi = Number((options.nodeId >> 32n) & 0xffffffffn)
    this.nodeLo = Number(options.nodeId & 0xffffffffn)
    this.hasher = options.hasher
    const slots = this.slots
    const onMove = (slot: number, offset: number) => {
      slots.recordOffset[slot] = offset
    }
    const pool = new PagePool(PAGE_POOL)
    for (let i = 0; i < SHARD_COUNT; i++) {
      this.indexes.push(new ShardIndex(slots))
      this.arenas.push(new RecordArena(pool, onMove))
    }
  }

  /** Bytes held by the arenas (allocated), for the benchmark. */
  get arenaBytes(): number {
    return this.arenas.reduce((n, a) => n + a.sizeBytes, 0)
  }

  /** Moves the store clock to `nowMs` (never back) and the tournament with it. */
  private tick(nowMs: number): number {
    if (nowMs > this.clockMs) this.clockMs = nowMs
    this.tree.advance(this.clockMs)
    return this.clockMs
  }

  // ------------------------------------------------------------------------------------------
  // Reads

  get(pubKey: Uint8Array, key: Uint8Array): Entry | undefined {
    const slot = this.lookup(pubKey, key)
    return slot < 0 ? undefined : decodeRecord(this.record(slot).slice())
  }

  /**
   * A copy of the stored record (Codec.encodeEntry format) after `headroomBytes` free bytes, so a
   * caller can prepend a message header and send it without decoding and re-encoding the entry.
   */
  getRecord(pubKey: Uint8Array, key: Uint8Array, headroomBytes: number): Uint8Array | undefined {
    const slot = this.lookup(pubKey, key)
    if (slot < 0) return undefined
    const record = this.record(slot)
    const out = new Uint8Array(headroomBytes + record.length)
    out.set(record, headroomBytes)
    return out
  }

  /** Decoded copies of every entry of one shard. */
  shardEntries(shard: number): Array<Entry> {
    return this.indexes[shard]!.slotsInShard().map((slot) => decodeRecord(this.record(slot).slice()))
  }

  // ------------------------------------------------------------------------------------------
  // Writes

  /** Stores an entry at `nowMs`, appending the changes to `out` when collecting them. */
  put(entry: Entry, nowMs: number, out: Array<StoreChange>): PutResult {
    const result = this.tryPut(entry, nowMs, out)
    if (Result.isFailure(result)) this.counts.rejects[result.failure.reason]++
    else if (result.success._tag === "Inserted") this.counts.inserts++
    else if (result.success._tag === "Replaced") this.counts.replacements++
    else this.counts.duplicates++
    return result
  }

  private tryPut(entry: Entry, nowMs: number, out: Array<StoreChange>): PutResult {
    const t = this.tick(nowMs)
    const encoded = Codec.encodeInto({ _tag: "Put", entry }, this.scratch)
    if (Result.isFailure(encoded)) return reject("Malformed", encoded.failure.message)
    const record = this.scratch.subarray(3, encoded.success)
    const dat = entry.dat
    if (dat.time > this.maxTimeMs) return reject("TimeOutOfRange", `time ${dat.time} + TTL is beyond 2^53 ms`)
    const expiryMs = Number(dat.time) + this.ttlMs
    if (expiryMs <= t) return reject("Expired", `expired at ${expiryMs}, now ${t}`)
    const sizeBytes = Dat.entrySize(dat)
    if (sizeBytes > this.capacityBytes) return reject("TooLarge", `${sizeBytes} bytes, capacity ${this.capacityBytes}`)
    const hash = this.hasher(dat.pubKey, dat.key)
    const existing = this.indexes[shardOf(hash.hi)]!.find(hash.hi, hash.lo)
    if (existing >= 0) {
      const stored = this.record(existing)
      if (!Dat.bytesEqual(stored.subarray(PUBKEY_AT, PUBKEY_AT + 32), dat.pubKey)) {
        return reject("OtherAuthor", "the slot holds another author's entry")
      }
      if (!Dat.bytesEqual(keyOf(stored), dat.key)) return reject("KeyCollision", "the slot holds another key")
      const order = compareVersions(stored, record)
      if (order > 0) return reject("Stale", "the stored version is newer")
      if (order === 0) return Result.succeed(PutOutcome.duplicate)
    }
    const slot = this.allocate(t)
    const s = this.slots
    s.hashHi[slot] = hash.hi
    s.hashLo[slot] = hash.lo
    s.distLo[slot] = (readU32(dat.pubKey, 0) ^ this.nodeLo) >>> 0
    s.distHi[slot] = (readU32(dat.pubKey, 4) ^ this.nodeHi) >>> 0
    s.expiryMs[slot] = expiryMs
    const victims = this.victims
    victims.length = 0
    const evicted = this.makeRoom(slot, existing, sizeBytes, t, victims)
    if (evicted < 0) {
      s.release(slot)
      return reject("RanksLowest", "the store is full of entries that rank higher")
    }
    this.commit(slot, existing, record, sizeBytes, victims, out)
    return Result.succeed(existing >= 0 ? PutOutcome.replaced(evicted) : PutOutcome.inserted(evicted))
  }

  /** Removes one entry; whether it was there. */
  remove(pubKey: Uint8Array, key: Uint8Array, nowMs: number, out: Array<StoreChange>): boolean {
    const t = this.tick(nowMs)
    const slot = this.lookup(pubKey, key)
    if (slot < 0) return false
    this.tree.set(slot, false, t)
    this.drop(slot, "Removed", out)
    return true
  }

  /** Removes up to `limit` expired entries (oldest expiry first); returns how many. */
  pruneExpired(nowMs: number, limit: number, out: Array<StoreChange>): number {
    const t = this.tick(nowMs)
    let pruned = 0
    // Expired entries rank lowest (priority 0), earliest expiry first.
    for (; pruned < limit; pruned++) {
      const slot = this.tree.lowest
      if (slot < 0 || this.slots.expiryMs[slot]! > t) break
      this.tree.set(slot, false, t)
      this.drop(slot, "Expired", out)
    }
    return pruned
  }

  /** Rewrites the replica list of a stored entry in place; whether it was there. */
  setReplicas(pubKey: Uint8Array, key: Uint8Array, replicas: ReadonlyArray<bigint>, out: Array<StoreChange>): boolean {
    if (replicasError(replicas) !== undefined) throw new Error("StoreCore.setReplicas: check replicasError first")
    const slot = this.lookup(pubKey, key)
    if (slot < 0) return false
    const record = this.record(slot)
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength)
    for (let i = 0; i < Constants.FANOUT; i++) view.setBigUint64(i * 8, replicas[i]!, true)
    if (this.collectChanges) out.push(this.storedChange("ReplicasSet", record))
    this.counts.replicaUpdates++
    return true
  }

  // ------------------------------------------------------------------------------------------
  // Internals

  /** The live slot of (pubKey, key), or -1. Malformed arguments find nothing. */
  private lookup(pubKey: Uint8Array, key: Uint8Array): number {
    if (pubKey.length !== Constants.PUBKEY_LEN || key.length > Constants.MAX_KEY_LEN) return -1
    const hash = this.hasher(pubKey, key)
    const slot = this.indexes[shardOf(hash.hi)]!.find(hash.hi, hash.lo)
    if (slot < 0) return -1
    const stored = this.record(slot)
    const same =
      Dat.bytesEqual(stored.subarray(PUBKEY_AT, PUBKEY_AT + 32), pubKey) && Dat.bytesEqual(keyOf(stored), key)
    return same ? slot : -1
  }

  /** The record of a live slot (a view, valid until the next write). */
  private record(slot: number): Uint8Array {
    return this.arenas[shardOf(this.slots.hashHi[slot]!)]!.view(this.slots.recordOffset[slot]!)
  }

  private sizeOf(slot: number): number {
    const record = this.record(slot)
    return record.length - DAT_AT - Constants.DAT_HEADER_LEN + Constants.ENTRY_SIZE_OVERHEAD
  }

  private allocate(t: number): number {
    if (this.slots.isFull) {
      this.slots.grow()
      this.tree.resize(t)
    }
    return this.slots.allocate()
  }

  /**
   * Takes the lowest-ranked entries out of the tournament until the newcomer (slot `fresh`,
   * replacing `existing` if >= 0) fits, pushing them to `victims`. Each must rank below the
   * newcomer; if one does not, everything is put back and the result is -1. Else the count.
   */
  private makeRoom(fresh: number, existing: number, sizeBytes: number, t: number, victims: Array<Victim>): number {
    const start = victims.length
    let over = this.usedBytes + sizeBytes - this.capacityBytes
    if (existing >= 0) {
      over -= this.sizeOf(existing)
      if (over > 0) this.tree.set(existing, false, t)
    }
    // Bounded: each step removes one live entry from the tournament, and removing all of them
    // would free usedBytes >= over (sizeBytes <= capacityBytes).
    while (over > 0) {
      const lowest = this.tree.lowest
      if (lowest < 0) throw new Error("StoreCore.makeRoom: over budget with nothing left to evict")
      if (!less(this.slots, lowest, fresh, t)) {
        for (let i = start; i < victims.length; i++) this.tree.set(victims[i]!.slot, true, t)
        victims.length = start
        if (existing >= 0) this.tree.set(existing, true, t)
        return -1
      }
      this.tree.set(lowest, false, t)
      victims.push({ slot: lowest, reason: this.slots.expiryMs[lowest]! <= t ? "Expired" : "Capacity" })
      over -= this.sizeOf(lowest)
    }
    return victims.length - start
  }

  /** Evicts the victims, replaces or inserts the newcomer, and records the changes. */
  private commit(
    fresh: number,
    existing: number,
    record: Uint8Array,
    sizeBytes: number,
    victims: ReadonlyArray<Victim>,
    out: Array<StoreChange>
  ): void {
    for (const victim of victims) this.drop(victim.slot, victim.reason, out)
    const shard = shardOf(this.slots.hashHi[fresh]!)
    if (existing >= 0) {
      this.tree.set(existing, false, this.clockMs)
      this.usedBytes -= this.sizeOf(existing)
      this.arenas[shard]!.free(this.slots.recordOffset[existing]!)
      this.indexes[shard]!.replace(existing, fresh)
      this.slots.release(existing)
    } else {
      this.indexes[shard]!.insert(fresh)
      this.entryCount++
    }
    this.slots.recordOffset[fresh] = this.arenas[shard]!.append(record, fresh)
    this.usedBytes += sizeBytes
    this.tree.set(fresh, true, this.clockMs)
    if (this.collectChanges) out.push(this.storedChange(existing >= 0 ? "Replaced" : "Inserted", record))
  }

  /** Takes a slot (already out of the tournament) out of the store. */
  private drop(slot: number, reason: DropReason, out: Array<StoreChange>): void {
    const record = this.record(slot)
    if (this.collectChanges) {
      out.push({ _tag: "Dropped", reason, pubKey: record.slice(PUBKEY_AT, PUBKEY_AT + 32), key: keyOf(record).slice() })
    }
    const shard = shardOf(this.slots.hashHi[slot]!)
    this.usedBytes -= this.sizeOf(slot)
    this.entryCount--
    this.counts.drops[reason]++
    this.indexes[shard]!.remove(slot)
    this.arenas[shard]!.free(this.slots.recordOffset[slot]!)
    this.slots.release(slot)
  }

  private storedChange(how: "Inserted" | "Replaced" | "ReplicasSet", record: Uint8Array): StoreChange {
    const copy = record.slice()
    return { _tag: "Stored", how, entry: decodeRecord(copy), record: copy }
  }
}
