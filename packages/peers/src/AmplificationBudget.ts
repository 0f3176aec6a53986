import type { AddrPort } from "@dave/protocol"
import { BoundedMap } from "./BoundedMap.ts"
import * as NetPrefix from "./NetPrefix.ts"

/**
 * Byte budget toward unverified addresses (PROTOCOL.md 13.9). Every byte received from an address
 * earns `factor` bytes of credit toward it; credit earned in one `bucketMs` slot expires `windowMs`
 * after the slot began, and sends spend the oldest credit first. Hence, for any interval [a, b]:
 * bytes sent to X in [a, b] <= factor × bytes received from X in [a − windowMs, b].
 * Verified peers and edges bypass this budget; the peer table decides that, not this class.
 */

export interface AmplificationOptions {
  readonly factor: number
  readonly windowMs: number
  readonly bucketMs: number
  /** Most addresses tracked at once; the least recently touched is forgotten (losing its credit). */
  readonly maxTracked: number
}

interface Slot {
  readonly startMs: number
  credit: number
}

export class AmplificationBudget {
  readonly options: AmplificationOptions
  readonly #slots: BoundedMap<string, Array<Slot>>

  constructor(options: AmplificationOptions) {
    if (options.bucketMs <= 0 || options.windowMs < options.bucketMs) throw new RangeError("bad amplification window")
    this.options = options
    this.#slots = new BoundedMap(options.maxTracked)
  }

  #live(key: string, nowMs: number): Array<Slot> | undefined {
    const slots = this.#slots.get(key)
    if (slots === undefined) return undefined
    let expired = 0
    while (expired < slots.length && slots[expired]!.startMs + this.options.windowMs <= nowMs) expired++
    if (expired > 0) slots.splice(0, expired)
    return slots
  }

  noteReceived(from: AddrPort, bytes: number, nowMs: number): void {
    this.noteReceivedKey(NetPrefix.addrKey(from), bytes, nowMs)
  }

  /** `noteReceived` for an address key (`NetPrefix.addrKey`) the caller already computed. */
  noteReceivedKey(key: string, bytes: number, nowMs: number): void {
    if (!(bytes > 0)) return
    const slots = this.#live(key, nowMs) ?? []
    const startMs = Math.floor(nowMs / this.options.bucketMs) * this.options.bucketMs
    const last = slots.at(-1)
    if (last !== undefined && last.startMs === startMs) last.credit += bytes * this.options.factor
    else slots.push({ startMs, credit: bytes * this.options.factor })
    // A clock that steps back could append an older slot; the bound below keeps the array small anyway.
    const maxSlots = Math.ceil(this.options.windowMs / this.options.bucketMs) + 1
    if (slots.length > maxSlots) slots.splice(0, slots.length - maxSlots)
    this.#slots.set(key, slots)
  }

  /** Bytes that may be sent to `to` now. */
  available(to: AddrPort, nowMs: number): number {
    return this.availableKey(NetPrefix.addrKey(to), nowMs)
  }

  availableKey(key: string, nowMs: number): number {
    const slots = this.#live(key, nowMs)
    if (slots === undefined) return 0
    let sum = 0
    for (const slot of slots) sum += slot.credit
    return sum
  }

  /** Spends `bytes` of credit toward `to` if it has that much, oldest credit first. */
  trySpend(to: AddrPort, bytes: number, nowMs: number): boolean {
    return this.trySpendKey(NetPrefix.addrKey(to), bytes, nowMs)
  }

  trySpendKey(key: string, bytes: number, nowMs: number): boolean {
    if (bytes <= 0) return true
    if (this.availableKey(key, nowMs) < bytes) return false
    const slots = this.#slots.get(key)!
    let left = bytes
    while (left > 0 && slots.length > 0) {
      const slot = slots[0]!
      const used = Math.min(slot.credit, left)
      slot.credit -= used
      left -= used
      if (slot.credit === 0) slots.shift()
    }
    return true
  }

  forget(addr: AddrPort): void {
    this.#slots.delete(NetPrefix.addrKey(addr))
  }

  get trackedCount(): number {
    return this.#slots.size
  }
}
