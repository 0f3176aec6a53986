import { TcpFrame } from "@dave/network"
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"

const frameArb = fc.uint8Array({ minLength: 1, maxLength: TcpFrame.MAX_FRAME_BYTES })

/** Splits `bytes` at the given cut points (taken modulo its length). */
const split = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const p of points) {
    chunks.push(bytes.subarray(start, p))
    start = p
  }
  chunks.push(bytes.subarray(start))
  return chunks
}

describe("TcpFrame", () => {
  it("encodes each frame behind its u16 LE length", () => {
    const encoded = TcpFrame.encode([Uint8Array.of(7), new Uint8Array(300).fill(9)])
    assert.isTrue(Result.isSuccess(encoded))
    const bytes = Result.getOrThrow(encoded)
    assert.deepStrictEqual(Array.from(bytes.subarray(0, 5)), [1, 0, 7, 44, 1])
    assert.strictEqual(bytes.length, 2 + 1 + 2 + 300)
  })

  it("refuses empty and oversize frames", () => {
    for (const bad of [new Uint8Array(0), new Uint8Array(TcpFrame.MAX_FRAME_BYTES + 1)]) {
      const encoded = TcpFrame.encode([Uint8Array.of(1), bad])
      assert.isTrue(Result.isFailure(encoded))
      if (Result.isFailure(encoded)) {
        assert.strictEqual(encoded.failure.reason, "InvalidFrame")
        assert.match(encoded.failure.message, /frame 1 is \d+ bytes/)
      }
    }
  })

  it("decodes what was encoded, however the stream is cut into chunks", () =>
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, cuts) => {
          const bytes = Result.getOrThrow(TcpFrame.encode(frames))
          const decoder = TcpFrame.makeDecoder()
          const out: Array<Uint8Array> = []
          for (const chunk of split(bytes, cuts)) assert.isUndefined(decoder.push(chunk, (f) => out.push(f)))
          assert.deepStrictEqual(out, frames)
          assert.isFalse(decoder.midFrame())
        }
      ),
      { numRuns: 200 }
    ))

  it("stops at a length of 0 or over 1424, after delivering the frames before it", () =>
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 3 }),
        fc.oneof(fc.constant(0), fc.integer({ min: TcpFrame.MAX_FRAME_BYTES + 1, max: 0xffff })),
        (good, badLength) => {
          const prefix = Result.getOrThrow(TcpFrame.encode(good))
          const stream = new Uint8Array(prefix.length + 2 + 4)
          stream.set(prefix)
          stream[prefix.length] = badLength & 0xff
          stream[prefix.length + 1] = badLength >>> 8
          const decoder = TcpFrame.makeDecoder()
          const out: Array<Uint8Array> = []
          const result = decoder.push(stream, (f) => out.push(f))
          assert.deepStrictEqual(result, { _tag: "BadLength", length: badLength })
          assert.deepStrictEqual(out, good)
          // the decoder stays failed
          assert.deepStrictEqual(
            decoder.push(Uint8Array.of(1, 0, 1), (f) => out.push(f)),
            result
          )
          assert.strictEqual(out.length, good.length)
        }
      ),
      { numRuns: 100 }
    ))

  it("reports an unfinished frame", () => {
    const decoder = TcpFrame.makeDecoder()
    assert.isUndefined(decoder.push(Uint8Array.of(3, 0, 1), () => assert.fail("no frame yet")))
    assert.isTrue(decoder.midFrame())
  })
})
