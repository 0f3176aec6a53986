import { Data } from "effect"

/**
 * What `put` did with an accepted entry. Rejections are the error channel (EntryRejected), so a
 * caller that only cares about success writes `Effect.catchTag("EntryRejected", ...)`, and the
 * type says every reason it may see. A duplicate is not an error: the store already holds exactly
 * this dat, which is what the sender wanted.
 */
export type PutAccepted =
  /** A new (public key, key) slot; `evicted` lower-ranked entries made room for it. */
  | { readonly _tag: "Inserted"; readonly evicted: number }
  /** A newer version replaced the stored one; `evicted` entries made room if it grew. */
  | { readonly _tag: "Replaced"; readonly evicted: number }
  /** The stored dat is identical (replicas are not compared: see ShardStore.setReplicas). */
  | { readonly _tag: "Duplicate" }

export const inserted = (evicted: number): PutAccepted => ({ _tag: "Inserted", evicted })
export const replaced = (evicted: number): PutAccepted => ({ _tag: "Replaced", evicted })
export const duplicate: PutAccepted = { _tag: "Duplicate" }

/**
 * Why an entry was refused.
 * - Malformed: a field has the wrong size or range (what Codec.encodeEntry refuses).
 * - TimeOutOfRange: time + TTL is not below 2^53 ms (about 285,000 years from 1970).
 * - Expired: time + TTL is not after now.
 * - TooLarge: the accounted size (key + value + 224) exceeds the whole capacity.
 * - Stale: the stored version of the slot ranks higher (later time, or equal time and greater work).
 * - OtherAuthor: the slot (64-bit hash) holds another author's entry.
 * - KeyCollision: the slot holds the same author's entry under a different key.
 * - RanksLowest: the store is full and the entry ranks lower than what it would have to evict.
 */
export type RejectReason =
  | "Malformed"
  | "TimeOutOfRange"
  | "Expired"
  | "TooLarge"
  | "Stale"
  | "OtherAuthor"
  | "KeyCollision"
  | "RanksLowest"

export const REJECT_REASONS: ReadonlyArray<RejectReason> = [
  "Malformed",
  "TimeOutOfRange",
  "Expired",
  "TooLarge",
  "Stale",
  "OtherAuthor",
  "KeyCollision",
  "RanksLowest"
]

export class EntryRejected extends Data.TaggedError("EntryRejected")<{
  readonly reason: RejectReason
  readonly detail: string
}> {
  override get message(): string {
    return `entry rejected (${this.reason}): ${this.detail}`
  }
}

/**
 * Builds an EntryRejected without a stack trace. Rejections are expected outcomes that arrive at
 * network rates (stale or duplicate PUTs, a full store), not bugs to trace: capturing the stack
 * made each one cost about 6 µs, more than the put itself (0.9 µs without).
 */
export const rejection = (reason: RejectReason, detail: string): EntryRejected => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new EntryRejected({ reason, detail })
  } finally {
    Error.stackTraceLimit = limit
  }
}
