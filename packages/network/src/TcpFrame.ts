import { Constants } from "@dave/protocol"
import { Result } from "effect"
import { TransportError } from "./Transport.ts"

/**
 * Framing of the TCP side channel (PROTOCOL 2.1): each frame is a u16 LE length followed by one
 * message of that many bytes, 1 to 1424 (`MAX_MSG_LEN`).
 */

export const HEADER_BYTES = 2
export const MAX_FRAME_BYTES = Constants.MAX_MSG_LEN

const isValidLength = (length: number): boolean => length >= 1 && length <= MAX_FRAME_BYTES

/** Concatenates the frames, each behind its length; fails on an empty or oversize frame. */
export const encode = (frames: ReadonlyArray<Uint8Array>): Result.Result<Uint8Array, TransportError> => {
  let total = 0
  for (let i = 0; i < frames.length; i++) {
    const length = frames[i]!.length
    if (!isValidLength(length)) {
      return Result.fail(
        new TransportError({
          reason: "InvalidFrame",
          message: `frame ${i} is ${length} bytes; a frame holds 1 to ${MAX_FRAME_BYTES}`
        })
      )
    }
    total += HEADER_BYTES + length
  }
  const out = new Uint8Array(total)
  let offset = 0
  for (const frame of frames) {
    out[offset] = frame.length & 0xff
    out[offset + 1] = frame.length >>> 8
    out.set(frame, offset + HEADER_BYTES)
    offset += HEADER_BYTES + frame.length
  }
  return Result.succeed(out)
}

/** A length prefix of 0 or over 1424: the stream cannot be trusted past it. */
export interface BadLength {
  readonly _tag: "BadLength"
  readonly length: number
}

export interface Decoder {
  /**
   * Consumes one chunk of the stream, calling `emit` with each completed frame (a copy, safe to
   * retain). Returns a `BadLength` at the first invalid length prefix; the decoder is then unusable.
   */
  readonly push: (chunk: Uint8Array, emit: (frame: Uint8Array) => void) => BadLength | undefined
  /** True when some bytes of an unfinished frame are buffered. */
  readonly midFrame: () => boolean
}

/** An incremental decoder holding at most one frame (2 + 1424 bytes) across chunks. */
export const makeDecoder = (): Decoder => {
  const buffer = new Uint8Array(HEADER_BYTES + MAX_FRAME_BYTES)
  let filled = 0
  // bytes of `buffer` that complete the current stage: the header, then header + body
  let need = HEADER_BYTES
  let failed: BadLength | undefined
  const push = (chunk: Uint8Array, emit: (frame: Uint8Array) => void): BadLength | undefined => {
    if (failed !== undefined) return failed
    let offset = 0
    // each pass consumes at least one byte, so the loop ends within chunk.length passes
    while (offset < chunk.length) {
      const take = Math.min(need - filled, chunk.length - offset)
      buffer.set(chunk.subarray(offset, offset + take), filled)
      filled += take
      offset += take
      if (filled < need) break
      if (need === HEADER_BYTES) {
        const length = buffer[0]! | (buffer[1]! << 8)
        if (!isValidLength(length)) {
          failed = { _tag: "BadLength", length }
          return failed
        }
        need = HEADER_BYTES + length
      } else {
        emit(buffer.slice(HEADER_BYTES, need))
        filled = 0
        need = HEADER_BYTES
      }
    }
    return undefined
  }
  return { push, midFrame: () => filled > 0 }
}
