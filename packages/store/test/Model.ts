import { Codec, Constants, Dat, type Entry, NodeId } from "@dave/protocol"
import type { DropReason, PutAccepted, RejectReason } from "@dave/store"
import { xxh64 } from "@node-rs/xxhash"
import { Result } from "effect"

/**
 * A brute-force model of the store, written from the rules rather than from the implementation:
 * a map by hash, priorities computed exactly with bigints over every entry at every eviction, and
 * an independent XXH64 (the native @node-rs/xxhash, where the store uses xxhash-wasm).
 *
 * Rules: priority = (2^64 − distance) × max(0, expiry − now), lowest first, ties to the earlier
 * expiry, then the smaller weight (2^64 − distance), then the smaller hash. A put that does not fit evicts the lowest entries until it fits,
 * provided each ranks below the newcomer; else it is rejected and nothing changes.
 */

export interface ModelOptions {
  readonly capacityBytes: number
  readonly ttlMs: number
  readonly nodeId: bigint
  readonly keyHash?: (pubKey: Uint8Array, key: Uint8Array) => bigint
}

export interface Victim {
  readonly id: string
  readonly reason: DropReason
}

export type ModelPut =
  | { readonly ok: true; readonly tag: PutAccepted["_tag"]; readonly evicted: ReadonlyArray<Victim> }
  | { readonly ok: false; readonly reason: RejectReason }

interface Item {
  readonly entry: Entry
  readonly record: Uint8Array
  readonly hash: bigint
  readonly distance: bigint
  readonly expiry: bigint
  readonly size: number
}

const TWO_64 = 1n << 64n

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex")
export const idOf = (pubKey: Uint8Array, key: Uint8Array): string => `${hex(pubKey)}:${hex(key)}`

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

const copyEntry = ({ replicas, dat }: Entry): Entry => ({
  replicas: [...replicas],
  dat: {
    time: dat.time,
    salt: dat.salt.slice(),
    work: dat.work.slice(),
    sig: dat.sig.slice(),
    pubKey: dat.pubKey.slice(),
    key: dat.key.slice(),
    value: dat.value.slice()
  }
})

const compareBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0)

export class Model {
  readonly items = new Map<bigint, Item>()
  used = 0
  clock = 0n
  private readonly options: ModelOptions

  constructor(options: ModelOptions) {
    this.options = options
  }

  hash(pubKey: Uint8Array, key: Uint8Array): bigint {
    const h = this.options.keyHash ? this.options.keyHash(pubKey, key) : xxh64(concat(pubKey, key), 0n)
    return BigInt.asUintN(64, h)
  }

  tick(nowMs: number): void {
    if (BigInt(nowMs) > this.clock) this.clock = BigInt(nowMs)
  }

  priority(item: Item): bigint {
    const left = item.expiry > this.clock ? item.expiry - this.clock : 0n
    return (TWO_64 - item.distance) * left
  }

  /** Negative when a ranks below b (is evicted first). */
  rank(a: Item, b: Item): number {
    return (
      compareBig(this.priority(a), this.priority(b)) ||
      compareBig(a.expiry, b.expiry) ||
      compareBig(TWO_64 - a.distance, TWO_64 - b.distance) ||
      compareBig(a.hash, b.hash)
    )
  }

  put(entry: Entry, nowMs: number): ModelPut {
    this.tick(nowMs)
    const encoded = Codec.encodeEntry(entry)
    if (Result.isFailure(encoded)) return { ok: false, reason: "Malformed" }
    const { dat } = entry
    if (dat.time + BigInt(this.options.ttlMs) > BigInt(Number.MAX_SAFE_INTEGER)) {
      return { ok: false, reason: "TimeOutOfRange" }
    }
    const expiry = dat.time + BigInt(this.options.ttlMs)
    if (expiry <= this.clock) return { ok: false, reason: "Expired" }
    const size = dat.key.length + dat.value.length + Constants.ENTRY_SIZE_OVERHEAD
    if (size > this.options.capacityBytes) return { ok: false, reason: "TooLarge" }
    const hash = this.hash(dat.pubKey, dat.key)
    const existing = this.items.get(hash)
    if (existing !== undefined) {
      if (!Dat.bytesEqual(existing.entry.dat.pubKey, dat.pubKey)) return { ok: false, reason: "OtherAuthor" }
      if (!Dat.bytesEqual(existing.entry.dat.key, dat.key)) return { ok: false, reason: "KeyCollision" }
      const order =
        compareBig(existing.entry.dat.time, dat.time) ||
        Dat.compareBytes(existing.entry.dat.work, dat.work) ||
        Dat.compareBytes(existing.record.subarray(42), encoded.success.subarray(42))
      if (order > 0) return { ok: false, reason: "Stale" }
      if (order === 0) return { ok: true, tag: "Duplicate", evicted: [] }
    }
    const distance = NodeId.distance(NodeId.fromPublicKey(dat.pubKey), this.options.nodeId)
    const item: Item = { entry: copyEntry(entry), record: encoded.success, hash, distance, expiry, size }
    let over = this.used - (existing?.size ?? 0) + size - this.options.capacityBytes
    const victims: Array<Item> = []
    if (over > 0) {
      const candidates = [...this.items.values()].filter((x) => x !== existing).sort((a, b) => this.rank(a, b))
      for (const candidate of candidates) {
        if (over <= 0) break
        if (this.rank(candidate, item) >= 0) return { ok: false, reason: "RanksLowest" }
        victims.push(candidate)
        over -= candidate.size
      }
    }
    const evicted = victims.map((v) => this.drop(v, v.expiry <= this.clock ? "Expired" : "Capacity"))
    if (existing !== undefined) this.used -= existing.size
    this.items.set(hash, item)
    this.used += size
    return { ok: true, tag: existing === undefined ? "Inserted" : "Replaced", evicted }
  }

  remove(pubKey: Uint8Array, key: Uint8Array, nowMs: number): ReadonlyArray<Victim> {
    this.tick(nowMs)
    const item = this.find(pubKey, key)
    return item === undefined ? [] : [this.drop(item, "Removed")]
  }

  prune(nowMs: number): ReadonlyArray<Victim> {
    this.tick(nowMs)
    return [...this.items.values()]
      .filter((x) => x.expiry <= this.clock)
      .sort((a, b) => this.rank(a, b))
      .map((x) => this.drop(x, "Expired"))
  }

  setReplicas(pubKey: Uint8Array, key: Uint8Array, replicas: ReadonlyArray<bigint>): boolean {
    const item = this.find(pubKey, key)
    if (item === undefined) return false
    const entry: Entry = { ...item.entry, replicas: [...replicas] }
    const record = Codec.encodeEntry(entry)
    if (Result.isFailure(record)) throw new Error("model: bad replicas")
    this.items.set(item.hash, { ...item, entry, record: record.success })
    return true
  }

  find(pubKey: Uint8Array, key: Uint8Array): Item | undefined {
    const item = this.items.get(this.hash(pubKey, key))
    return item && Dat.bytesEqual(item.entry.dat.pubKey, pubKey) && Dat.bytesEqual(item.entry.dat.key, key)
      ? item
      : undefined
  }

  private drop(item: Item, reason: DropReason): Victim {
    this.items.delete(item.hash)
    this.used -= item.size
    return { id: idOf(item.entry.dat.pubKey, item.entry.dat.key), reason }
  }
}
