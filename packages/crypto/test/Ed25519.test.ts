import { type KeyFile, Signer, Verifier } from "@dave/crypto"
import * as V from "@dave/protocol/vectors"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as fc from "fast-check"
import { vectors as rfc8032 } from "./fixtures/rfc8032.ts"

type Key = Signer.Key

interface Backend {
  readonly name: string
  readonly signer: (key: Key) => Layer.Layer<Signer.Signer, KeyFile.InvalidKeyError>
  readonly verifier: Layer.Layer<Verifier.Verifier>
}

const real: ReadonlyArray<Backend> = [
  { name: "native", signer: Signer.layerNative, verifier: Verifier.layerNative() },
  { name: "noble", signer: Signer.layerNoble, verifier: Verifier.layerNoble },
  { name: "sodium", signer: Signer.layerSodium, verifier: Verifier.layerSodium },
  // sodium-native when it loads (it does here), else node:crypto
  { name: "default", signer: Signer.layer, verifier: Verifier.layer }
]
const fake: Backend = { name: "fake", signer: Signer.layerFake, verifier: Verifier.layerFake }

const build = (backend: Backend, key: Key) =>
  Effect.gen(function* () {
    const signer = yield* Signer.Signer
    const verifier = yield* Verifier.Verifier
    return { signer, verifier }
  }).pipe(Effect.provide(Layer.merge(backend.signer(key), backend.verifier)))

const flip = (bytes: Uint8Array, index: number): Uint8Array => {
  const copy = bytes.slice()
  copy[index]! ^= 0x01
  return copy
}

describe.each(real)("Ed25519 $name", (backend) => {
  it.effect.each(rfc8032)("RFC 8032 $name", (vector) =>
    Effect.gen(function* () {
      const { signer, verifier } = yield* build(backend, vector.seed)
      expect(signer.publicKey).toEqual(vector.publicKey)
      expect(signer.sign(vector.message)).toEqual(vector.signature)
      assert.isTrue(verifier.verify(vector.publicKey, vector.message, vector.signature))
      assert.isFalse(
        verifier.verify(
          vector.publicKey,
          flip(vector.message, 0).subarray(0, vector.message.length),
          flip(vector.signature, 10)
        )
      )
    })
  )

  it.effect("PROTOCOL.md 2.7: public key, node ID, dat signature, PONG signature", () =>
    Effect.gen(function* () {
      const { signer, verifier } = yield* build(backend, V.seed)
      expect(signer.publicKey).toEqual(V.publicKey)
      expect(signer.nodeId).toBe(V.nodeId)
      expect(signer.sign(V.signedHash)).toEqual(V.datSig)
      assert.isTrue(verifier.verify(V.publicKey, V.signedHash, V.datSig))
      assert.isTrue(verifier.verify(V.publicKey, V.signedHash, V.datSig))
    })
  )

  it.effect("tampering fails: wrong key, flipped message/signature byte", () =>
    Effect.gen(function* () {
      const { signer, verifier } = yield* build(backend, V.seed)
      const other = yield* build(backend, rfc8032[0]!.seed)
      const message = V.signedHash
      const sig = signer.sign(message)
      assert.isTrue(verifier.verify(signer.publicKey, message, sig))
      assert.isFalse(verifier.verify(other.signer.publicKey, message, sig))
      for (const i of [0, 13, 31]) assert.isFalse(verifier.verify(signer.publicKey, flip(message, i), sig))
      for (const i of [0, 31, 32, 63]) assert.isFalse(verifier.verify(signer.publicKey, message, flip(sig, i)))
      for (const i of [0, 31]) assert.isFalse(verifier.verify(flip(signer.publicKey, i), message, sig))
    })
  )

  it.effect("malformed input gives false, never throws", () =>
    Effect.gen(function* () {
      const { signer, verifier } = yield* build(backend, V.seed)
      const sig = signer.sign(V.signedHash)
      assert.isFalse(verifier.verify(V.publicKey, V.signedHash, sig.subarray(0, 63)))
      assert.isFalse(verifier.verify(V.publicKey, V.signedHash, new Uint8Array(0)))
      assert.isFalse(verifier.verify(V.publicKey.subarray(0, 31), V.signedHash, sig))
      assert.isFalse(verifier.verify(new Uint8Array(33), V.signedHash, sig))
      // Not a point on the curve, and an all-0xff signature (s >= L).
      assert.isFalse(verifier.verify(new Uint8Array(32).fill(0xff), V.signedHash, sig))
      assert.isFalse(verifier.verify(V.publicKey, V.signedHash, new Uint8Array(64).fill(0xff)))
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 40 }),
          fc.uint8Array({ maxLength: 40 }),
          fc.uint8Array({ maxLength: 70 }),
          (pk, msg, s) => {
            expect(verifier.verify(pk, msg, s)).toBe(false)
          }
        ),
        { numRuns: backend.name === "noble" ? 100 : 300 }
      )
    })
  )

  it.effect("round trip over random messages and keys", () =>
    Effect.gen(function* () {
      const { verifier } = yield* build(backend, V.seed)
      const samples = fc.sample(
        fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 })),
        12
      )
      for (const [seed, message] of samples) {
        const { signer } = yield* build(backend, seed)
        const sig = signer.sign(message)
        expect(sig.length).toBe(64)
        assert.isTrue(verifier.verify(signer.publicKey, message, sig))
      }
    })
  )
})

describe("Ed25519 layers agree", () => {
  it.effect("every real backend verifies every other's signatures", () =>
    Effect.gen(function* () {
      const built = yield* Effect.forEach(real, (backend) => build(backend, V.seed))
      const message = new TextEncoder().encode("cross-check")
      for (const a of built)
        for (const b of built) assert.isTrue(b.verifier.verify(a.signer.publicKey, message, a.signer.sign(message)))
    })
  )

  it.effect("a bad key fails the Signer layer with a typed error", () =>
    Effect.gen(function* () {
      for (const backend of [...real, fake]) {
        const short = yield* Effect.exit(build(backend, new Uint8Array(31)))
        assert.isTrue(Exit.isFailure(short))
        const error = yield* Effect.flip(build(backend, new Uint8Array(31)))
        expect(error.reason).toBe("SeedSize")
        const mismatch = yield* Effect.flip(build(backend, { seed: V.seed, publicKey: rfc8032[0]!.publicKey }))
        expect(mismatch.reason).toBe("PublicKeyMismatch")
      }
      const fromPair = yield* build(real[0]!, { seed: V.seed, publicKey: V.publicKey })
      expect(fromPair.signer.publicKey).toEqual(V.publicKey)
    })
  )

  it.effect("the native key cache stays correct when it evicts", () =>
    Effect.gen(function* () {
      const verifier = Verifier.makeNative({ cacheSize: 2 })
      const signers = yield* Effect.forEach(rfc8032, (v) => Signer.makeNative(v.seed))
      const message = new TextEncoder().encode("eviction")
      for (let round = 0; round < 3; round++) {
        for (const [i, signer] of signers.entries()) {
          assert.isTrue(verifier.verify(signer.publicKey, message, signer.sign(message)))
          const next = signers[(i + 1) % signers.length]!
          assert.isFalse(verifier.verify(next.publicKey, message, signer.sign(message)))
        }
      }
    })
  )
})

describe("Ed25519 fake (NOT secure, simulations only)", () => {
  it.effect("round trip, deterministic, real public keys and node IDs", () =>
    Effect.gen(function* () {
      const { signer, verifier } = yield* build(fake, V.seed)
      expect(signer.publicKey).toEqual(V.publicKey)
      expect(signer.nodeId).toBe(V.nodeId)
      const sig = signer.sign(V.signedHash)
      expect(sig.length).toBe(64)
      expect(signer.sign(V.signedHash)).toEqual(sig)
      assert.isTrue(verifier.verify(V.publicKey, V.signedHash, sig))
      assert.isTrue(sig.some((b) => b !== 0))
    })
  )

  it.effect("tampering fails, malformed input is false, and it does not pass for real Ed25519", () =>
    Effect.gen(function* () {
      const { signer, verifier } = yield* build(fake, V.seed)
      const other = yield* build(fake, rfc8032[0]!.seed)
      const sig = signer.sign(V.signedHash)
      assert.isFalse(verifier.verify(other.signer.publicKey, V.signedHash, sig))
      assert.isFalse(verifier.verify(V.publicKey, flip(V.signedHash, 5), sig))
      assert.isFalse(verifier.verify(V.publicKey, V.signedHash, flip(sig, 40)))
      assert.isFalse(verifier.verify(V.publicKey, V.signedHash, sig.subarray(0, 32)))
      assert.isFalse(verifier.verify(V.publicKey, V.signedHash, V.datSig))
      assert.isFalse(Verifier.makeNative().verify(V.publicKey, V.signedHash, sig))
    })
  )
})
