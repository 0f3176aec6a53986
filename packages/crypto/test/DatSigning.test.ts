import { Challenge, DatSigning, Hasher, Signer, Verifier, Work } from "@dave/crypto"
import { Codec, type Message } from "@dave/protocol"
import * as V from "@dave/protocol/vectors"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"

const hasherLayer = Hasher.layerWasm
const signing = Layer.mergeAll(Signer.layerNative(V.seed), Verifier.layerNative(), Work.layerSingleThread).pipe(
  Layer.provideMerge(hasherLayer)
)

const vectorDat: Message.Dat = {
  time: V.datTimeMs,
  salt: V.datSalt,
  work: V.datWork,
  sig: V.datSig,
  pubKey: V.publicKey,
  key: V.datKey,
  value: V.datValue
}
const nowMs = Number(V.datTimeMs) + 100

describe("DatSigning", () => {
  it.effect("signDat reproduces the PROTOCOL.md 2.7 dat, and its PUT encodes byte for byte", () =>
    Effect.gen(function* () {
      const dat = yield* DatSigning.signDat({ key: V.datKey, value: V.datValue, timeMs: V.datTimeMs, difficulty: 8 })
      expect(dat).toEqual(vectorDat)
      const encoded = Codec.encode({ _tag: "Put", entry: { replicas: [1n, 2n, 3n, 4n, 5n], dat } })
      assert.isTrue(Result.isSuccess(encoded))
      if (Result.isSuccess(encoded))
        expect(Buffer.from(encoded.success).toString("hex")).toBe(Buffer.from(V.put).toString("hex"))
    }).pipe(Effect.provide(signing))
  )

  it.effect("a signed dat verifies, with a number time and more work", () =>
    Effect.gen(function* () {
      const progress: Array<number> = []
      const dat = yield* DatSigning.signDat({
        key: new TextEncoder().encode("k"),
        value: new Uint8Array(1000).fill(7),
        timeMs: 1_700_000_123_456,
        difficulty: 12,
        onProgress: (n) => progress.push(n)
      })
      expect(dat.time).toBe(1_700_000_123_456n)
      assert.isTrue(progress.length > 0)
      yield* DatSigning.verifyDat(dat, { nowMs: 1_700_000_123_456, minWork: 12 })
    }).pipe(Effect.provide(signing))
  )

  it.effect("check gives each reason, in the reference's order", () =>
    Effect.gen(function* () {
      const crypto = { hasher: yield* Hasher.Hasher, verifier: yield* Verifier.Verifier }
      const check = (dat: Message.Dat, minWork = 8, now = nowMs) =>
        DatSigning.check(crypto, dat, { nowMs: now, minWork })
      const flipped = (bytes: Uint8Array, i: number) => {
        const copy = bytes.slice()
        copy[i]! ^= 1
        return copy
      }
      expect(check(vectorDat)).toBe("Valid")
      expect(check(vectorDat, 8, Number(V.datTimeMs))).toBe("Valid")
      expect(check(vectorDat, 8, Number(V.datTimeMs) - 1)).toBe("FutureTime")
      expect(check({ ...vectorDat, pubKey: V.publicKey.subarray(1) })).toBe("BadPublicKey")
      expect(check(vectorDat, 9)).toBe("LowWork")
      expect(check({ ...vectorDat, salt: flipped(V.datSalt, 8) })).toBe("WorkMismatch")
      expect(check({ ...vectorDat, work: flipped(V.datWork, 31) })).toBe("WorkMismatch")
      // Work covers the signature only: a changed value keeps valid work but breaks the signature.
      expect(check({ ...vectorDat, value: new TextEncoder().encode("World") })).toBe("BadSignature")
      expect(check({ ...vectorDat, time: V.datTimeMs - 1n })).toBe("BadSignature")
      expect(check({ ...vectorDat, pubKey: flipped(V.publicKey, 0) })).toBe("BadSignature")
      // Several faults: the first in the reference's order is reported.
      const broken = { ...vectorDat, value: new Uint8Array(3), salt: flipped(V.datSalt, 0) }
      expect(check(broken, 8, 0)).toBe("FutureTime")
      expect(check(broken)).toBe("WorkMismatch")
      expect(check({ ...broken, work: new Uint8Array(32).fill(0xff) })).toBe("LowWork")
      // A "not found" dat (all-zero salt/work/sig) is no valid dat.
      const notFound = { ...vectorDat, salt: new Uint8Array(16), work: new Uint8Array(32), sig: new Uint8Array(64) }
      expect(check(notFound)).toBe("WorkMismatch")
    }).pipe(Effect.provide(signing))
  )

  it.effect("a dat signed in this process skips the Ed25519 verify until a byte of it changes", () =>
    Effect.gen(function* () {
      const real = yield* Verifier.Verifier
      let verifies = 0
      const counting = Verifier.Verifier.of({
        ...real,
        verify: (pubKey, message, sig) => {
          verifies++
          return real.verify(pubKey, message, sig)
        }
      })
      const crypto = { hasher: yield* Hasher.Hasher, verifier: counting }
      const check = (dat: Message.Dat) => DatSigning.check(crypto, dat, { nowMs, minWork: 8 })
      const dat = yield* DatSigning.signDat({ key: V.datKey, value: V.datValue, timeMs: V.datTimeMs, difficulty: 8 })
      expect(check(dat)).toBe("Valid")
      expect(verifies).toBe(0)
      // The same bytes in another object (as received from the network) are verified.
      expect(check({ ...dat })).toBe("Valid")
      expect(verifies).toBe(1)
      // Changed in place after signing: verified, and refused.
      dat.value[0]! ^= 1
      expect(check(dat)).toBe("BadSignature")
      expect(verifies).toBe(2)
      dat.value[0]! ^= 1
      dat.pubKey[0]! ^= 1
      expect(check(dat)).toBe("BadSignature")
      expect(verifies).toBe(3)
      dat.pubKey[0]! ^= 1
    }).pipe(Effect.provide(signing))
  )

  it.effect("verifyDat fails with the typed reason; nowMs defaults to the Clock", () =>
    Effect.gen(function* () {
      yield* DatSigning.verifyDat(vectorDat, { nowMs })
      const low = yield* Effect.flip(DatSigning.verifyDat(vectorDat, { nowMs, minWork: 9 }))
      expect(low.reason).toBe("LowWork")
      // The TestClock starts at 0, so the vector's time is in the future.
      const future = yield* Effect.flip(DatSigning.verifyDat(vectorDat))
      expect(future).toBeInstanceOf(DatSigning.DatRejectedError)
      expect(future.reason).toBe("FutureTime")
    }).pipe(Effect.provide(signing))
  )

  it.effect("every verifier layer accepts the vector dat", () =>
    Effect.gen(function* () {
      const hasher = yield* Hasher.Hasher
      for (const layer of [Verifier.layerNative(), Verifier.layerNoble, Verifier.layerSodium]) {
        const verifier = yield* Effect.provide(
          Effect.gen(function* () {
            return yield* Verifier.Verifier
          }),
          layer
        )
        expect(DatSigning.check({ hasher, verifier }, vectorDat, { nowMs })).toBe("Valid")
      }
    }).pipe(Effect.provide(hasherLayer))
  )
})

describe("Challenge", () => {
  it.effect("signs the PROTOCOL.md 2.7 PONG answer byte for byte, and verifies it", () =>
    Effect.gen(function* () {
      const answer = yield* Challenge.signChallenge(V.pongChallenge, V.pongSalt)
      expect(answer.salt).toEqual(V.pongSalt)
      expect(answer.pubKey).toEqual(V.publicKey)
      expect(answer.sig).toEqual(V.pongSig)
      assert.isTrue(yield* Challenge.verifyChallengeAnswer(V.pongChallenge, V.pongSalt, V.publicKey, V.pongSig))
    }).pipe(Effect.provide(signing))
  )

  it.effect("a random salt is used when none is given", () =>
    Effect.gen(function* () {
      const a = yield* Challenge.signChallenge(V.pongChallenge)
      const b = yield* Challenge.signChallenge(V.pongChallenge)
      expect(a.salt.length).toBe(16)
      expect(a.salt).not.toEqual(b.salt)
      assert.isTrue(yield* Challenge.verifyChallengeAnswer(V.pongChallenge, a.salt, a.pubKey, a.sig))
    }).pipe(Effect.provide(signing))
  )

  it.effect("wrong challenge, salt, key or signature, or a malformed field, is false", () =>
    Effect.gen(function* () {
      const verify = Challenge.verifyChallengeAnswer
      const otherChallenge = V.pongChallenge.slice()
      otherChallenge[0] = 0
      const otherSalt = V.pongSalt.slice()
      otherSalt[15] = 0
      assert.isFalse(yield* verify(otherChallenge, V.pongSalt, V.publicKey, V.pongSig))
      assert.isFalse(yield* verify(V.pongChallenge, otherSalt, V.publicKey, V.pongSig))
      assert.isFalse(yield* verify(V.pongChallenge, V.pongSalt, V.publicKey, V.datSig))
      assert.isFalse(yield* verify(V.pongChallenge.subarray(1), V.pongSalt, V.publicKey, V.pongSig))
      assert.isFalse(yield* verify(V.pongChallenge, V.pongSalt.subarray(1), V.publicKey, V.pongSig))
      assert.isFalse(yield* verify(V.pongChallenge, V.pongSalt, V.publicKey.subarray(1), V.pongSig))
      assert.isFalse(yield* verify(V.pongChallenge, V.pongSalt, V.publicKey, V.pongSig.subarray(1)))
    }).pipe(Effect.provide(signing))
  )
})
