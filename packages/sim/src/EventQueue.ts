/**
 * The simulation's pending events, earliest first: a binary min-heap on (timeMs, seq). `seq` is the
 * order of scheduling, so events due at the same instant fire in the order they were scheduled and
 * a run never depends on anything but its own history. Cancelled events stay in the heap and are
 * skipped when they reach the top (a cancelled read timeout is the common case; removing it at
 * once would cost a search).
 *
 * Hand-written: effect has no priority queue, and this is the simulator's hottest structure.
 */

export interface Event {
  readonly timeMs: number
  readonly seq: number
  readonly fire: () => void
  cancelled: boolean
}

const before = (a: Event, b: Event): boolean => a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq)

export class EventQueue {
  readonly #heap: Array<Event> = []
  #seq = 0
  #live = 0
  readonly maxEvents: number

  constructor(maxEvents: number) {
    this.maxEvents = maxEvents
  }

  /** Events scheduled and not yet fired or cancelled. */
  get size(): number {
    return this.#live
  }

  /** Schedules `fire` at `timeMs`; undefined when `maxEvents` are pending (the caller counts it). */
  push(timeMs: number, fire: () => void): Event | undefined {
    if (this.#heap.length >= this.maxEvents) this.#compact()
    if (this.#heap.length >= this.maxEvents) return undefined
    const event: Event = { timeMs, seq: this.#seq++, fire, cancelled: false }
    const heap = this.#heap
    let i = heap.length
    heap.push(event)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(event, heap[parent]!)) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = event
    this.#live++
    return event
  }

  cancel(event: Event): void {
    if (event.cancelled) return
    event.cancelled = true
    this.#live--
  }

  /** The earliest live event's time, or undefined when none is pending. */
  peekTimeMs(): number | undefined {
    this.#dropCancelled()
    return this.#heap[0]?.timeMs
  }

  /** Removes and returns the earliest live event. */
  pop(): Event | undefined {
    this.#dropCancelled()
    const top = this.#heap[0]
    if (top === undefined) return undefined
    this.#removeTop()
    this.#live--
    // Marked so that a late `cancel` of a fired event does not count it twice.
    top.cancelled = true
    return top
  }

  #dropCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#removeTop()
  }

  #removeTop(): void {
    const heap = this.#heap
    const last = heap.pop()!
    const n = heap.length
    if (n === 0) return
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left
      if (!before(heap[child]!, last)) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = last
  }

  /** Rebuilds the heap without its cancelled events. */
  #compact(): void {
    const live = this.#heap.filter((e) => !e.cancelled)
    live.sort((a, b) => a.timeMs - b.timeMs || a.seq - b.seq)
    this.#heap.length = 0
    // A sorted array is a valid heap.
    for (const e of live) this.#heap.push(e)
  }
}
