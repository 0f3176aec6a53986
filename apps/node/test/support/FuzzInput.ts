import { Constants } from "@dave/protocol"

/**
 * Families of hostile datagrams, each generated on demand from its index (a million datagrams of
 * up to 1500 bytes would not fit in memory at once), reproducible from a seed:
 * - random bytes of every length 0..1500, each length once per round, the first byte cycling
 *   through the defined ops on even rounds so that every decoder sees every length;
 * - every truncation and every single-bit flip of each valid message of a corpus;
 * - valid messages with a length field (entry, dat, key, value, address list, GET key) set to a
 *   hostile value, with the datagram either left as is or resized to agree with the outer length;
 * - "havoc": a valid message with 1 to 8 random mutations (AFL's stacked mutations, by hand).
 */

export interface Family {
  readonly name: string
  readonly count: number
  readonly at: (index: number) => Uint8Array
}

/** Largest datagram generated: longer than any message, as a hostile sender would send. */
export const MAX_DATAGRAM_BYTES = 1500

/** mulberry32: a tiny seeded PRNG of 32-bit words, fast enough to fill a million datagrams. */
export const prng = (seed: number): (() => number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

/** A PRNG for datagram `index` of family `salt`: each datagram is reproducible by itself. */
const rngFor = (seed: number, salt: number, index: number): (() => number) =>
  prng(Math.imul(seed ^ Math.imul(salt, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35))

/** An integer in [0, n). */
export const below = (next: () => number, n: number): number => Math.floor((next() / 4294967296) * n)

export const fillRandom = (bytes: Uint8Array, next: () => number): Uint8Array => {
  for (let j = 0; j < bytes.length; j += 4) {
    const w = next()
    bytes[j] = w
    if (j + 1 < bytes.length) bytes[j + 1] = w >>> 8
    if (j + 2 < bytes.length) bytes[j + 2] = w >>> 16
    if (j + 3 < bytes.length) bytes[j + 3] = w >>> 24
  }
  return bytes
}

const DEFINED_OPS = 8

export const randomEveryLength = (rounds: number, seed: number): Family => {
  const lengths = MAX_DATAGRAM_BYTES + 1
  return {
    name: "random bytes of every length 0..1500",
    count: rounds * lengths,
    at: (i) => {
      const length = i % lengths
      const round = Math.floor(i / lengths)
      const bytes = fillRandom(new Uint8Array(length), rngFor(seed, 1, i))
      if (length > 0 && round % 2 === 0) bytes[0] = (round / 2) % DEFINED_OPS
      return bytes
    }
  }
}

/** Every proper prefix and every single-bit flip of each message, message after message. */
export const truncationsAndFlips = (corpus: ReadonlyArray<Uint8Array>): Family => {
  const sizes = corpus.map((m) => m.length * 9)
  const starts: Array<number> = []
  let count = 0
  for (const size of sizes) {
    starts.push(count)
    count += size
  }
  return {
    name: "every truncation and bit flip of valid messages",
    count,
    at: (i) => {
      let m = starts.length - 1
      while (starts[m]! > i) m--
      const message = corpus[m]!
      const k = i - starts[m]!
      if (k < message.length) return message.slice(0, k)
      const bit = k - message.length
      const copy = message.slice()
      copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7))
      return copy
    }
  }
}

/** A length field of a message: its offset, its width, and the datagram length it describes. */
interface LengthField {
  readonly message: Uint8Array
  readonly offset: number
  readonly width: 1 | 2
}

/** The length fields of a valid message, found from its op and its own lengths. */
const lengthFields = (message: Uint8Array): Array<LengthField> => {
  const op = message[0]
  if (op === Constants.Op.Pong) return [{ message, offset: 1, width: 1 }]
  if (op === Constants.Op.Get) return [{ message, offset: 33, width: 1 }]
  if (op !== Constants.Op.Put && op !== Constants.Op.GetAck) return []
  const keyLengthAt = Constants.ENTRY_HEADER_LEN + 152
  return [
    { message, offset: 1, width: 2 },
    { message, offset: Constants.ENTRY_HEADER_LEN - 2, width: 2 },
    { message, offset: keyLengthAt, width: 1 },
    { message, offset: keyLengthAt + 1 + message[keyLengthAt]!, width: 2 }
  ]
}

/** Values tried in a u16 length: every one up to the largest datagram, and the edges above. */
const U16_VALUES: ReadonlyArray<number> = [
  ...Array.from({ length: MAX_DATAGRAM_BYTES + 2 }, (_, i) => i),
  0x7ff,
  0x800,
  0xfff,
  0x1000,
  0x7fff,
  0x8000,
  0x8001,
  0xfffe,
  0xffff
]

export const hostileLengths = (corpus: ReadonlyArray<Uint8Array>): Family => {
  const cases: Array<readonly [LengthField, number]> = []
  for (const message of corpus) {
    for (const field of lengthFields(message)) {
      const values = field.width === 1 ? Array.from({ length: 256 }, (_, i) => i) : U16_VALUES
      for (const value of values) cases.push([field, value])
    }
  }
  return {
    name: "valid headers with hostile lengths",
    count: cases.length * 2,
    at: (i) => {
      const [field, value] = cases[i >> 1]!
      const set = (bytes: Uint8Array): Uint8Array => {
        bytes[field.offset] = value & 0xff
        if (field.width === 2) bytes[field.offset + 1] = (value >>> 8) & 0xff
        return bytes
      }
      if ((i & 1) === 0) return set(field.message.slice())
      // Resized so the bytes present agree with the claimed length (up to 1500), zero-padded.
      const size = Math.min(
        MAX_DATAGRAM_BYTES,
        Math.max(field.offset + field.width, field.offset + field.width + value)
      )
      const bytes = new Uint8Array(size)
      bytes.set(field.message.subarray(0, size))
      return set(bytes)
    }
  }
}

const INTERESTING_U8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff, 17, 18, 19, 216, 217, 234, 252]
const INTERESTING_U16 = [0, 1, 2, 0xff, 0x100, 1221, 1224, 1379, 1421, 1424, 1425, 0x7fff, 0x8000, 0xffff]

/** One to eight stacked random mutations of a corpus message, at most 1500 bytes. */
export const havoc = (corpus: ReadonlyArray<Uint8Array>, count: number, seed: number): Family => ({
  name: "havoc mutations of valid messages",
  count,
  at: (i) => mutate(corpus, rngFor(seed, 3, i))
})

export const mutate = (corpus: ReadonlyArray<Uint8Array>, next: () => number): Uint8Array => {
  let bytes: Uint8Array = corpus[below(next, corpus.length)]!.slice()
  const rounds = 1 + below(next, 8)
  for (let r = 0; r < rounds; r++) bytes = mutateOnce(bytes, corpus, next)
  return bytes.length > MAX_DATAGRAM_BYTES ? bytes.slice(0, MAX_DATAGRAM_BYTES) : bytes
}

const mutateOnce = (bytes: Uint8Array, corpus: ReadonlyArray<Uint8Array>, next: () => number): Uint8Array => {
  const n = bytes.length
  const at = n === 0 ? 0 : below(next, n)
  switch (below(next, 10)) {
    case 0:
      if (n > 0) bytes[at] = bytes[at]! ^ (1 << below(next, 8))
      return bytes
    case 1:
      if (n > 0) bytes[at] = INTERESTING_U8[below(next, INTERESTING_U8.length)]!
      return bytes
    case 2: {
      if (n < 2) return bytes
      const v = INTERESTING_U16[below(next, INTERESTING_U16.length)]!
      const o = below(next, n - 1)
      bytes[o] = v & 0xff
      bytes[o + 1] = v >>> 8
      return bytes
    }
    case 3:
      if (n > 0) bytes[at] = next() & 0xff
      return bytes
    case 4: {
      // delete a chunk
      const len = Math.min(n - at, 1 + below(next, 64))
      const out = new Uint8Array(n - len)
      out.set(bytes.subarray(0, at))
      out.set(bytes.subarray(at + len), at)
      return out
    }
    case 5: {
      // insert random bytes
      const len = 1 + below(next, 64)
      const out = new Uint8Array(n + len)
      out.set(bytes.subarray(0, at))
      fillRandom(out.subarray(at, at + len), next)
      out.set(bytes.subarray(at), at + len)
      return out
    }
    case 6:
      return bytes.slice(0, at)
    case 7: {
      // splice: our head, another message's tail
      const other = corpus[below(next, corpus.length)]!
      const from = other.length === 0 ? 0 : below(next, other.length)
      const out = new Uint8Array(at + other.length - from)
      out.set(bytes.subarray(0, at))
      out.set(other.subarray(from), at)
      return out
    }
    case 8: {
      // copy a chunk over another place
      if (n < 2) return bytes
      const len = 1 + below(next, Math.min(64, n - 1))
      const from = below(next, n - len + 1)
      const to = below(next, n - len + 1)
      bytes.copyWithin(to, from, from + len)
      return bytes
    }
    default:
      if (n > 0) bytes[0] = below(next, DEFINED_OPS)
      return bytes
  }
}

/** `n` members of `family`, evenly spread over it (all of them when n >= its count). */
export const spread = (family: Family, n: number): Family => {
  if (n >= family.count) return family
  return { name: family.name, count: n, at: (i) => family.at(Math.floor((i * family.count) / n)) }
}

/** The family with every member cut or padded to a TCP frame's size, 1..1424 bytes. */
export const asFrames = (family: Family): Family => ({
  name: family.name,
  count: family.count,
  at: (i) => {
    const bytes = family.at(i)
    if (bytes.length === 0) return Uint8Array.of(0)
    return bytes.length > Constants.MAX_MSG_LEN ? bytes.slice(0, Constants.MAX_MSG_LEN) : bytes
  }
})
