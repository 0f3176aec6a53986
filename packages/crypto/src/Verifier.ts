import { Context, Effect, Layer } from "effect"
import * as Fake from "./internal/fake.ts"
import * as Native from "./internal/native.ts"
import * as Noble from "./internal/noble.ts"
import * as Sodium from "./internal/sodium.ts"

/** Ed25519 signature verification. */
export class Verifier extends Context.Service<
  Verifier,
  {
    /** RFC 8032 verification; never throws, false on any malformed input (sizes, points, encodings). */
    readonly verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean
  }
>()("@dave/crypto/Verifier") {}

export interface NativeOptions {
  /** Public KeyObjects kept, least recently used evicted first. Default 4096. */
  readonly cacheSize?: number
}

/** node:crypto (OpenSSL) with a bounded cache of imported public keys. */
export const makeNative = (options?: NativeOptions): Verifier["Service"] =>
  Verifier.of({ verify: Native.makeVerify(options?.cacheSize ?? Native.DEFAULT_CACHE_SIZE) })
/** @noble/curves: pure JavaScript, portable, slow. */
export const makeNoble = (): Verifier["Service"] => Verifier.of({ verify: Noble.backend.verify })
/** sodium-native (libsodium); dies if its native binary cannot be loaded. */
export const makeSodium: Effect.Effect<Verifier["Service"]> = Effect.map(Effect.promise(Sodium.load), (backend) =>
  Verifier.of({ verify: backend.verify })
)
/** NOT SECURE: accepts exactly what `Signer.makeFake` produces, which anyone can forge. Simulations only. */
export const makeFake = (): Verifier["Service"] => Verifier.of({ verify: Fake.backend.verify })

/** node:crypto, with a key cache of `cacheSize` (default 4096) entries. */
export const layerNative = (options?: NativeOptions): Layer.Layer<Verifier> =>
  Layer.sync(Verifier, () => makeNative(options))
export const layerNoble: Layer.Layer<Verifier> = Layer.sync(Verifier, makeNoble)
export const layerSodium: Layer.Layer<Verifier> = Layer.effect(Verifier, makeSodium)
/** NOT SECURE: see `makeFake`. */
export const layerFake: Layer.Layer<Verifier> = Layer.sync(Verifier, makeFake)
/**
 * The fastest available: sodium-native when its binary loads (about twice node:crypto's verify
 * rate, bench/ measures both), else node:crypto.
 */
export const makeDefault: Effect.Effect<Verifier["Service"]> = Effect.tryPromise(Sodium.load).pipe(
  Effect.map((backend) => Verifier.of({ verify: backend.verify })),
  Effect.orElseSucceed(() => makeNative())
)
/** The default: see `makeDefault`. */
export const layer: Layer.Layer<Verifier> = Layer.effect(Verifier, makeDefault)
