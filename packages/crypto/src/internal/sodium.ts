import { type Backend, PUBLIC_KEY_LEN, SEED_LEN, SIGNATURE_LEN, wellFormed } from "./ed25519.ts"

/**
 * Ed25519 on sodium-native (libsodium). Loaded lazily so that a platform without its prebuilt binary
 * can still use the rest of the package. libsodium's verify is stricter than OpenSSL's on crafted
 * inputs (it rejects small-order public keys and R values), which only ever turns away forgeries.
 */

type Sodium = typeof import("sodium-native")

const keyPair = (sodium: Sodium, seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } => {
  if (seed.length !== SEED_LEN) throw new RangeError(`Ed25519 seed must be ${SEED_LEN} bytes`)
  const publicKey = new Uint8Array(PUBLIC_KEY_LEN)
  const secretKey = new Uint8Array(sodium.crypto_sign_SECRETKEYBYTES)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
  return { publicKey, secretKey }
}

const makeBackend = (sodium: Sodium): Backend => ({
  publicKeyFromSeed: (seed) => keyPair(sodium, seed).publicKey,
  makeSign: (seed) => {
    const { secretKey } = keyPair(sodium, seed)
    return (message) => {
      const signature = new Uint8Array(SIGNATURE_LEN)
      sodium.crypto_sign_detached(signature, message, secretKey)
      return signature
    }
  },
  verify: (publicKey, message, signature) => {
    if (!wellFormed(publicKey, message, signature)) return false
    try {
      return sodium.crypto_sign_verify_detached(signature, message, publicKey)
    } catch {
      return false
    }
  }
})

let loaded: Promise<Backend> | undefined

/** Loads sodium-native once; rejects when its native binary cannot be loaded. */
export const load = (): Promise<Backend> => {
  loaded ??= import("sodium-native").then((module) => makeBackend((module as { default?: Sodium }).default ?? module))
  return loaded
}
