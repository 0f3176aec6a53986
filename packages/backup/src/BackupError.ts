import type { EncodeError } from "@dave/protocol"
import { Data } from "effect"

/** A cause's message for error text; never throws (some causes have no string conversion). */
const causeText = (cause: unknown): string => {
  if (typeof cause === "string") return cause
  if (typeof cause === "object" && cause !== null && "message" in cause && typeof cause.message === "string") {
    return cause.message
  }
  return Object.prototype.toString.call(cause)
}

/** The backup file or its directory could not be opened, created, repaired or read at start. */
export class BackupOpenError extends Data.TaggedError("BackupOpenError")<{
  readonly path: string
  readonly operation: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `cannot ${this.operation} backup ${this.path}: ${causeText(this.cause)}`
  }
}

/**
 * An existing, non-empty file that is not a backup of ours (or whose header is damaged). It is never
 * overwritten: the operator decides. `found` is the hex of its first bytes.
 */
export class BadHeader extends Data.TaggedError("BadHeader")<{
  readonly path: string
  readonly reason: "Truncated" | "BadMagic" | "BadChecksum" | "UnknownFlags"
  readonly found: string
}> {
  override get message(): string {
    return `${this.path} is not a dave backup (${this.reason}; starts with ${this.found || "nothing"})`
  }
}

/** A backup written by a newer (or unknown) format version. Never overwritten. */
export class UnsupportedVersion extends Data.TaggedError("UnsupportedVersion")<{
  readonly path: string
  readonly version: number
  readonly supported: number
}> {
  override get message(): string {
    return `${this.path} has backup format version ${this.version}, this node reads version ${this.supported}`
  }
}

/** Reading records failed at the file-system level (not damaged records, which are skipped). */
export class BackupReadError extends Data.TaggedError("BackupReadError")<{
  readonly path: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `cannot read backup ${this.path}: ${causeText(this.cause)}`
  }
}

/** A write, fsync, rename or directory fsync failed. Unwritten records stay queued for the next flush. */
export class BackupWriteError extends Data.TaggedError("BackupWriteError")<{
  readonly path: string
  readonly operation: "open" | "write" | "sync" | "rename" | "syncDirectory"
  readonly cause: unknown
}> {
  override get message(): string {
    return `backup ${this.operation} failed for ${this.path}: ${causeText(this.cause)}`
  }
}

/** The entry cannot be encoded (wrong field sizes): it was never a valid entry, so it is not logged. */
export class BackupEntryError extends Data.TaggedError("BackupEntryError")<{
  readonly cause: EncodeError
}> {
  override get message(): string {
    return `entry not logged: ${this.cause.message}`
  }
}

/** `append` after the service shut down (its scope closed). */
export class BackupClosedError extends Data.TaggedError("BackupClosedError")<{
  readonly path: string
}> {
  override get message(): string {
    return `backup ${this.path} is closed`
  }
}

/** Why a backup cannot be opened or restored. */
export type OpenError = BackupOpenError | BadHeader | UnsupportedVersion
export type RestoreError = BackupReadError | BadHeader | UnsupportedVersion
