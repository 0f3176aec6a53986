/**
 * The per-entry index fields of the whole store, one slot per entry, as parallel typed arrays: a
 * million entries as JS objects would cost several hundred bytes each, these cost 28 bytes a slot.
 * The record bytes themselves live in the shard arenas (RecordArena).
 *
 * Fields of slot s:
 * - hashHi/hashLo: XXH64(public key ‖ key), unique among live slots (the shard is hashHi >>> 24).
 * - distHi/distLo: XOR distance of the author's node ID to ours, a u64.
 * - expiryMs: dat.time + TTL, an exact integer (times are kept below 2^53).
 * - recordOffset: where the record starts in its shard's arena; for a free slot, the next free slot.
 */
export class Slots {
  capacity: number
  hashHi: Uint32Array
  hashLo: Uint32Array
  distHi: Uint32Array
  distLo: Uint32Array
  expiryMs: Float64Array
  recordOffset: Uint32Array
  /** Head of the free list threaded through recordOffset; -1 when empty. */
  private freeHead = -1
  /** Slots below this index have been handed out at least once. */
  private used = 0

  constructor(capacity: number) {
    this.capacity = capacity
    this.hashHi = new Uint32Array(capacity)
    this.hashLo = new Uint32Array(capacity)
    this.distHi = new Uint32Array(capacity)
    this.distLo = new Uint32Array(capacity)
    this.expiryMs = new Float64Array(capacity)
    this.recordOffset = new Uint32Array(capacity)
  }

  /** Whether `allocate` would need to grow the arrays first. */
  get isFull(): boolean {
    return this.freeHead < 0 && this.used === this.capacity
  }

  /** Hands out a free slot; the caller grows the arrays first when `isFull`. */
  allocate(): number {
    if (this.freeHead >= 0) {
      const slot = this.freeHead
      const next = this.recordOffset[slot]!
      this.freeHead = next === 0xffffffff ? -1 : next
      return slot
    }
    if (this.used >= this.capacity) throw new Error("Slots.allocate: no free slot (grow first)")
    return this.used++
  }

  release(slot: number): void {
    this.recordOffset[slot] = this.freeHead < 0 ? 0xffffffff : this.freeHead
    this.freeHead = slot
  }

  /** Doubles the capacity, keeping every slot's fields. */
  grow(): void {
    const capacity = this.capacity * 2
    const widen = <T extends Uint32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity)
      next.set(old)
      return next
    }
    this.hashHi = widen(this.hashHi, (n) => new Uint32Array(n))
    this.hashLo = widen(this.hashLo, (n) => new Uint32Array(n))
    this.distHi = widen(this.distHi, (n) => new Uint32Array(n))
    this.distLo = widen(this.distLo, (n) => new Uint32Array(n))
    this.expiryMs = widen(this.expiryMs, (n) => new Float64Array(n))
    this.recordOffset = widen(this.recordOffset, (n) => new Uint32Array(n))
    this.capacity = capacity
  }
}
