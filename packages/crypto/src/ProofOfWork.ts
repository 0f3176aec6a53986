import type { Hasher } from "./Hasher.ts"

/**
 * Proof of work of PROTOCOL.md 3.2: `work = BLAKE3(salt16 ‖ BLAKE3(sig))`; its difficulty is the
 * number of leading zero bits of `work`, most significant bit of byte 0 first.
 *
 * Pure helpers, and the salt search shared by the in-process solver and the worker threads. This
 * module has no runtime imports, so a worker thread can load it cheaply.
 */

export const SALT_LEN = 16
export const WORK_LEN = 32
const SIG_HASH_LEN = 32
const INPUT_LEN = SALT_LEN + SIG_HASH_LEN
/** Difficulty is a count of bits of a 32-byte hash. */
export const MAX_DIFFICULTY = WORK_LEN * 8

type HashFn = Hasher["Service"]["blake3"]

/** Leading zero bits of `work`, counted from byte 0, most significant bit first. */
export const leadingZeroBits = (work: Uint8Array): number => {
  for (let i = 0; i < work.length; i++) {
    const byte = work[i]!
    if (byte !== 0) return i * 8 + Math.clz32(byte) - 24
  }
  return work.length * 8
}

/** Whether `work` has at least `difficulty` leading zero bits (faster than counting them). */
export const meetsDifficulty = (work: Uint8Array, difficulty: number): boolean => {
  const zeroBytes = difficulty >>> 3
  if (zeroBytes > work.length) return false
  for (let i = 0; i < zeroBytes; i++) if (work[i] !== 0) return false
  const bits = difficulty & 7
  return bits === 0 || (zeroBytes < work.length && work[zeroBytes]! >>> (8 - bits) === 0)
}

const inputOf = (salt: Uint8Array, sigHash: Uint8Array): Uint8Array => {
  const input = new Uint8Array(SALT_LEN + sigHash.length)
  input.set(salt, 0)
  input.set(sigHash, SALT_LEN)
  return input
}

/** `BLAKE3(salt ‖ BLAKE3(sig))`. */
export const computeWork = (hasher: Hasher["Service"], salt: Uint8Array, sig: Uint8Array): Uint8Array =>
  hasher.blake3(inputOf(salt, hasher.blake3(sig)))

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Whether `work` is the work of (salt, sig) and has at least `difficulty` leading zero bits. */
export const verifyWork = (
  hasher: Hasher["Service"],
  proof: { readonly salt: Uint8Array; readonly sig: Uint8Array; readonly work: Uint8Array },
  difficulty: number
): boolean =>
  proof.salt.length === SALT_LEN &&
  proof.work.length === WORK_LEN &&
  meetsDifficulty(proof.work, difficulty) &&
  bytesEqual(computeWork(hasher, proof.salt, proof.sig), proof.work)

export interface Solution {
  readonly salt: Uint8Array
  readonly work: Uint8Array
}

/**
 * The state of one salt search. Salt order as the reference: bytes 8..15 hold a u64 LE counter that
 * starts at `start` and steps by `stride` (one stride per thread), bytes 0..7 an outer u64 LE counter
 * bumped when the inner one runs out (here at 2^53, far beyond any feasible search).
 */
export interface Search {
  /** salt ‖ sighash, the 48 bytes hashed per candidate; the salt part is rewritten per candidate. */
  readonly input: Uint8Array
  readonly view: DataView
  readonly start: number
  readonly stride: number
  outer: number
  counter: number
  /** Candidates hashed so far. */
  hashes: number
}

const TWO_POW_32 = 2 ** 32

export const startSearch = (sigHash: Uint8Array, start: number, stride: number): Search => {
  if (sigHash.length !== SIG_HASH_LEN) throw new RangeError(`sighash must be ${SIG_HASH_LEN} bytes`)
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError("start must be a non-negative integer")
  if (!Number.isSafeInteger(stride) || stride < 1) throw new RangeError("stride must be a positive integer")
  const input = new Uint8Array(INPUT_LEN)
  input.set(sigHash, SALT_LEN)
  return { input, view: new DataView(input.buffer), start, stride, outer: 0, counter: start, hashes: 0 }
}

/**
 * Hashes at most `maxHashes` candidates of `search`; returns the first meeting `difficulty` (and moves
 * past it), or undefined when the budget ran out.
 */
export const searchStep = (
  blake3: HashFn,
  search: Search,
  difficulty: number,
  maxHashes: number
): Solution | undefined => {
  const { input, view, stride } = search
  const lastCounter = Number.MAX_SAFE_INTEGER - stride
  let counter = search.counter
  for (let i = 0; i < maxHashes; i++) {
    view.setUint32(8, counter >>> 0, true)
    view.setUint32(12, Math.floor(counter / TWO_POW_32), true)
    const work = blake3(input)
    const found = meetsDifficulty(work, difficulty)
    const salt = found ? input.slice(0, SALT_LEN) : undefined
    if (counter > lastCounter) {
      search.outer++
      view.setUint32(0, search.outer >>> 0, true)
      view.setUint32(4, Math.floor(search.outer / TWO_POW_32), true)
      counter = search.start
    } else {
      counter += stride
    }
    if (salt !== undefined) {
      search.counter = counter
      search.hashes += i + 1
      return { salt, work }
    }
  }
  search.counter = counter
  search.hashes += maxHashes
  return undefined
}
