/**
 * The backup file format, version 1. Every integer is little-endian, like the wire format.
 *
 *   file    = header record*
 *   header  = magic "DAVEBAK\0" (8 bytes) ‖ version u16 (= 1) ‖ flags u16 (= 0)
 *             ‖ crc32 u32 of the 12 bytes before it                                        (16 bytes)
 *   record  = sync u32 (bytes D4 7E B4 C5) ‖ crc32 u32 ‖ length u32 ‖ kind u8 (1 = entry)
 *             ‖ payload (length bytes)                                                      (13 + length bytes)
 *   payload = Codec.encodeEntry(entry): replicas (5 × u64) ‖ u16 dat length ‖ dat, the body of a PUT
 *
 * The record crc32 covers length ‖ kind ‖ payload, so a damaged length or kind is caught like damaged
 * data. A record is valid when its sync word matches, its length lies between the smallest and the
 * largest encodable entry (197 … 1421 bytes), its crc32 matches, its kind is 1 and its payload decodes.
 * After an invalid record the reader resynchronises: it scans forward for the next sync word that starts
 * a valid record, so one damaged record never hides the records after it.
 *
 * Checksum: CRC-32 (IEEE) from node:zlib (`zlib.crc32`, Node ≥ 22.2). It is built in (no dependency),
 * native and SIMD-accelerated, and for records this short (≤ 1434 bytes, far under CRC-32's
 * Hamming-distance-4 limit of 91,607 bits) it detects every error of 1 to 3 bits and every burst of up to
 * 32 bits; other random damage passes with probability 2⁻³². It guards against disk and crash damage
 * only: a forger can fix up a CRC, which is why the node still verifies signatures and work.
 *
 * No tombstones: evictions are not logged. Compaction rewrites only live entries, so an entry evicted
 * since the last compaction may come back at restore and is then evicted again by the store's budget.
 * Every entry that comes back was committed once, so nothing is invented.
 */
import { crc32 } from "node:zlib"
import { Constants } from "@dave/protocol"

export const MAGIC: Uint8Array = new TextEncoder().encode("DAVEBAK\0")
export const VERSION = 1
export const HEADER_LEN = 16

export const SYNC: Uint8Array = Uint8Array.of(0xd4, 0x7e, 0xb4, 0xc5)
export const RECORD_HEADER_LEN = 13
export const KIND_ENTRY = 1

/** Replicas (5 × u64), the u16 dat length and the fixed dat fields: an entry with empty key and value. */
export const MIN_PAYLOAD_LEN: number = Constants.FANOUT * 8 + 2 + Constants.DAT_HEADER_LEN
export const MAX_PAYLOAD_LEN: number = MIN_PAYLOAD_LEN + Constants.MAX_KEY_VALUE_LEN
export const MAX_RECORD_LEN: number = RECORD_HEADER_LEN + MAX_PAYLOAD_LEN

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength)

export const encodeHeader = (): Uint8Array => {
  const out = new Uint8Array(HEADER_LEN)
  out.set(MAGIC, 0)
  const v = view(out)
  v.setUint16(8, VERSION, true)
  v.setUint16(10, 0, true)
  v.setUint32(12, crc32(out.subarray(0, 12)), true)
  return out
}

/** What is wrong with a header, or "Ok". `version` is only meaningful for "FutureVersion". */
export type HeaderCheck =
  | { readonly _tag: "Ok" }
  | { readonly _tag: "Truncated" }
  | { readonly _tag: "BadMagic" }
  | { readonly _tag: "BadChecksum" }
  | { readonly _tag: "UnknownFlags"; readonly flags: number }
  | { readonly _tag: "UnsupportedVersion"; readonly version: number }

export const checkHeader = (b: Uint8Array): HeaderCheck => {
  if (b.length < HEADER_LEN) return { _tag: "Truncated" }
  for (let i = 0; i < MAGIC.length; i++) if (b[i] !== MAGIC[i]) return { _tag: "BadMagic" }
  const v = view(b)
  if (v.getUint32(12, true) !== crc32(b.subarray(0, 12))) return { _tag: "BadChecksum" }
  const version = v.getUint16(8, true)
  if (version !== VERSION) return { _tag: "UnsupportedVersion", version }
  const flags = v.getUint16(10, true)
  if (flags !== 0) return { _tag: "UnknownFlags", flags }
  return { _tag: "Ok" }
}

/** Encodes the record for an entry payload (as produced by `Codec.encodeEntry`) into `out` at `at`. */
export const writeRecord = (out: Uint8Array, at: number, payload: Uint8Array): number => {
  const length = payload.length
  out.set(SYNC, at)
  const v = view(out)
  v.setUint32(at + 8, length, true)
  out[at + 12] = KIND_ENTRY
  out.set(payload, at + RECORD_HEADER_LEN)
  const end = at + RECORD_HEADER_LEN + length
  v.setUint32(at + 4, crc32(out.subarray(at + 8, end)), true)
  return end
}

export const encodeRecord = (payload: Uint8Array): Uint8Array => {
  const out = new Uint8Array(RECORD_HEADER_LEN + payload.length)
  writeRecord(out, 0, payload)
  return out
}

/** `checkRecordAt` result: more bytes are needed to decide. */
export const NEED_MORE = 0
/** `checkRecordAt` result: no valid record starts here. */
export const INVALID = -1

/**
 * Checks the record starting at `at` in `b[0, end)`: its total length when its framing, length, kind
 * and crc32 are valid, `NEED_MORE` when it would extend past `end`, `INVALID` otherwise. The payload
 * itself is not decoded here.
 */
export const checkRecordAt = (b: Uint8Array, v: DataView, at: number, end: number): number => {
  if (end - at < RECORD_HEADER_LEN) {
    for (let i = 0; i < SYNC.length && at + i < end; i++) if (b[at + i] !== SYNC[i]) return INVALID
    return NEED_MORE
  }
  if (b[at] !== SYNC[0] || b[at + 1] !== SYNC[1] || b[at + 2] !== SYNC[2] || b[at + 3] !== SYNC[3]) return INVALID
  const length = v.getUint32(at + 8, true)
  if (length < MIN_PAYLOAD_LEN || length > MAX_PAYLOAD_LEN || b[at + 12] !== KIND_ENTRY) return INVALID
  const total = RECORD_HEADER_LEN + length
  if (end - at < total) return NEED_MORE
  if (v.getUint32(at + 4, true) !== crc32(b.subarray(at + 8, at + total))) return INVALID
  return total
}
