/**
 * The data every system writes: operation (set, index) has the same key name, the same ~110-byte
 * value and the same author seed everywhere, so the systems run the same workload.
 */

export const keyOf = (set: number, index: number): string => `bench-${set}-${index}`

/** `bytes` bytes: a fill pattern with the set and index in the first 8 bytes, so every value differs. */
export const valueOf = (set: number, index: number, bytes: number): Uint8Array => {
  const value = new Uint8Array(bytes)
  for (let i = 8; i < bytes; i++) value[i] = (i * 31 + index * 7 + set) & 0xff
  const view = new DataView(value.buffer)
  view.setUint32(0, set, true)
  view.setUint32(4, index, true)
  return value
}

/** A 32-byte Ed25519 seed per author: one author per operation, as hyperdht needs (a key pair holds one value). */
export const seedOf = (set: number, index: number): Uint8Array => {
  const seed = new Uint8Array(32)
  let x = (set * 1_000_003 + index * 7_919 + 12_345) >>> 0
  for (let i = 0; i < 32; i++) {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0
    seed[i] = x >>> 24
  }
  return seed
}

export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
