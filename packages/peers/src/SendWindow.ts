/**
 * Counts sends in a sliding window: at most `limit` sends in any `windowMs`. Keeps the times of the
 * last `limit` sends in a ring; a send is allowed when the ring is not full or its oldest entry has
 * left the window.
 */
export class SendWindow {
  readonly limit: number
  readonly windowMs: number
  readonly #times: Array<number>
  #next = 0
  #count = 0

  constructor(limit: number, windowMs: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError("limit must be a positive integer")
    this.limit = limit
    this.windowMs = windowMs
    this.#times = new Array<number>(limit).fill(0)
  }

  canSend(nowMs: number): boolean {
    return this.#count < this.limit || this.#times[this.#next]! <= nowMs - this.windowMs
  }

  /** Records a send; the caller checks `canSend` first. */
  record(nowMs: number): void {
    this.#times[this.#next] = nowMs
    this.#next = (this.#next + 1) % this.limit
    if (this.#count < this.limit) this.#count++
  }
}
