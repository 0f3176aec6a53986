import { Hasher } from "@dave/crypto"
import * as V from "@dave/protocol/vectors"
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import * as fc from "fast-check"
import { hex } from "./fixtures/rfc8032.ts"

const layers: ReadonlyArray<{ readonly name: string; readonly layer: Layer.Layer<Hasher.Hasher> }> = [
  { name: "wasm", layer: Hasher.layerWasm },
  { name: "noble", layer: Hasher.layerNoble }
]

const signedBytes = (): Uint8Array => {
  const out = new Uint8Array(V.datKey.length + V.datValue.length + 8)
  out.set(V.datKey, 0)
  out.set(V.datValue, V.datKey.length)
  new DataView(out.buffer).setBigUint64(V.datKey.length + V.datValue.length, V.datTimeMs, true)
  return out
}

describe.each(layers)("Hasher $name", ({ layer }) => {
  it.effect("BLAKE3-256 vectors: empty input, PROTOCOL.md 2.7 signed hash and sighash", () =>
    Effect.gen(function* () {
      const hasher = yield* Hasher.Hasher
      expect(hasher.blake3(new Uint8Array(0))).toEqual(
        hex("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
      )
      expect(hasher.blake3(signedBytes())).toEqual(V.signedHash)
      expect(hasher.blake3(V.datSig)).toEqual(V.sigHash)
    }).pipe(Effect.provide(layer))
  )

  it.effect("each result is a fresh 32-byte array (not overwritten by the next call)", () =>
    Effect.gen(function* () {
      const hasher = yield* Hasher.Hasher
      const first = hasher.blake3(V.datSig)
      hasher.blake3(V.datKey)
      expect(first).toEqual(V.sigHash)
      expect(first.length).toBe(32)
    }).pipe(Effect.provide(layer))
  )
})

describe("Hasher layers agree", () => {
  it.effect("wasm and noble give the same hash for inputs across chunk boundaries", () =>
    Effect.gen(function* () {
      const wasm = yield* Hasher.makeWasm
      const noble = Hasher.makeNoble()
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 3000 }), (data) => {
          expect(wasm.blake3(data)).toEqual(noble.blake3(data))
        }),
        { numRuns: 200 }
      )
    })
  )
})
