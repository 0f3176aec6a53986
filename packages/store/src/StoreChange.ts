import type { Entry } from "@dave/protocol"

/** Why an entry left the store. Capacity and Expired are evictions; Removed is an explicit remove. */
export type DropReason = "Capacity" | "Expired" | "Removed"

/**
 * An accepted change, as published to `ShardStore.changes` subscribers (the backup logs Stored).
 * Byte fields are copies owned by the event. Events are published after the change is made, so
 * events of concurrent writers may interleave; Stored events commute (a log of them replayed in
 * any order through the convergent rules restores the same versions).
 */
export type StoreChange =
  | {
      readonly _tag: "Stored"
      readonly how: "Inserted" | "Replaced" | "ReplicasSet"
      readonly entry: Entry
      /** The entry in Codec.encodeEntry format (a backup record body). */
      readonly record: Uint8Array
    }
  | {
      readonly _tag: "Dropped"
      readonly reason: DropReason
      readonly pubKey: Uint8Array
      readonly key: Uint8Array
    }
