import { Result } from "effect"
import type { AddrPort } from "./Address.ts"
import { DecodeError, type DecodeReason, EncodeError, type EncodeReason } from "./CodecError.ts"
import * as C from "./Constants.ts"
import type { Dat, Entry, Message } from "./Message.ts"

/**
 * The binary codec, written by hand: it runs on every datagram, and a generic codec would be several
 * times slower. Decoding is total: any byte string gives a message or a DecodeError naming the field
 * and offset, and nothing throws. Lengths are strict: every length prefix must agree with the bytes
 * present, and no trailing bytes are allowed. Decoded byte fields are views into the input.
 */

type Layout = ReadonlyArray<readonly [field: string, offset: number, size: number]>

const PING_LAYOUT: Layout = [
  ["challenge", 1, C.CHALLENGE_LEN],
  ["used", 33, 8],
  ["capacity", 41, 8]
]
const PONG_TAIL_LAYOUT: Layout = [
  ["challenge", 0, C.CHALLENGE_LEN],
  ["salt", 32, C.SALT_LEN],
  ["pubKey", 48, C.PUBKEY_LEN],
  ["sig", 80, C.SIG_LEN]
]
const DAT_LAYOUT: Layout = [
  ["dat.time", 0, 8],
  ["dat.salt", 8, C.SALT_LEN],
  ["dat.work", 24, C.WORK_LEN],
  ["dat.sig", 56, C.SIG_LEN],
  ["dat.pubKey", 120, C.PUBKEY_LEN],
  ["dat.keyLen", 152, 1]
]

const failDecode = (reason: DecodeReason, field: string, offset: number, detail: string) =>
  Result.fail(new DecodeError({ reason, field, offset, detail }))

/** The first field of `layout` (placed at `base`) that does not fit in `length` bytes. */
const truncated = (layout: Layout, base: number, length: number) => {
  for (const [field, offset, size] of layout) {
    if (base + offset + size > length) {
      return failDecode("Truncated", field, base + offset, `needs ${size} bytes, ${length - base - offset} left`)
    }
  }
  return failDecode("Truncated", "message", length, "message ends early")
}

const trailing = (offset: number, length: number) =>
  failDecode("TrailingBytes", "message", offset, `${length - offset} bytes after the last field`)

// u64/i64 fields go through one module-level 8-byte scratch: a DataView over each input or output
// buffer would cost more to create (~200 ns) than the whole read or write.
const scratch = new Uint8Array(8)
const scratchView = new DataView(scratch.buffer)

const loadScratch = (b: Uint8Array, o: number) => {
  for (let i = 0; i < 8; i++) scratch[i] = b[o + i]!
}
const readU64 = (b: Uint8Array, o: number): bigint => {
  loadScratch(b, o)
  return scratchView.getBigUint64(0, true)
}
const readI64 = (b: Uint8Array, o: number): bigint => {
  loadScratch(b, o)
  return scratchView.getBigInt64(0, true)
}
const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8)

/**
 * A view of `size` bytes of `b` at `o`. Faster than `subarray` (much faster on a Buffer, whose `subarray`
 * looks up its species), and always a plain Uint8Array. Unlike `subarray` it does not clamp to `b`, so
 * every caller checks the bounds first (the property tests feed views with guard bytes around them).
 */
const bytesAt = (b: Uint8Array, o: number, size: number): Uint8Array => new Uint8Array(b.buffer, b.byteOffset + o, size)

const readAddr = (b: Uint8Array, o: number): AddrPort => ({ ip: bytesAt(b, o, C.IP_LEN), port: u16(b, o + C.IP_LEN) })

/** Decodes one datagram. */
export const decode = (b: Uint8Array): Result.Result<Message, DecodeError> => {
  const n = b.length
  if (n === 0) return failDecode("Empty", "op", 0, "empty datagram")
  if (n > C.MAX_MSG_LEN) return failDecode("TooLong", "message", C.MAX_MSG_LEN, `${n} bytes, at most ${C.MAX_MSG_LEN}`)
  switch (b[0]) {
    case C.Op.Ping:
      return decodePing(b)
    case C.Op.Pong:
      return decodePong(b)
    case C.Op.Put:
    case C.Op.GetAck:
      return decodeEntryMessage(b)
    case C.Op.Get:
      return decodeGet(b)
    case C.Op.GetMyAddrPort:
      return n === 1 ? Result.succeed({ _tag: "GetMyAddrPort" }) : trailing(1, n)
    case C.Op.GetMyAddrPortAck:
      if (n < C.GETMYADDRPORT_ACK_LEN) return truncated([["addr", 1, C.ADDR_LEN]], 0, n)
      if (n > C.GETMYADDRPORT_ACK_LEN) return trailing(C.GETMYADDRPORT_ACK_LEN, n)
      return Result.succeed({ _tag: "GetMyAddrPortAck", addr: readAddr(b, 1) })
    case C.Op.PutAck:
      return failDecode("ReservedOp", "op", 0, "PUT_ACK is reserved and never sent")
    default:
      return failDecode("UnknownOp", "op", 0, `unknown op ${b[0]}`)
  }
}

const decodePing = (b: Uint8Array): Result.Result<Message, DecodeError> => {
  if (b.length < C.PING_LEN) return truncated(PING_LAYOUT, 0, b.length)
  if (b.length > C.PING_LEN) return trailing(C.PING_LEN, b.length)
  return Result.succeed({
    _tag: "Ping",
    challenge: bytesAt(b, 1, C.CHALLENGE_LEN),
    used: readI64(b, 33),
    capacity: readI64(b, 41)
  })
}

const decodePong = (b: Uint8Array): Result.Result<Message, DecodeError> => {
  const n = b.length
  if (n < 2) return truncated([["addrLen", 1, 1]], 0, n)
  const addrBytes = b[1]!
  if (addrBytes % C.ADDR_LEN !== 0) {
    return failDecode("BadLength", "addrLen", 1, `${addrBytes} is not a multiple of ${C.ADDR_LEN}`)
  }
  const count = addrBytes / C.ADDR_LEN
  if (count > C.NPEER_LIMIT) {
    return failDecode("TooManyAddrs", "addrLen", 1, `${count} addresses, at most ${C.NPEER_LIMIT}`)
  }
  if (n < 2 + addrBytes) return failDecode("Truncated", "addrs", 2, `needs ${addrBytes} bytes, ${n - 2} left`)
  const tail = 2 + addrBytes
  if (n < tail + C.PONG_TAIL_LEN) return truncated(PONG_TAIL_LAYOUT, tail, n)
  if (n > tail + C.PONG_TAIL_LEN) return trailing(tail + C.PONG_TAIL_LEN, n)
  const addrs: Array<AddrPort> = []
  for (let i = 0; i < count; i++) addrs.push(readAddr(b, 2 + i * C.ADDR_LEN))
  return Result.succeed({
    _tag: "Pong",
    addrs,
    challenge: bytesAt(b, tail, C.CHALLENGE_LEN),
    salt: bytesAt(b, tail + 32, C.SALT_LEN),
    pubKey: bytesAt(b, tail + 48, C.PUBKEY_LEN),
    sig: bytesAt(b, tail + 80, C.SIG_LEN)
  })
}

const decodeEntryMessage = (b: Uint8Array): Result.Result<Message, DecodeError> => {
  const n = b.length
  if (n < 3) return truncated([["entryLen", 1, 2]], 0, n)
  const entryLen = u16(b, 1)
  if (entryLen === 0) return failDecode("BadLength", "entryLen", 1, "entry length is 0")
  if (entryLen > n - 3) return failDecode("Truncated", "entry", 3, `entry length ${entryLen}, ${n - 3} bytes present`)
  if (entryLen < n - 3) return trailing(3 + entryLen, n)
  const entry = decodeEntryAt(b, 3)
  if (Result.isFailure(entry)) return Result.fail(entry.failure)
  return Result.succeed(
    b[0] === C.Op.Put ? { _tag: "Put", entry: entry.success } : { _tag: "GetAck", entry: entry.success }
  )
}

/** Decodes the entry that fills `b` from `base` to its end: replicas, dat length, dat. */
const decodeEntryAt = (b: Uint8Array, base: number): Result.Result<Entry, DecodeError> => {
  const n = b.length
  if (n < base + 42) {
    return truncated(
      [
        ["replicas", 0, 40],
        ["datLen", 40, 2]
      ],
      base,
      n
    )
  }
  const datLen = u16(b, base + 40)
  const d = base + 42
  if (datLen === 0) return failDecode("BadLength", "datLen", base + 40, "dat length is 0")
  if (datLen > n - d) return failDecode("Truncated", "dat", d, `dat length ${datLen}, ${n - d} bytes present`)
  if (datLen < n - d) return trailing(d + datLen, n)
  if (datLen < C.DAT_HEADER_LEN - 2) return truncated(DAT_LAYOUT, d, n)
  const keyLen = b[d + 152]!
  const valueLenAt = d + 153 + keyLen
  if (valueLenAt > n) return failDecode("Truncated", "dat.key", d + 153, `needs ${keyLen} bytes, ${n - d - 153} left`)
  if (valueLenAt + 2 > n) return truncated([["dat.valueLen", 0, 2]], valueLenAt, n)
  const valueLen = u16(b, valueLenAt)
  const valueAt = valueLenAt + 2
  if (valueAt + valueLen > n) {
    return failDecode("Truncated", "dat.value", valueAt, `needs ${valueLen} bytes, ${n - valueAt} left`)
  }
  if (valueAt + valueLen < n) return trailing(valueAt + valueLen, n)
  const replicas: Array<bigint> = []
  for (let i = 0; i < C.FANOUT; i++) replicas.push(readU64(b, base + i * 8))
  const buffer = b.buffer
  const at = b.byteOffset + d
  const dat: Dat = {
    time: readU64(b, d),
    salt: new Uint8Array(buffer, at + 8, C.SALT_LEN),
    work: new Uint8Array(buffer, at + 24, C.WORK_LEN),
    sig: new Uint8Array(buffer, at + 56, C.SIG_LEN),
    pubKey: new Uint8Array(buffer, at + 120, C.PUBKEY_LEN),
    key: new Uint8Array(buffer, at + 153, keyLen),
    value: new Uint8Array(buffer, at + 155 + keyLen, valueLen)
  }
  return Result.succeed({ replicas, dat })
}

const decodeGet = (b: Uint8Array): Result.Result<Message, DecodeError> => {
  const n = b.length
  if (n < C.GET_MIN_LEN) {
    return truncated(
      [
        ["pubKey", 1, 32],
        ["keyLen", 33, 1]
      ],
      0,
      n
    )
  }
  const keyLen = b[33]!
  if (n < 34 + keyLen) return failDecode("Truncated", "key", 34, `needs ${keyLen} bytes, ${n - 34} left`)
  if (n > 34 + keyLen) return trailing(34 + keyLen, n)
  return Result.succeed({ _tag: "Get", pubKey: bytesAt(b, 1, C.PUBKEY_LEN), key: bytesAt(b, 34, keyLen) })
}

/**
 * Decodes an entry record as the backup stores it: replicas, u16 LE dat length, dat (a PUT without
 * its 3-byte op and length header). Offsets in errors are relative to the record. A record longer
 * than any PUT could carry is refused, so every decoded entry can be encoded again.
 */
export const decodeEntry = (b: Uint8Array): Result.Result<Entry, DecodeError> =>
  b.length > C.MAX_ENTRY_LEN
    ? failDecode("TooLong", "entry", C.MAX_ENTRY_LEN, `${b.length} bytes, at most ${C.MAX_ENTRY_LEN}`)
    : decodeEntryAt(b, 0)

// ---------------------------------------------------------------------------------------------------
// Encoding

const failEncode = (reason: EncodeReason, field: string, detail: string) =>
  Result.fail(new EncodeError({ reason, field, detail }))

const sizeError = (field: string, bytes: Uint8Array, size: number): EncodeError | undefined =>
  bytes.length === size
    ? undefined
    : new EncodeError({ reason: "BadFieldSize", field, detail: `${bytes.length} bytes, expected ${size}` })

// `asUintN(64, x) === x` is the u64 range check: cheaper than two comparisons against bigint bounds.
const isU64 = (x: bigint): boolean => typeof x === "bigint" && BigInt.asUintN(64, x) === x
const isI64 = (x: bigint): boolean => typeof x === "bigint" && BigInt.asIntN(64, x) === x

const datError = (dat: Dat): EncodeError | undefined => {
  const bad =
    sizeError("dat.salt", dat.salt, C.SALT_LEN) ??
    sizeError("dat.work", dat.work, C.WORK_LEN) ??
    sizeError("dat.sig", dat.sig, C.SIG_LEN) ??
    sizeError("dat.pubKey", dat.pubKey, C.PUBKEY_LEN)
  if (bad) return bad
  if (!isU64(dat.time)) return new EncodeError({ reason: "OutOfRange", field: "dat.time", detail: "not a u64" })
  if (dat.key.length > C.MAX_KEY_LEN) {
    return new EncodeError({
      reason: "KeyTooLong",
      field: "dat.key",
      detail: `${dat.key.length} bytes, at most ${C.MAX_KEY_LEN}`
    })
  }
  if (dat.key.length + dat.value.length > C.MAX_KEY_VALUE_LEN) {
    return new EncodeError({
      reason: "ValueTooLong",
      field: "dat.value",
      detail: `key + value is ${dat.key.length + dat.value.length} bytes, at most ${C.MAX_KEY_VALUE_LEN}`
    })
  }
  return undefined
}

const entryError = (entry: Entry): EncodeError | undefined => {
  if (entry.replicas.length !== C.FANOUT) {
    return new EncodeError({
      reason: "BadFieldSize",
      field: "replicas",
      detail: `${entry.replicas.length} IDs, expected ${C.FANOUT}`
    })
  }
  for (let i = 0; i < C.FANOUT; i++) {
    if (!isU64(entry.replicas[i]!)) {
      return new EncodeError({ reason: "OutOfRange", field: `replicas[${i}]`, detail: "not a u64" })
    }
  }
  return datError(entry.dat)
}

const addrError = (field: string, addr: AddrPort): EncodeError | undefined =>
  sizeError(`${field}.ip`, addr.ip, C.IP_LEN) ??
  (Number.isInteger(addr.port) && addr.port >= 0 && addr.port <= 0xffff
    ? undefined
    : new EncodeError({ reason: "OutOfRange", field: `${field}.port`, detail: `${addr.port}` }))

const pongError = (m: Message & { readonly _tag: "Pong" }): EncodeError | undefined => {
  if (m.addrs.length > C.NPEER_LIMIT) {
    return new EncodeError({
      reason: "TooManyAddrs",
      field: "addrs",
      detail: `${m.addrs.length}, at most ${C.NPEER_LIMIT}`
    })
  }
  for (let i = 0; i < m.addrs.length; i++) {
    const bad = addrError(`addrs[${i}]`, m.addrs[i]!)
    if (bad) return bad
  }
  return (
    sizeError("challenge", m.challenge, C.CHALLENGE_LEN) ??
    sizeError("salt", m.salt, C.SALT_LEN) ??
    sizeError("pubKey", m.pubKey, C.PUBKEY_LEN) ??
    sizeError("sig", m.sig, C.SIG_LEN)
  )
}

/** Checks a message for encoding and returns its encoded length. */
export const encodedLength = (m: Message): Result.Result<number, EncodeError> => {
  switch (m._tag) {
    case "Ping": {
      const bad = sizeError("challenge", m.challenge, C.CHALLENGE_LEN)
      if (bad) return Result.fail(bad)
      if (!isI64(m.used)) return failEncode("OutOfRange", "used", "not an i64")
      if (!isI64(m.capacity)) return failEncode("OutOfRange", "capacity", "not an i64")
      return Result.succeed(C.PING_LEN)
    }
    case "Pong": {
      const bad = pongError(m)
      if (bad) return Result.fail(bad)
      return Result.succeed(C.PONG_MIN_LEN + m.addrs.length * C.ADDR_LEN)
    }
    case "Put":
    case "GetAck": {
      const bad = entryError(m.entry)
      if (bad) return Result.fail(bad)
      return Result.succeed(C.PUT_OVERHEAD + m.entry.dat.key.length + m.entry.dat.value.length)
    }
    case "Get": {
      const bad = sizeError("pubKey", m.pubKey, C.PUBKEY_LEN)
      if (bad) return Result.fail(bad)
      if (m.key.length > C.MAX_KEY_LEN) {
        return failEncode("KeyTooLong", "key", `${m.key.length} bytes, at most ${C.MAX_KEY_LEN}`)
      }
      return Result.succeed(C.GET_MIN_LEN + m.key.length)
    }
    case "GetMyAddrPort":
      return Result.succeed(C.GETMYADDRPORT_LEN)
    case "GetMyAddrPortAck": {
      const bad = addrError("addr", m.addr)
      if (bad) return Result.fail(bad)
      return Result.succeed(C.GETMYADDRPORT_ACK_LEN)
    }
    default:
      // Unreachable for well-typed callers; keeps encoding total for values built around the types.
      return failEncode("BadFieldSize", "_tag", `unknown message tag ${String((m as { readonly _tag: unknown })._tag)}`)
  }
}

const writeU16 = (out: Uint8Array, o: number, x: number) => {
  out[o] = x & 0xff
  out[o + 1] = x >>> 8
}

const storeScratch = (out: Uint8Array, o: number) => {
  for (let i = 0; i < 8; i++) out[o + i] = scratch[i]!
}
const writeU64 = (out: Uint8Array, o: number, x: bigint) => {
  scratchView.setBigUint64(0, x, true)
  storeScratch(out, o)
}
const writeI64 = (out: Uint8Array, o: number, x: bigint) => {
  scratchView.setBigInt64(0, x, true)
  storeScratch(out, o)
}

const writeAddr = (out: Uint8Array, o: number, a: AddrPort) => {
  out.set(a.ip, o)
  writeU16(out, o + C.IP_LEN, a.port)
}

/** Writes the entry body (replicas, dat length, dat) at `o`; returns the offset after it. */
const writeEntry = (out: Uint8Array, o: number, entry: Entry): number => {
  const { dat } = entry
  for (let i = 0; i < C.FANOUT; i++) writeU64(out, o + i * 8, entry.replicas[i]!)
  const datLen = C.DAT_HEADER_LEN + dat.key.length + dat.value.length
  writeU16(out, o + 40, datLen)
  const d = o + 42
  writeU64(out, d, dat.time)
  out.set(dat.salt, d + 8)
  out.set(dat.work, d + 24)
  out.set(dat.sig, d + 56)
  out.set(dat.pubKey, d + 120)
  out[d + 152] = dat.key.length
  out.set(dat.key, d + 153)
  writeU16(out, d + 153 + dat.key.length, dat.value.length)
  out.set(dat.value, d + 155 + dat.key.length)
  return d + datLen
}

/** Writes a message already checked by `encodedLength`, whose encoded length is `n`, at offset 0 of `out`. */
const writeMessage = (m: Message, out: Uint8Array, n: number): void => {
  switch (m._tag) {
    case "Ping":
      out[0] = C.Op.Ping
      out.set(m.challenge, 1)
      writeI64(out, 33, m.used)
      writeI64(out, 41, m.capacity)
      return
    case "Pong": {
      out[0] = C.Op.Pong
      out[1] = m.addrs.length * C.ADDR_LEN
      for (let i = 0; i < m.addrs.length; i++) writeAddr(out, 2 + i * C.ADDR_LEN, m.addrs[i]!)
      const t = 2 + m.addrs.length * C.ADDR_LEN
      out.set(m.challenge, t)
      out.set(m.salt, t + 32)
      out.set(m.pubKey, t + 48)
      out.set(m.sig, t + 80)
      return
    }
    case "Put":
    case "GetAck":
      out[0] = m._tag === "Put" ? C.Op.Put : C.Op.GetAck
      writeU16(out, 1, n - 3)
      writeEntry(out, 3, m.entry)
      return
    case "Get":
      out[0] = C.Op.Get
      out.set(m.pubKey, 1)
      out[33] = m.key.length
      out.set(m.key, 34)
      return
    case "GetMyAddrPort":
      out[0] = C.Op.GetMyAddrPort
      return
    case "GetMyAddrPortAck":
      out[0] = C.Op.GetMyAddrPortAck
      writeAddr(out, 1, m.addr)
      return
  }
}

/**
 * Encodes into `out` from offset 0 and returns the length written; `out` must hold at least
 * `encodedLength(m)` bytes (MAX_MSG_LEN always suffices).
 */
export const encodeInto = (m: Message, out: Uint8Array): Result.Result<number, EncodeError> => {
  const length = encodedLength(m)
  if (Result.isFailure(length)) return length
  const n = length.success
  if (out.length < n) return failEncode("BadFieldSize", "out", `buffer of ${out.length} bytes, message needs ${n}`)
  writeMessage(m, out, n)
  return length
}

/** Encodes a message into a new buffer of exactly its length. */
export const encode = (m: Message): Result.Result<Uint8Array, EncodeError> => {
  const length = encodedLength(m)
  if (Result.isFailure(length)) return Result.fail(length.failure)
  const out = new Uint8Array(length.success)
  writeMessage(m, out, length.success)
  return Result.succeed(out)
}

/** Encodes an entry as a backup record body: replicas, u16 LE dat length, dat. */
export const encodeEntry = (entry: Entry): Result.Result<Uint8Array, EncodeError> => {
  const bad = entryError(entry)
  if (bad) return Result.fail(bad)
  const out = new Uint8Array(42 + C.DAT_HEADER_LEN + entry.dat.key.length + entry.dat.value.length)
  writeEntry(out, 0, entry)
  return Result.succeed(out)
}
