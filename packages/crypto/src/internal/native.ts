import * as NodeCrypto from "node:crypto"
import { type Backend, PUBLIC_KEY_LEN, SEED_LEN, wellFormed } from "./ed25519.ts"

/**
 * Ed25519 on node:crypto (OpenSSL). Public keys arrive as 32 raw bytes; node:crypto wants a KeyObject.
 * Importing one as JWK costs ~8 µs against ~100 µs as DER (more than the verification itself), and a
 * bounded cache of KeyObjects per author key removes even that for repeat authors.
 */

/** PKCS#8 DER prefix of an Ed25519 private key (RFC 8410); the 32-byte seed follows it. */
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20
])

const privateKeyFromSeed = (seed: Uint8Array): NodeCrypto.KeyObject => {
  if (seed.length !== SEED_LEN) throw new RangeError(`Ed25519 seed must be ${SEED_LEN} bytes`)
  const der = new Uint8Array(PKCS8_PREFIX.length + SEED_LEN)
  der.set(PKCS8_PREFIX, 0)
  der.set(seed, PKCS8_PREFIX.length)
  return NodeCrypto.createPrivateKey({ key: Buffer.from(der.buffer), format: "der", type: "pkcs8" })
}

const publicKeyFromSeed = (seed: Uint8Array): Uint8Array => {
  const jwk = NodeCrypto.createPublicKey(privateKeyFromSeed(seed)).export({ format: "jwk" })
  const raw = Buffer.from(jwk.x ?? "", "base64url")
  if (raw.length !== PUBLIC_KEY_LEN) throw new Error("node:crypto returned a malformed Ed25519 public key")
  return new Uint8Array(raw)
}

const makeSign = (seed: Uint8Array): ((message: Uint8Array) => Uint8Array) => {
  const privateKey = privateKeyFromSeed(seed)
  return (message) => new Uint8Array(NodeCrypto.sign(null, message, privateKey))
}

const base64url = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64url")

/**
 * A verify function with its own cache of at most `cacheSize` public KeyObjects, least recently used
 * evicted first (a Map keeps insertion order; a hit is re-inserted to make it the newest).
 */
export const makeVerify = (cacheSize: number): Backend["verify"] => {
  if (!Number.isInteger(cacheSize) || cacheSize < 1) throw new RangeError("cacheSize must be a positive integer")
  const cache = new Map<string, NodeCrypto.KeyObject>()
  const keyObject = (publicKey: Uint8Array): NodeCrypto.KeyObject => {
    const x = base64url(publicKey)
    const cached = cache.get(x)
    if (cached !== undefined) {
      cache.delete(x)
      cache.set(x, cached)
      return cached
    }
    const created = NodeCrypto.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" })
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!)
    cache.set(x, created)
    return created
  }
  return (publicKey, message, signature) => {
    if (!wellFormed(publicKey, message, signature)) return false
    try {
      return NodeCrypto.verify(null, message, keyObject(publicKey), signature)
    } catch {
      return false
    }
  }
}

export const DEFAULT_CACHE_SIZE = 4096

export const backend: Backend = { publicKeyFromSeed, makeSign, verify: makeVerify(DEFAULT_CACHE_SIZE) }
