import { ed25519 } from "@noble/curves/ed25519.js"
import { type Backend, SEED_LEN, wellFormed } from "./ed25519.ts"

/** Ed25519 on @noble/curves: pure JavaScript, portable, ~20–40× slower than native. */

const checkSeed = (seed: Uint8Array): Uint8Array => {
  if (seed.length !== SEED_LEN) throw new RangeError(`Ed25519 seed must be ${SEED_LEN} bytes`)
  return seed.slice()
}

export const backend: Backend = {
  publicKeyFromSeed: (seed) => ed25519.getPublicKey(checkSeed(seed)),
  makeSign: (seed) => {
    const secretKey = checkSeed(seed)
    return (message) => ed25519.sign(message, secretKey)
  },
  verify: (publicKey, message, signature) => {
    if (!wellFormed(publicKey, message, signature)) return false
    try {
      return ed25519.verify(signature, message, publicKey)
    } catch {
      return false
    }
  }
}
