/**
 * GETs held while a PUT of the same slot waits for verification. A writer confirms a PUT by asking
 * each replica for it right after sending it; answered at once, that GET would overtake the PUT
 * queued for verification and say "not found", and the writer would ask again later. Held here, it
 * is answered as soon as the PUTs of its slot that were queued when it came are done (stored or
 * refused); PUTs queued after it do not hold it longer, so a stream of PUTs for one slot cannot
 * starve its readers. Bounded in all and per slot: beyond either bound a GET is answered at once.
 */

interface Slot<A> {
  /** PUTs of the slot in the verification queue. */
  queued: number
  /** Sequence number of the last of them. */
  lastSeq: number
  /** In the order they came, so `untilSeq` never decreases along the list. */
  readonly held: Array<{ readonly get: A; readonly untilSeq: number }>
}

export class HeldGets<A> {
  readonly maxHeld: number
  readonly maxPerSlot: number
  readonly #slots = new Map<string, Slot<A>>()
  #nextSeq = 0
  #heldCount = 0

  constructor(options: { readonly maxHeld: number; readonly maxPerSlot: number }) {
    this.maxHeld = options.maxHeld
    this.maxPerSlot = options.maxPerSlot
  }

  /** GETs held now. */
  get size(): number {
    return this.#heldCount
  }

  /** Whether any PUT waits for verification (the cheap test before computing a GET's slot). */
  get anyQueued(): boolean {
    return this.#slots.size > 0
  }

  /** A PUT of `slot` entered the (first in, first out) verification queue; its sequence number. */
  putQueued(slot: string): number {
    const seq = ++this.#nextSeq
    const s = this.#slots.get(slot)
    if (s === undefined) this.#slots.set(slot, { queued: 1, lastSeq: seq, held: [] })
    else {
      s.queued++
      s.lastSeq = seq
    }
    return seq
  }

  /** Holds `get` until the PUTs of `slot` queued so far are done; false: answer it now. */
  hold(slot: string, get: A): boolean {
    const s = this.#slots.get(slot)
    if (s === undefined || s.queued === 0 || this.#heldCount >= this.maxHeld || s.held.length >= this.maxPerSlot)
      return false
    s.held.push({ get, untilSeq: s.lastSeq })
    this.#heldCount++
    return true
  }

  /** The PUT `seq` of `slot` is done (and every one queued before it); the GETs to answer now. */
  putDone(slot: string, seq: number): ReadonlyArray<A> {
    const s = this.#slots.get(slot)
    if (s === undefined) return []
    s.queued = Math.max(0, s.queued - 1)
    let n = 0
    while (n < s.held.length && s.held[n]!.untilSeq <= seq) n++
    const released = s.held.splice(0, n).map((h) => h.get)
    this.#heldCount -= released.length
    if (s.queued === 0) {
      // Nothing queued is left, so nothing can still hold a GET (each waited for a queued PUT).
      for (const h of s.held) released.push(h.get)
      this.#heldCount -= s.held.length
      this.#slots.delete(slot)
    }
    return released
  }
}
