import { Effect } from "effect"
import xxhash from "xxhash-wasm"

/**
 * The store index of an entry: XXH64 (seed 0) of public key ‖ key, split into two u32 halves so
 * that the hot paths never touch a bigint. The shard is the top byte.
 *
 * Library: xxhash-wasm `h64Raw`. Measured on this machine for a 32-byte key plus a 21-byte key,
 * including the split into halves: xxhash-wasm h64Raw 2.25 M/s, @node-rs/xxhash (native N-API)
 * 1.73 M/s, hash-wasm 0.92 M/s, xxhash-wasm streaming (create64) 0.56 M/s. For inputs this small
 * the per-call cost dominates, and a WASM call is cheaper than an N-API call. It also needs no
 * native binary.
 */
export interface KeyHash {
  readonly hi: number
  readonly lo: number
}

/** Hashes public key ‖ key. */
export type KeyHasher = (pubKey: Uint8Array, key: Uint8Array) => KeyHash

export const SHARD_COUNT = 256

/** The shard of a hash: its top byte. */
export const shardOf = (hashHi: number): number => hashHi >>> 24

const U32 = 0xffffffffn

/** Splits a u64 into its halves. */
export const fromBigInt = (h: bigint): KeyHash => ({ hi: Number((h >> 32n) & U32), lo: Number(h & U32) })

/** Joins the halves into a u64. */
export const toBigInt = (hash: KeyHash): bigint => (BigInt(hash.hi) << 32n) | BigInt(hash.lo)

/** Largest key + public key the store hashes (longer keys are rejected before hashing). */
const MAX_INPUT = 32 + 255

/** Wraps a u64 hash function (tests use one to force collisions). */
export const fromFunction =
  (f: (pubKey: Uint8Array, key: Uint8Array) => bigint): KeyHasher =>
  (pubKey, key) =>
    fromBigInt(BigInt.asUintN(64, f(pubKey, key)))

type XXHashAPI = Awaited<ReturnType<typeof xxhash>>

const hasherOf = ({ h64Raw }: XXHashAPI): KeyHasher => {
  const input = new Uint8Array(MAX_INPUT)
  return (pubKey, key) => {
    input.set(pubKey, 0)
    input.set(key, pubKey.length)
    return fromBigInt(h64Raw(input.subarray(0, pubKey.length + key.length), 0n))
  }
}

let loaded: XXHashAPI | undefined

/**
 * The XXH64 hasher. Loading the WASM module is asynchronous, hence an Effect; it happens once per
 * process, and later stores get their hasher without waiting.
 */
export const make: Effect.Effect<KeyHasher> = Effect.suspend(() =>
  loaded !== undefined
    ? Effect.succeed(hasherOf(loaded))
    : Effect.map(
        Effect.promise(() => xxhash()),
        (api) => {
          loaded ??= api
          return hasherOf(loaded)
        }
      )
)
