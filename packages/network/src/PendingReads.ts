import { NetPrefix } from "@dave/peers"
import type { AddrPort, Entry } from "@dave/protocol"

/**
 * Reads waiting for GET_ACKs. A read registers the slot it asks for (author public key and key) and
 * the addresses it asked; an answer is delivered only to a read that asked that address for that
 * slot, so a stray or spoofed GET_ACK from elsewhere is dropped.
 *
 * A GET_ACK names no request, so when two reads asked one replica for one slot, answers are paired
 * with them in the order they registered (a replica answers its GETs in order): the oldest read
 * still waiting for that replica takes the next answer. Otherwise a read made just after another
 * one ended early could take the answer still on its way to the first, an older version.
 */

export interface Answer {
  readonly from: AddrPort
  readonly entry: Entry
  /** Signature and work check out, and it is not a "not found". */
  readonly valid: boolean
}

interface Waiter {
  /** Addresses asked that have not answered yet. */
  readonly waitingFor: Set<string>
  readonly onAnswer: (answer: Answer) => void
}

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1")

/**
 * The map key of a slot: the author key, then the key, one character per byte (half the length of
 * hex and cheaper to build; computed a few times per message). The author key has a fixed length,
 * so distinct slots never share a key.
 */
export const slotKey = (pubKey: Uint8Array, key: Uint8Array): string => `${latin1(pubKey)}:${latin1(key)}`

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
    const waiter: Waiter = { waitingFor: new Set(asked.map(NetPrefix.addrKey)), onAnswer }
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

  /**
   * Whether a read waits for `from`'s answer about this slot (checked before verifying it); `slot`
   * is `slotKey(pubKey, key)` if the caller has it.
   */
  wants(from: AddrPort, pubKey: Uint8Array, key: Uint8Array, slot: string = slotKey(pubKey, key)): boolean {
    if (this.count === 0) return false
    const set = this.waiters.get(slot)
    if (set === undefined) return false
    const fromKey = NetPrefix.addrKey(from)
    for (const waiter of set) if (waiter.waitingFor.has(fromKey)) return true
    return false
  }

  /**
   * Hands a GET_ACK to the oldest read still waiting for `from`'s answer about its slot; whether one
   * took it. `slot` is the entry's `slotKey` if the caller has it.
   */
  deliver(answer: Answer, slot: string = slotKey(answer.entry.dat.pubKey, answer.entry.dat.key)): boolean {
    const set = this.waiters.get(slot)
    if (set === undefined) return false
    const fromKey = NetPrefix.addrKey(answer.from)
    // A Set iterates in insertion order: the oldest registration first.
    for (const waiter of set) {
      if (!waiter.waitingFor.delete(fromKey)) continue
      waiter.onAnswer(answer)
      return true
    }
    return false
  }
}
