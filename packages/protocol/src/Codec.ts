import { Result } from "effect"
import type { AddrPort } from "./Address.ts"
import * as C from "./Constants.ts"
import { DecodeError, type DecodeReason, EncodeError, type EncodeReason } from "./CodecError.ts"
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

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength)
const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8)

const readAddr = (b: Uint8Array, o: number): AddrPort => ({ ip: b.subarray(o, o + C.IP_LEN), port: u16(b, o + 16) })

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
  const v = view(b)
  return Result.succeed({
    _tag: "Ping",
    challenge: b.subarray(1, 33),
    used: v.getBigInt64(33, true),
    capacity: v.getBigInt64(41, true)
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
  if (count > C.NPEER_LIMIT) return failDecode("TooManyAddrs", "addrLen", 1, `${count} addresses, at most ${C.NPEER_LIMIT}`)
  if (n < 2 + addrBytes) return failDecode("Truncated", "addrs", 2, `needs ${addrBytes} bytes, ${n - 2} left`)
  const tail = 2 + addrBytes
  if (n < tail + C.PONG_TAIL_LEN) return truncated(PONG_TAIL_LAYOUT, tail, n)
  if (n > tail + C.PONG_TAIL_LEN) return trailing(tail + C.PONG_TAIL_LEN, n)
  const addrs: Array<AddrPort> = []
  for (let i = 0; i < count; i++) addrs.push(readAddr(b, 2 + i * C.ADDR_LEN))
  return Result.succeed({
    _tag: "Pong",
    addrs,
    challenge: b.subarray(tail, tail + 32),
    salt: b.subarray(tail + 32, tail + 48),
    pubKey: b.subarray(tail + 48, tail + 80),
    sig: b.subarray(tail + 80, tail + 144)
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
  return Result.succeed(b[0] === C.Op.Put ? { _tag: "Put", entry: entry.success } : { _tag: "GetAck", entry: entry.success })
}

/** Decodes the entry that fills `b` from `base` to its end: replicas, dat length, dat. */
const decodeEntryAt = (b: Uint8Array, base: number): Result.Result<Entry, DecodeError> => {
  const n = b.length
  if (n < base + 42) return truncated([["replicas", 0, 40], ["datLen", 40, 2]], base, n)
  const v = view(b)
  const replicas: Array<bigint> = []
  for (let i = 0; i < C.FANOUT; i++) replicas.push(v.getBigUint64(base + i * 8, true))
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
  const dat: Dat = {
    time: v.getBigUint64(d, true),
    salt: b.subarray(d + 8, d + 24),
    work: b.subarray(d + 24, d + 56),
    sig: b.subarray(d + 56, d + 120),
    pubKey: b.subarray(d + 120, d + 152),
    key: b.subarray(d + 153, valueLenAt),
    value: b.subarray(valueAt, valueAt + valueLen)
  }
  return Result.succeed({ replicas, dat })
}

const decodeGet = (b: Uint8Array): Result.Result<Message, DecodeError> => {
  const n = b.length
  if (n < C.GET_MIN_LEN) return truncated([["pubKey", 1, 32], ["keyLen", 33, 1]], 0, n)
  const keyLen = b[33]!
  if (n < 34 + keyLen) return failDecode("Truncated", "key", 34, `needs ${keyLen} bytes, ${n - 34} left`)
  if (n > 34 + keyLen) return trailing(34 + keyLen, n)
  return Result.succeed({ _tag: "Get", pubKey: b.subarray(1, 33), key: b.subarray(34, 34 + keyLen) })
}

/**
 * Decodes an entry record as the backup stores it: replicas, u16 LE dat length, dat (a PUT without
 * its 3-byte op and length header). Offsets in errors are relative to the record.
 */
export const decodeEntry = (b: Uint8Array): Result.Result<Entry, DecodeError> => decodeEntryAt(b, 0)

// ---------------------------------------------------------------------------------------------------
// Encoding

const failEncode = (reason: EncodeReason, field: string, detail: string) =>
  Result.fail(new EncodeError({ reason, field, detail }))

const sizeError = (field: string, bytes: Uint8Array, size: number) =>
  bytes.length === size ? undefined : new EncodeError({ reason: "BadFieldSize", field, detail: `${bytes.length} bytes, expected ${size}` })

const U64_MAX = (1n << 64n) - 1n
const I64_MIN = -(1n << 63n)
const I64_MAX = (1n << 63n) - 1n

const datError = (dat: Dat): EncodeError | undefined => {
  const bad =
    sizeError("dat.salt", dat.salt, C.SALT_LEN) ??
    sizeError("dat.work", dat.work, C.WORK_LEN) ??
    sizeError("dat.sig", dat.sig, C.SIG_LEN) ??
    sizeError("dat.pubKey", dat.pubKey, C.PUBKEY_LEN)
  if (bad) return bad
  if (dat.time < 0n || dat.time > U64_MAX) return new EncodeError({ reason: "OutOfRange", field: "dat.time", detail: "not a u64" })
  if (dat.key.length > C.MAX_KEY_LEN) {
    return new EncodeError({ reason: "KeyTooLong", field: "dat.key", detail: `${dat.key.length} bytes, at most ${C.MAX_KEY_LEN}` })
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
    return new EncodeError({ reason: "BadFieldSize", field: "replicas", detail: `${entry.replicas.length} IDs, expected ${C.FANOUT}` })
  }
  for (const id of entry.replicas) {
    if (id < 0n || id > U64_MAX) return new EncodeError({ reason: "OutOfRange", field: "replicas", detail: "not a u64" })
  }
  return datError(entry.dat)
}

const addrError = (field: string, addr: AddrPort) =>
  sizeError(`${field}.ip`, addr.ip, C.IP_LEN) ??
  (Number.isInteger(addr.port) && addr.port >= 0 && addr.port <= 0xffff
    ? undefined
    : new EncodeError({ reason: "OutOfRange", field: `${field}.port`, detail: `${addr.port}` }))

/** Checks a message for encoding and returns its encoded length. */
export const encodedLength = (m: Message): Result.Result<number, EncodeError> => {
  switch (m._tag) {
    case "Ping": {
      const bad = sizeError("challenge", m.challenge, C.CHALLENGE_LEN)
      if (bad) return Result.fail(bad)
      for (const [field, x] of [["used", m.used], ["capacity", m.capacity]] as const) {
        if (x < I64_MIN || x > I64_MAX) return failEncode("OutOfRange", field, "not an i64")
      }
      return Result.succeed(C.PING_LEN)
    }
    case "Pong": {
      if (m.addrs.length > C.NPEER_LIMIT) return failEncode("TooManyAddrs", "addrs", `${m.addrs.length}, at most ${C.NPEER_LIMIT}`)
      const bad =
        m.addrs.reduce<EncodeError | undefined>((e, a, i) => e ?? addrError(`addrs[${i}]`, a), undefined) ??
        sizeError("challenge", m.challenge, C.CHALLENGE_LEN) ??
        sizeError("salt", m.salt, C.SALT_LEN) ??
        sizeError("pubKey", m.pubKey, C.PUBKEY_LEN) ??
        sizeError("sig", m.sig, C.SIG_LEN)
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
      if (m.key.length > C.MAX_KEY_LEN) return failEncode("KeyTooLong", "key", `${m.key.length} bytes, at most ${C.MAX_KEY_LEN}`)
      return Result.succeed(C.GET_MIN_LEN + m.key.length)
    }
    case "GetMyAddrPort":
      return Result.succeed(C.GETMYADDRPORT_LEN)
    case "GetMyAddrPortAck": {
      const bad = addrError("addr", m.addr)
      if (bad) return Result.fail(bad)
      return Result.succeed(C.GETMYADDRPORT_ACK_LEN)
    }
  }
}

const writeU16 = (out: Uint8Array, o: number, x: number) => {
  out[o] = x & 0xff
  out[o + 1] = x >>> 8
}

const writeAddr = (out: Uint8Array, o: number, a: AddrPort) => {
  out.set(a.ip, o)
  writeU16(out, o + 16, a.port)
}

/** Writes the entry body (replicas, dat length, dat) at `o`; returns the offset after it. */
const writeEntry = (out: Uint8Array, v: DataView, o: number, entry: Entry): number => {
  const { dat } = entry
  for (let i = 0; i < C.FANOUT; i++) v.setBigUint64(o + i * 8, entry.replicas[i]!, true)
  const datLen = C.DAT_HEADER_LEN + dat.key.length + dat.value.length
  writeU16(out, o + 40, datLen)
  const d = o + 42
  v.setBigUint64(d, dat.time, true)
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

/**
 * Encodes into `out` from offset 0 and returns the length written; `out` must hold at least
 * `encodedLength(m)` bytes (MAX_MSG_LEN always suffices).
 */
export const encodeInto = (m: Message, out: Uint8Array): Result.Result<number, EncodeError> => {
  const length = encodedLength(m)
  if (Result.isFailure(length)) return length
  const n = length.success
  if (out.length < n) return failEncode("BadFieldSize", "out", `buffer of ${out.length} bytes, message needs ${n}`)
  const v = view(out)
  switch (m._tag) {
    case "Ping":
      out[0] = C.Op.Ping
      out.set(m.challenge, 1)
      v.setBigInt64(33, m.used, true)
      v.setBigInt64(41, m.capacity, true)
      break
    case "Pong": {
      out[0] = C.Op.Pong
      out[1] = m.addrs.length * C.ADDR_LEN
      m.addrs.forEach((a, i) => writeAddr(out, 2 + i * C.ADDR_LEN, a))
      const t = 2 + m.addrs.length * C.ADDR_LEN
      out.set(m.challenge, t)
      out.set(m.salt, t + 32)
      out.set(m.pubKey, t + 48)
      out.set(m.sig, t + 80)
      break
    }
    case "Put":
    case "GetAck":
      out[0] = m._tag === "Put" ? C.Op.Put : C.Op.GetAck
      writeU16(out, 1, n - 3)
      writeEntry(out, v, 3, m.entry)
      break
    case "Get":
      out[0] = C.Op.Get
      out.set(m.pubKey, 1)
      out[33] = m.key.length
      out.set(m.key, 34)
      break
    case "GetMyAddrPort":
      out[0] = C.Op.GetMyAddrPort
      break
    case "GetMyAddrPortAck":
      out[0] = C.Op.GetMyAddrPortAck
      writeAddr(out, 1, m.addr)
      break
  }
  return Result.succeed(n)
}

/** Encodes a message into a new buffer of exactly its length. */
export const encode = (m: Message): Result.Result<Uint8Array, EncodeError> => {
  const length = encodedLength(m)
  if (Result.isFailure(length)) return Result.fail(length.failure)
  const out = new Uint8Array(length.success)
  return Result.map(encodeInto(m, out), () => out)
}

/** Encodes an entry as a backup record body: replicas, u16 LE dat length, dat. */
export const encodeEntry = (entry: Entry): Result.Result<Uint8Array, EncodeError> => {
  const bad = entryError(entry)
  if (bad) return Result.fail(bad)
  const out = new Uint8Array(42 + C.DAT_HEADER_LEN + entry.dat.key.length + entry.dat.value.length)
  writeEntry(out, view(out), 0, entry)
  return Result.succeed(out)
}
