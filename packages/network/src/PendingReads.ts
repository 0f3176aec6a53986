import { Address, type AddrPort, type Entry } from "@dave/protocol"

/**
 * Reads waiting for GET_ACKs. A read registers the slot it asks for (author public key and key) and
 * the addresses it asked; an answer is delivered only to reads that asked that address for that
 * slot, so a stray or spoofed GET_ACK from elsewhere is dropped.
 */

export interface Answer {
  readonly from: AddrPort
  readonly entry: Entry
  /** Signature and work check out, and it is not a "not found". */
  readonly valid: boolean
}

interface Waiter {
  readonly asked: ReadonlySet<string>
  readonly onAnswer: (answer: Answer) => void
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex")

/** The map key of a slot: hex of the author key, then hex of the key. */
export const slotKey = (pubKey: Uint8Array, key: Uint8Array): string => `${hex(pubKey)}:${hex(key)}`

export class PendingReads {
  private readonly waiters = new Map<string, Set<Waiter>>()
  private count = 0
  readonly maxPending: number

  constructor(maxPending: number) {
    this.maxPending = maxPending
  }

  get size(): number {
    return this.count
  }

  /**
   * Registers a read; returns the function that unregisters it, or undefined when `maxPending`
   * reads are already waiting (the caller fails the read rather than queue without bound).
   */
  register(
    pubKey: Uint8Array,
    key: Uint8Array,
    asked: ReadonlyArray<AddrPort>,
    onAnswer: (answer: Answer) => void
  ): (() => void) | undefined {
    if (this.count >= this.maxPending) return undefined
    const slot = slotKey(pubKey, key)
    const waiter: Waiter = { asked: new Set(asked.map(Address.key)), onAnswer }
    let set = this.waiters.get(slot)
    if (set === undefined) {
      set = new Set()
      this.waiters.set(slot, set)
    }
    set.add(waiter)
    this.count++
    let done = false
    return () => {
      if (done) return
      done = true
      this.count--
      set.delete(waiter)
      if (set.size === 0) this.waiters.delete(slot)
    }
  }

  /** Whether a read waits for `from`'s answer about this slot (checked before verifying it). */
  wants(from: AddrPort, pubKey: Uint8Array, key: Uint8Array): boolean {
    const set = this.waiters.get(slotKey(pubKey, key))
    if (set === undefined) return false
    const fromKey = Address.key(from)
    for (const waiter of set) if (waiter.asked.has(fromKey)) return true
    return false
  }

  /** Hands a GET_ACK to every read that asked `from` for its slot; returns how many took it. */
  deliver(answer: Answer): number {
    const set = this.waiters.get(slotKey(answer.entry.dat.pubKey, answer.entry.dat.key))
    if (set === undefined) return 0
    const fromKey = Address.key(answer.from)
    let taken = 0
    for (const waiter of set) {
      if (!waiter.asked.has(fromKey)) continue
      waiter.onAnswer(answer)
      taken++
    }
    return taken
  }
}
