import { DatSigning, Hasher, Signer, Verifier, VerifyPool, Work } from "@dave/crypto"
import { Constants } from "@dave/protocol"
import { Effect } from "effect"

/**
 * The crypto a simulated node runs with. "real": Ed25519 from node:crypto and BLAKE3 from
 * hash-wasm, for fidelity runs. "fake": signatures from `Signer.makeFake`/`Verifier.makeFake` and a
 * fake BLAKE3, for very large runs: both are fast non-cryptographic mixes anyone can forge, so a
 * fake run says nothing about security, only about the protocol's behaviour. Public keys and node
 * IDs are real in both modes. Proof of work runs in both at the node's difficulty; with the fake
 * hasher each attempt is cheap.
 */

export type Mode = "fake" | "real"

export interface SimCrypto {
  readonly mode: Mode
  readonly hasher: Hasher.Hasher["Service"]
  readonly verifier: Verifier.Verifier["Service"]
  readonly work: Work.Work["Service"]
  /** A node's or author's signer from its 32-byte seed. */
  readonly signer: (seed: Uint8Array) => Effect.Effect<Signer.Signer["Service"]>
}

/** Verifier key cache for real runs: every node of a large run is in some table. */
const REAL_VERIFIER_CACHE = 16_384

const FNV_PRIME = 0x01000193

const mix = (x: number): number => {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
  return (x ^ (x >>> 16)) >>> 0
}

/**
 * NOT BLAKE3: 32 bytes from two FNV-1a lanes over the input, spread by a finaliser. About 0.1 µs
 * for the 48-byte inputs of a challenge answer, against 2.7 µs for BLAKE3 through hash-wasm here.
 * Hand-written because the point is to cost almost nothing.
 */
export const fakeBlake3 = (data: Uint8Array): Uint8Array => {
  let a = 0x811c9dc5
  let b = 0x050c5d1f
  for (let i = 0; i < data.length; i++) {
    a = Math.imul(a ^ data[i]!, FNV_PRIME)
    b = Math.imul(b ^ data[i]!, 0x01000197)
  }
  a ^= data.length
  const out = new Uint8Array(32)
  // Little-endian words written byte by byte: a DataView per call cost more than the hashing.
  for (let word = 0; word < 8; word++) {
    const w = mix(a + Math.imul(word, 0x9e3779b9)) ^ mix(b ^ (word * 0x85ebca6b))
    const at = word * 4
    out[at] = w & 0xff
    out[at + 1] = (w >>> 8) & 0xff
    out[at + 2] = (w >>> 16) & 0xff
    out[at + 3] = w >>> 24
  }
  return out
}

export const fakeHasher: Hasher.Hasher["Service"] = Hasher.Hasher.of({ blake3: fakeBlake3 })

const orDie = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A> => Effect.orDie(effect)

export const fake: SimCrypto = {
  mode: "fake",
  hasher: fakeHasher,
  verifier: Verifier.makeFake(),
  work: Work.makeSingleThread(fakeHasher),
  signer: (seed) => orDie(Signer.makeFake(seed))
}

/** The real crypto. Loading BLAKE3's WASM is asynchronous: build it outside the simulation. */
export const makeReal: Effect.Effect<SimCrypto> = Effect.map(Hasher.makeWasm, (hasher) => ({
  mode: "real" as const,
  hasher,
  verifier: Verifier.makeNative({ cacheSize: REAL_VERIFIER_CACHE }),
  work: Work.makeSingleThread(hasher),
  signer: (seed: Uint8Array) => orDie(Signer.makeNative(seed))
}))

export const make = (mode: Mode): Effect.Effect<SimCrypto> => (mode === "fake" ? Effect.succeed(fake) : makeReal)

/**
 * Verification on the calling fiber, synchronously. `VerifyPool.make({ workers: 0 })` checks inline
 * too, but its finalizer waits on a real Promise, which would hold a crashing node's fiber until the
 * process next yields to the event loop: outside virtual time.
 */
export const inlineVerifyPool = (crypto: SimCrypto): VerifyPool.VerifyPool["Service"] =>
  VerifyPool.VerifyPool.of({
    workers: () => 0,
    checkHere: (dat, options) =>
      DatSigning.check(crypto, dat, { nowMs: options.nowMs, minWork: options.minWork ?? Constants.MIN_WORK }),
    check: (dats, options) =>
      Effect.sync(() =>
        dats.map((dat) =>
          DatSigning.check(crypto, dat, { nowMs: options.nowMs, minWork: options.minWork ?? Constants.MIN_WORK })
        )
      )
  })
