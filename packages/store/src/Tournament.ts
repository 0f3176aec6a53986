import { less, overtakeMs } from "./Priority.ts"
import type { Slots } from "./Slots.ts"

/**
 * A kinetic tournament tree: the lowest-priority slot of the whole store at the current time,
 * although priorities decay with time and change order (a heap keyed on a snapshot goes stale:
 * reference defect 11).
 *
 * Layout: a complete binary tree in arrays; leaf `leaves + s` holds slot s (or -1), node i has
 * children 2i and 2i+1. `winner[i]` is the lowest slot of the subtree, `meltMs[i]` the earliest time
 * at which a comparison inside the subtree may change (Priority.overtakeMs).
 *
 * Invariant (after `advance(t)`, for the store clock t, which never goes back): for every node i,
 * winner[i] is the lowest non-empty leaf of its subtree at every time in [t, meltMs[i]), and
 * meltMs[i] > t. `advance` re-runs the comparisons whose certificate expired, children first;
 * `set` recomputes one leaf's path. Both need every node's meltMs > t, so callers advance first.
 * Cost: O(log n) per set, plus the comparisons that actually changed (amortised O(log² n)).
 */
export class Tournament {
  private leaves: number
  private winner: Int32Array
  private meltMs: Float64Array
  private readonly slots: Slots

  constructor(slots: Slots) {
    this.slots = slots
    this.leaves = slots.capacity
    this.winner = new Int32Array(2 * this.leaves).fill(-1)
    this.meltMs = new Float64Array(2 * this.leaves).fill(Number.POSITIVE_INFINITY)
  }

  /** The lowest-priority slot at the time of the last `advance`, or -1 when empty. */
  get lowest(): number {
    return this.winner[1]!
  }

  /** Brings every comparison up to `nowMs`. */
  advance(nowMs: number): void {
    if (this.meltMs[1]! <= nowMs) this.refresh(1, nowMs)
  }

  /** Puts slot s in (present) or takes it out of the tournament, at `nowMs` (after `advance`). */
  set(slot: number, present: boolean, nowMs: number): void {
    let i = this.leaves + slot
    this.winner[i] = present ? slot : -1
    // A node whose winner and melt time did not change leaves its ancestors as they were.
    for (i >>= 1; i >= 1; i >>= 1) if (!this.compare(i, nowMs)) return
  }

  /** Follows a growth of the slot arrays: a tree with as many leaves, rebuilt at `nowMs`. */
  resize(nowMs: number): void {
    const old = this.winner
    const oldLeaves = this.leaves
    this.leaves = this.slots.capacity
    this.winner = new Int32Array(2 * this.leaves).fill(-1)
    this.meltMs = new Float64Array(2 * this.leaves).fill(Number.POSITIVE_INFINITY)
    this.winner.set(old.subarray(oldLeaves, 2 * oldLeaves), this.leaves)
    for (let i = this.leaves - 1; i >= 1; i--) this.compare(i, nowMs)
  }

  /** Recursion depth is the tree height (at most 32). */
  private refresh(i: number, nowMs: number): void {
    if (i >= this.leaves || this.meltMs[i]! > nowMs) return
    this.refresh(2 * i, nowMs)
    this.refresh(2 * i + 1, nowMs)
    this.compare(i, nowMs)
  }

  /** Recomputes node i from its children; whether its winner or melt time changed. */
  private compare(i: number, nowMs: number): boolean {
    const before = this.winner[i]!
    const beforeMs = this.meltMs[i]!
    const left = 2 * i
    const right = left + 1
    const a = this.winner[left]!
    const b = this.winner[right]!
    let certificateMs = Number.POSITIVE_INFINITY
    if (a < 0) this.winner[i] = b
    else if (b < 0) this.winner[i] = a
    else if (less(this.slots, a, b, nowMs)) {
      this.winner[i] = a
      certificateMs = overtakeMs(this.slots, a, b, nowMs)
    } else {
      this.winner[i] = b
      certificateMs = overtakeMs(this.slots, b, a, nowMs)
    }
    this.meltMs[i] = Math.min(certificateMs, this.meltMs[left]!, this.meltMs[right]!)
    return this.winner[i] !== before || this.meltMs[i] !== beforeMs
  }
}
