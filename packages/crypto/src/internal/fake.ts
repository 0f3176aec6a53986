import { type Backend, SIGNATURE_LEN, wellFormed } from "./ed25519.ts"
import { backend as native } from "./native.ts"

/**
 * NOT SECURE. A stand-in for Ed25519 in very large simulations: the "signature" is 64 bytes derived
 * from the public key and the message by a fast non-cryptographic mix, so anyone can forge one.
 * Public keys are real Ed25519 keys (derived natively) so node IDs match the real layers.
 * Hand-written because the point is to cost well under a microsecond, which no hash library does
 * from JavaScript for inputs this small.
 */

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193
/** Four independent FNV-1a lanes (different offsets) seed the expansion to 64 bytes. */
const LANES = 4

const fnv1a = (offset: number, a: Uint8Array, b: Uint8Array): number => {
  let h = offset
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i]!, FNV_PRIME)
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, FNV_PRIME)
  return h >>> 0
}

/** splitmix32-style finaliser: spreads every input bit over the output word. */
const mix = (x: number): number => {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad)
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97)
  return (x ^ (x >>> 15)) >>> 0
}

export const fakeSignature = (publicKey: Uint8Array, message: Uint8Array): Uint8Array => {
  const out = new Uint8Array(SIGNATURE_LEN)
  for (let lane = 0; lane < LANES; lane++) {
    let h = fnv1a(FNV_OFFSET + lane * 0x9e3779b9, publicKey, message)
    for (let word = lane; word < SIGNATURE_LEN / 4; word += LANES) {
      h = mix(h + 0x9e3779b9 + word)
      const at = word * 4 // little-endian u32, written byte by byte: a DataView per signature cost more
      out[at] = h & 0xff
      out[at + 1] = (h >>> 8) & 0xff
      out[at + 2] = (h >>> 16) & 0xff
      out[at + 3] = h >>> 24
    }
  }
  // An all-zero signature means "not found" on the wire; never produce one.
  out[SIGNATURE_LEN - 1] = out[SIGNATURE_LEN - 1]! | 1
  return out
}

const equal = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

export const backend: Backend = {
  publicKeyFromSeed: native.publicKeyFromSeed,
  makeSign: (seed) => {
    const publicKey = native.publicKeyFromSeed(seed)
    return (message) => fakeSignature(publicKey, message)
  },
  verify: (publicKey, message, signature) =>
    wellFormed(publicKey, message, signature) && equal(fakeSignature(publicKey, message), signature)
}
