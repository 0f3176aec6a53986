/** Sizes of RFC 8032 Ed25519 keys and signatures, shared by every backend. */
export const SEED_LEN = 32
export const PUBLIC_KEY_LEN = 32
export const SIGNATURE_LEN = 64

/** What every Ed25519 backend provides: signing from a seed, and verification. */
export interface Backend {
  readonly publicKeyFromSeed: (seed: Uint8Array) => Uint8Array
  readonly makeSign: (seed: Uint8Array) => (message: Uint8Array) => Uint8Array
  readonly verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean
}

/** Whether the inputs of a verification have the sizes Ed25519 needs; anything else is just false. */
export const wellFormed = (publicKey: unknown, message: unknown, signature: unknown): boolean =>
  publicKey instanceof Uint8Array &&
  publicKey.length === PUBLIC_KEY_LEN &&
  message instanceof Uint8Array &&
  signature instanceof Uint8Array &&
  signature.length === SIGNATURE_LEN
