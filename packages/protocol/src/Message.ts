import { Schema } from "effect"
import * as C from "./Constants.ts"

/**
 * Typed values of every message. The schemas describe what a valid message holds (field sizes,
 * counts, ranges); `validate` checks a hand-built value against them. The codec produces values of
 * these types directly, without going through Schema, because it runs on every datagram.
 */

const bytes = (length: number) => Schema.Uint8Array.check(Schema.isBetweenLength(length, length))
const U64 = Schema.BigInt.check(Schema.isBetweenBigInt({ minimum: 0n, maximum: (1n << 64n) - 1n }))
const I64 = Schema.BigInt.check(Schema.isBetweenBigInt({ minimum: -(1n << 63n), maximum: (1n << 63n) - 1n }))
const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 0xffff }))

export const AddrPort = Schema.Struct({ ip: bytes(C.IP_LEN), port: Port })

export const Dat = Schema.Struct({
  /** Unix time in milliseconds, u64. */
  time: U64,
  salt: bytes(C.SALT_LEN),
  work: bytes(C.WORK_LEN),
  sig: bytes(C.SIG_LEN),
  /** Author public key: also the namespace of `key`. */
  pubKey: bytes(C.PUBKEY_LEN),
  key: Schema.Uint8Array.check(Schema.isMaxLength(C.MAX_KEY_LEN)),
  value: Schema.Uint8Array.check(Schema.isMaxLength(C.MAX_KEY_VALUE_LEN))
}).check(
  // One PUT carries the whole dat, so key and value share the datagram's room (PROTOCOL.md 2.5).
  Schema.makeFilter((dat) =>
    dat.key.length + dat.value.length <= C.MAX_KEY_VALUE_LEN
      ? undefined
      : {
          path: ["value"],
          issue: `key + value is ${dat.key.length + dat.value.length} bytes, at most ${C.MAX_KEY_VALUE_LEN}`
        }
  )
)
export type Dat = typeof Dat.Type

/** A stored record and the body of PUT and GET_ACK: the dat and its replica node IDs (0 = empty). */
export const Entry = Schema.Struct({
  replicas: Schema.Array(U64).check(Schema.isBetweenLength(C.FANOUT, C.FANOUT)),
  dat: Dat
})
export type Entry = typeof Entry.Type

export const Ping = Schema.TaggedStruct("Ping", {
  challenge: bytes(C.CHALLENGE_LEN),
  /** Bytes used by the sender's store, i64. */
  used: I64,
  /** The sender's store capacity in bytes, i64. */
  capacity: I64
})
export type Ping = typeof Ping.Type

export const Pong = Schema.TaggedStruct("Pong", {
  addrs: Schema.Array(AddrPort).check(Schema.isMaxLength(C.NPEER_LIMIT)),
  challenge: bytes(C.CHALLENGE_LEN),
  salt: bytes(C.SALT_LEN),
  pubKey: bytes(C.PUBKEY_LEN),
  sig: bytes(C.SIG_LEN)
})
export type Pong = typeof Pong.Type

export const Put = Schema.TaggedStruct("Put", { entry: Entry })
export type Put = typeof Put.Type

export const Get = Schema.TaggedStruct("Get", {
  pubKey: bytes(C.PUBKEY_LEN),
  key: Schema.Uint8Array.check(Schema.isMaxLength(C.MAX_KEY_LEN))
})
export type Get = typeof Get.Type

/** The reply to GET: the entry, or a "not found" entry (all-zero signature). */
export const GetAck = Schema.TaggedStruct("GetAck", { entry: Entry })
export type GetAck = typeof GetAck.Type

export const GetMyAddrPort = Schema.TaggedStruct("GetMyAddrPort", {})
export type GetMyAddrPort = typeof GetMyAddrPort.Type

export const GetMyAddrPortAck = Schema.TaggedStruct("GetMyAddrPortAck", { addr: AddrPort })
export type GetMyAddrPortAck = typeof GetMyAddrPortAck.Type

export const Message = Schema.Union([Ping, Pong, Put, Get, GetAck, GetMyAddrPort, GetMyAddrPortAck])
export type Message = typeof Message.Type

/** Checks a hand-built message against the schemas (sizes, counts, ranges). */
export const validate = Schema.decodeUnknownResult(Message)
