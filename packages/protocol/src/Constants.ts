/**
 * Wire constants of the Dave protocol (reference v0.0.51). Sizes are in bytes, times in milliseconds.
 */

/** Largest datagram either side sends or reads. */
export const MAX_MSG_LEN = 1424
/** Replicas per entry, and peers asked per read. */
export const FANOUT = 5
/** Most addresses a PONG may list. */
export const NPEER_LIMIT = 12
/** Least proof-of-work difficulty (leading zero bits) accepted. */
export const MIN_WORK = 8

export const CHALLENGE_LEN = 32
export const SALT_LEN = 16
export const WORK_LEN = 32
export const SIG_LEN = 64
export const PUBKEY_LEN = 32
export const IP_LEN = 16
/** 16-byte IPv6 address and u16 LE port. */
export const ADDR_LEN = 18

/** time + salt + work + sig + pubkey + key length + value length. */
export const DAT_HEADER_LEN = 155
/** op + entry length + replicas + dat length. */
export const ENTRY_HEADER_LEN = 45
/** Bytes a PUT adds to key + value. */
export const PUT_OVERHEAD = ENTRY_HEADER_LEN + DAT_HEADER_LEN
/** Largest entry record (replicas, dat length, dat): a PUT without its 3-byte op and length header. */
export const MAX_ENTRY_LEN = MAX_MSG_LEN - 3
/** Largest key. */
export const MAX_KEY_LEN = 255
/** Largest key + value a conforming sender can put in one PUT. */
export const MAX_KEY_VALUE_LEN = MAX_MSG_LEN - PUT_OVERHEAD
/** Accounted store size of an entry beyond its key and value. */
export const ENTRY_SIZE_OVERHEAD = 224

export const PING_LEN = 1 + CHALLENGE_LEN + 8 + 8
/** PONG fields after the address list: challenge, salt, public key, signature. */
export const PONG_TAIL_LEN = CHALLENGE_LEN + SALT_LEN + PUBKEY_LEN + SIG_LEN
export const PONG_MIN_LEN = 2 + PONG_TAIL_LEN
export const PONG_MAX_LEN = PONG_MIN_LEN + NPEER_LIMIT * ADDR_LEN
export const GET_MIN_LEN = 1 + PUBKEY_LEN + 1
export const GETMYADDRPORT_LEN = 1
export const GETMYADDRPORT_ACK_LEN = 1 + ADDR_LEN

export const PING_INTERVAL_MS = 1_000
export const ACTIVATE_AFTER_MS = 5_000
export const DEACTIVATE_AFTER_MS = 3_000
export const DROP_AFTER_MS = 12_000
export const GETMYADDRPORT_EVERY_MS = 10 * 60_000
export const REPLICATE_EVERY_MS = 10 * 60_000
export const TTL_MS = 365 * 24 * 60 * 60_000
export const TCP_READ_DEADLINE_MS = 1_000
export const STORAGE_CHALLENGE_EVERY_MS = 10_000

/** Op codes: the first byte of every message. */
export const Op = {
  Ping: 0,
  Pong: 1,
  Put: 2,
  /** Defined by the reference, never sent, cannot be encoded. */
  PutAck: 3,
  Get: 4,
  GetAck: 5,
  GetMyAddrPort: 6,
  GetMyAddrPortAck: 7
} as const
export type Op = (typeof Op)[keyof typeof Op]

/**
 * The time field of a reference "not found" GET_ACK: Go's zero `time.Time` in Unix milliseconds,
 * as a u64. Receivers must ignore it; we send the same bytes so our replies match the reference.
 */
export const NOT_FOUND_TIME = 0xfffff9d1d4b549c9n
