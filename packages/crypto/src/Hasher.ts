import { blake3 as nobleBlake3 } from "@noble/hashes/blake3.js"
import { Context, Effect, Layer } from "effect"
import { createBLAKE3 } from "hash-wasm"

/** BLAKE3-256, unkeyed. */
export class Hasher extends Context.Service<
  Hasher,
  {
    /** The 32-byte BLAKE3 hash of `data` (a new array each call). */
    readonly blake3: (data: Uint8Array) => Uint8Array
  }
>()("@dave/crypto/Hasher") {}

/**
 * hash-wasm with one reused hasher: ~5–7× @noble/hashes for the small inputs Dave hashes. Reusing it
 * from many fibers is safe because init/update/digest run synchronously, without yielding.
 * Loading the WASM module is asynchronous, hence an Effect.
 */
export const makeWasm: Effect.Effect<Hasher["Service"]> = Effect.map(
  Effect.promise(() => createBLAKE3()),
  (hasher) =>
    Hasher.of({
      blake3: (data) => {
        hasher.init()
        hasher.update(data)
        return hasher.digest("binary")
      }
    })
)

/** @noble/hashes: pure JavaScript, portable. */
export const makeNoble = (): Hasher["Service"] => Hasher.of({ blake3: (data) => nobleBlake3(data) })

export const layerWasm: Layer.Layer<Hasher> = Layer.effect(Hasher, makeWasm)
export const layerNoble: Layer.Layer<Hasher> = Layer.sync(Hasher, makeNoble)
/** The default: hash-wasm. */
export const layer: Layer.Layer<Hasher> = layerWasm
