import * as C from "./Constants.ts"
import type { Dat, Entry } from "./Message.ts"

/**
 * The bytes whose BLAKE3 hash an author signs: key ‖ value ‖ time (u64 LE ms). No separators and no
 * public key, exactly as the reference.
 */
export const signedBytes = (key: Uint8Array, value: Uint8Array, timeMs: bigint): Uint8Array => {
  const out = new Uint8Array(key.length + value.length + 8)
  out.set(key, 0)
  out.set(value, key.length)
  new DataView(out.buffer).setBigUint64(key.length + value.length, timeMs, true)
  return out
}

/** Accounted store size of an entry: key + value + 224. */
export const entrySize = (dat: Dat): number => dat.key.length + dat.value.length + C.ENTRY_SIZE_OVERHEAD

const isZero = (b: Uint8Array): boolean => {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false
  return true
}

/** Receivers recognise "not found" only by an all-zero signature. */
export const isNotFound = (dat: Dat): boolean => isZero(dat.sig)

const EMPTY_REPLICAS: ReadonlyArray<bigint> = [0n, 0n, 0n, 0n, 0n]

/** The "not found" GET_ACK entry for (pubKey, key), byte for byte as the reference sends it. */
export const notFound = (pubKey: Uint8Array, key: Uint8Array): Entry => ({
  replicas: EMPTY_REPLICAS,
  dat: {
    time: C.NOT_FOUND_TIME,
    salt: new Uint8Array(C.SALT_LEN),
    work: new Uint8Array(C.WORK_LEN),
    sig: new Uint8Array(C.SIG_LEN),
    pubKey,
    key,
    value: new Uint8Array(0)
  }
})

/** Byte-wise equality, for comparing fields of two dats. */
export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Lexicographic comparison of two byte strings: negative, zero or positive. */
export const compareBytes = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}
