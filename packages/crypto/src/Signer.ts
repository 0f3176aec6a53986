import { NodeId } from "@dave/protocol"
import { Context, Effect, Layer } from "effect"
import type { Backend } from "./internal/ed25519.ts"
import * as Fake from "./internal/fake.ts"
import * as Native from "./internal/native.ts"
import * as Noble from "./internal/noble.ts"
import * as Sodium from "./internal/sodium.ts"
import { check, fromSeed, type InvalidKeyError, type KeyPair } from "./KeyFile.ts"

/** This node's Ed25519 identity: its public key, node ID, and signing. */
export class Signer extends Context.Service<
  Signer,
  {
    /** 32 bytes, raw. */
    readonly publicKey: Uint8Array
    /** `NodeId.fromPublicKey(publicKey)`. */
    readonly nodeId: bigint
    /** A 64-byte RFC 8032 signature of `message`; synchronous (pure CPU). */
    readonly sign: (message: Uint8Array) => Uint8Array
  }
>()("@dave/crypto/Signer") {}

/** A 32-byte seed, or a key pair (whose public key must be the one derived from its seed). */
export type Key = Uint8Array | KeyPair

const seedOf = (key: Key): Effect.Effect<Uint8Array, InvalidKeyError> =>
  key instanceof Uint8Array ? Effect.map(fromSeed(key), (pair) => pair.seed) : Effect.map(check(key), (p) => p.seed)

const makeWith = (backend: Backend, key: Key): Effect.Effect<Signer["Service"], InvalidKeyError> =>
  Effect.map(seedOf(key), (seed) => {
    const publicKey = backend.publicKeyFromSeed(seed)
    return Signer.of({ publicKey, nodeId: NodeId.fromPublicKey(publicKey), sign: backend.makeSign(seed) })
  })

/** node:crypto (OpenSSL). */
export const makeNative = (key: Key): Effect.Effect<Signer["Service"], InvalidKeyError> => makeWith(Native.backend, key)
/** @noble/curves: pure JavaScript, portable, slow. */
export const makeNoble = (key: Key): Effect.Effect<Signer["Service"], InvalidKeyError> => makeWith(Noble.backend, key)
/** sodium-native (libsodium); dies if its native binary cannot be loaded. */
export const makeSodium = (key: Key): Effect.Effect<Signer["Service"], InvalidKeyError> =>
  Effect.flatMap(Effect.promise(Sodium.load), (backend) => makeWith(backend, key))
/**
 * NOT SECURE: signatures are a fast non-cryptographic hash of public key and message, forgeable by
 * anyone. Only for very large simulations, together with `Verifier.layerFake`.
 */
export const makeFake = (key: Key): Effect.Effect<Signer["Service"], InvalidKeyError> => makeWith(Fake.backend, key)

export const layerNative = (key: Key): Layer.Layer<Signer, InvalidKeyError> => Layer.effect(Signer, makeNative(key))
export const layerNoble = (key: Key): Layer.Layer<Signer, InvalidKeyError> => Layer.effect(Signer, makeNoble(key))
export const layerSodium = (key: Key): Layer.Layer<Signer, InvalidKeyError> => Layer.effect(Signer, makeSodium(key))
/** NOT SECURE: see `makeFake`. */
export const layerFake = (key: Key): Layer.Layer<Signer, InvalidKeyError> => Layer.effect(Signer, makeFake(key))
/** The fastest available: sodium-native when its binary loads, else node:crypto. */
export const makeDefault = (key: Key): Effect.Effect<Signer["Service"], InvalidKeyError> =>
  Effect.tryPromise(Sodium.load).pipe(
    Effect.matchEffect({ onFailure: () => makeNative(key), onSuccess: (backend) => makeWith(backend, key) })
  )
/** The default: see `makeDefault`. */
export const layer = (key: Key): Layer.Layer<Signer, InvalidKeyError> => Layer.effect(Signer, makeDefault(key))
