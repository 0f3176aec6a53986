import type { Slots } from "./Slots.ts"

/**
 * One shard's map from the full 64-bit hash to a slot: open addressing with linear probing over an
 * Int32Array of slot + 1 (0 = empty), deletion by backward shift (no tombstones). Written by hand
 * because a JS Map cannot key on 64 bits without a bigint or a string per entry: measured at 1 M
 * entries, Map<bigint> costs 97 B of RSS per entry, Map<string> 119 B, Map<number> (53 bits only)
 * 88 B, against 6 to 11 B for this table plus the 8 B of hash kept in Slots. Load stays between
 * 1/8 and 7/10.
 */

const MIN_SIZE = 16

export class ShardIndex {
  private table = new Int32Array(MIN_SIZE)
  private mask = MIN_SIZE - 1
  private count = 0
  private readonly slots: Slots

  constructor(slots: Slots) {
    this.slots = slots
  }

  get size(): number {
    return this.count
  }

  /** The slot holding this hash, or -1. */
  find(hashHi: number, hashLo: number): number {
    const { table, mask } = this
    const { hashHi: his, hashLo: los } = this.slots
    // Bounded: the table always has an empty cell (load <= 7/10).
    for (let i = hashLo & mask; ; i = (i + 1) & mask) {
      const cell = table[i]!
      if (cell === 0) return -1
      const slot = cell - 1
      if (los[slot] === hashLo && his[slot] === hashHi) return slot
    }
  }

  /** Adds a slot whose hash is not in the table. */
  insert(slot: number): void {
    if ((this.count + 1) * 10 > this.table.length * 7) this.rehash(this.table.length * 2)
    this.place(this.table, this.mask, slot)
    this.count++
  }

  /** Points the cell of `oldSlot` at `newSlot`, which has the same hash. */
  replace(oldSlot: number, newSlot: number): void {
    this.table[this.position(oldSlot)] = newSlot + 1
  }

  remove(slot: number): void {
    const { table, mask } = this
    const los = this.slots.hashLo
    let hole = this.position(slot)
    // Backward shift: move later cells of the run into the hole when their home allows it.
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = los[table[j]! - 1]! & mask
      const movable = hole <= j ? home <= hole || home > j : home <= hole && home > j
      if (movable) {
        table[hole] = table[j]!
        hole = j
      }
    }
    table[hole] = 0
    this.count--
    if (this.table.length > MIN_SIZE && this.count * 8 < this.table.length) this.rehash(this.table.length / 2)
  }

  /** Every slot of the shard, in table order. */
  slotsInShard(): Array<number> {
    const out: Array<number> = []
    for (const cell of this.table) if (cell !== 0) out.push(cell - 1)
    return out
  }

  private position(slot: number): number {
    const { table, mask } = this
    for (let i = this.slots.hashLo[slot]! & mask; ; i = (i + 1) & mask) {
      const cell = table[i]!
      if (cell === slot + 1) return i
      if (cell === 0) throw new Error(`ShardIndex: slot ${slot} is not in its shard`)
    }
  }

  private place(table: Int32Array, mask: number, slot: number): void {
    let i = this.slots.hashLo[slot]! & mask
    while (table[i] !== 0) i = (i + 1) & mask
    table[i] = slot + 1
  }

  private rehash(size: number): void {
    const next = new Int32Array(size)
    for (const cell of this.table) if (cell !== 0) this.place(next, size - 1, cell - 1)
    this.table = next
    this.mask = size - 1
  }
}
