import { Codec, type Entry } from "@dave/protocol"
import { Result } from "effect"
import * as Format from "./Format.ts"

/** Trailing bytes after the last intact record that hold no intact record: a torn (or damaged) tail. */
export interface TornTail {
  readonly offset: number
  readonly bytes: number
  /** True when the file was cut back to `offset` at open, so that appends follow the last intact record. */
  readonly truncated: boolean
}

export interface ScanTotals {
  readonly restored: number
  /** Damaged regions skipped between intact records (each may have held one or more records). */
  readonly skippedCorrupt: number
  readonly skippedBytes: number
  /** File offsets where those regions start, the first `maxCorruptOffsets` of them. */
  readonly corruptOffsets: ReadonlyArray<number>
  readonly tornTail: TornTail | undefined
}

const bufferOf = (b: Uint8Array, end: number): Buffer => Buffer.from(b.buffer, b.byteOffset, end)

/** Index of the next sync word in `b[from, end)`, or -1. */
const indexOfSync = (b: Uint8Array, from: number, end: number): number =>
  from >= end ? -1 : bufferOf(b, end).indexOf(Format.SYNC, from)

/**
 * Restored entries' bytes are copied out of the read buffer (which is reused) into slabs of this size,
 * many records per slab: one ArrayBuffer per record made a 1 M-entry restore spend most of its time
 * allocating and collecting them. A slab lives as long as any entry whose fields view it.
 */
export const SLAB_BYTES = 64 * 1024

/** Copies record payloads into shared slabs and decodes them. */
class PayloadSlabs {
  #slab = new Uint8Array(SLAB_BYTES)
  #used = 0

  /** The entry in the record `b[at, at + total)`, or undefined when its payload does not decode. */
  decode(b: Uint8Array, at: number, total: number): Entry | undefined {
    const length = total - Format.RECORD_HEADER_LEN
    if (this.#used + length > this.#slab.length) {
      this.#slab = new Uint8Array(SLAB_BYTES)
      this.#used = 0
    }
    const payload = this.#slab.subarray(this.#used, this.#used + length)
    payload.set(b.subarray(at + Format.RECORD_HEADER_LEN, at + total))
    const decoded = Codec.decodeEntry(payload)
    if (Result.isFailure(decoded)) return undefined
    this.#used += length
    return decoded.success
  }
}

/**
 * Incremental record parser over a file read in chunks. Each call scans the bytes it is given, emits
 * the entries of intact records, and returns how many bytes it consumed; the caller keeps the rest
 * (at most one record) in front of the next chunk. A damaged region is skipped by searching for the
 * next sync word that starts an intact record, so damage never hides the records after it.
 */
export class Scanner {
  readonly #maxCorruptOffsets: number
  readonly #slabs = new PayloadSlabs()
  #restored = 0
  #skippedCorrupt = 0
  #skippedBytes = 0
  readonly #corruptOffsets: Array<number> = []
  /** Start of the damaged region being skipped, or -1. */
  #corruptStart = -1

  constructor(maxCorruptOffsets: number) {
    this.#maxCorruptOffsets = maxCorruptOffsets
  }

  /**
   * Scans `b[0, end)`, whose first byte is at file offset `base`. `eof` says no bytes follow `end`.
   * Returns the index of the first byte not consumed (always `end` when `eof`).
   */
  scan(b: Uint8Array, base: number, end: number, eof: boolean, out: Array<Entry>): number {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
    let at = 0
    // Each pass consumes a record or moves to a later sync word, so at most `end` passes.
    for (let pass = 0; pass <= end && at < end; pass++) {
      const total = Format.checkRecordAt(b, v, at, end)
      if (total === Format.NEED_MORE && !eof) return at
      const entry = total > 0 ? this.#slabs.decode(b, at, total) : undefined
      if (entry !== undefined) {
        this.#closeCorrupt(base + at)
        out.push(entry)
        this.#restored++
        at += total
        continue
      }
      if (this.#corruptStart < 0) this.#corruptStart = base + at
      const next = indexOfSync(b, at + 1, end)
      if (next < 0) return eof ? end : Math.max(at + 1, end - (Format.SYNC.length - 1))
      at = next
    }
    return at
  }

  /** Ends the scan at file offset `fileEnd`: a damaged region still open there is the torn tail. */
  finish(fileEnd: number): ScanTotals {
    const tornTail =
      this.#corruptStart < 0
        ? undefined
        : { offset: this.#corruptStart, bytes: fileEnd - this.#corruptStart, truncated: false }
    return {
      restored: this.#restored,
      skippedCorrupt: this.#skippedCorrupt,
      skippedBytes: this.#skippedBytes,
      corruptOffsets: [...this.#corruptOffsets],
      tornTail
    }
  }

  #closeCorrupt(at: number): void {
    if (this.#corruptStart < 0) return
    this.#skippedCorrupt++
    this.#skippedBytes += at - this.#corruptStart
    if (this.#corruptOffsets.length < this.#maxCorruptOffsets) this.#corruptOffsets.push(this.#corruptStart)
    this.#corruptStart = -1
  }
}

/**
 * The file offset where the last intact record in `b` ends, where `b` holds the file bytes from offset
 * `base` to its end; undefined when `b` holds no intact record. Used at open to find a torn tail
 * without reading the whole file: `b` is the last two maximal records' worth of bytes.
 */
export const lastRecordEnd = (b: Uint8Array, base: number): number | undefined => {
  const slabs = new PayloadSlabs()
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  let last: number | undefined
  for (let at = indexOfSync(b, 0, b.length), n = 0; at >= 0 && n <= b.length; n++) {
    const total = Format.checkRecordAt(b, v, at, b.length)
    if (total > 0 && slabs.decode(b, at, total) !== undefined) last = Math.max(last ?? 0, base + at + total)
    at = indexOfSync(b, at + 1, b.length)
  }
  return last
}
