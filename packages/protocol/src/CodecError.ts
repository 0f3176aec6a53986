import { Data } from "effect"

/** Why a byte string is not a message. */
export type DecodeReason =
  | "Empty"
  | "TooLong"
  | "UnknownOp"
  | "ReservedOp"
  | "Truncated"
  | "TrailingBytes"
  | "BadLength"
  | "TooManyAddrs"

/**
 * A byte string that is not a valid message, with the field and byte offset at fault. A plain data
 * class, not an Error: decoding runs on every datagram, hostile ones included, and capturing a stack
 * for each would make a flood of garbage expensive.
 */
export class DecodeError extends Data.TaggedClass("DecodeError")<{
  readonly reason: DecodeReason
  readonly field: string
  readonly offset: number
  readonly detail: string
}> {
  get message(): string {
    return `${this.reason} at ${this.field} (offset ${this.offset}): ${this.detail}`
  }
}

/** Why a message value cannot be encoded. */
export type EncodeReason = "BadFieldSize" | "KeyTooLong" | "ValueTooLong" | "TooManyAddrs" | "OutOfRange"

export class EncodeError extends Data.TaggedError("EncodeError")<{
  readonly reason: EncodeReason
  readonly field: string
  readonly detail: string
}> {
  override get message(): string {
    return `${this.reason} at ${this.field}: ${this.detail}`
  }
}
