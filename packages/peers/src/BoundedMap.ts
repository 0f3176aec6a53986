/**
 * A Map with a maximum size that evicts its least recently written entry. Written by hand because the
 * bookkeeping maps of the peer table need a synchronous, allocation-free LRU, and effect's caches are
 * effectful; a JavaScript Map keeps insertion order, so delete-then-set moves a key to the newest end.
 */
export class BoundedMap<K, V> {
  readonly maxSize: number
  readonly #map = new Map<K, V>()
  /** The key written last, if it is still in the map: rewriting it needs no reordering. */
  #newest: K | undefined = undefined

  constructor(maxSize: number) {
    if (!Number.isInteger(maxSize) || maxSize < 1) throw new RangeError(`maxSize must be a positive integer`)
    this.maxSize = maxSize
  }

  get size(): number {
    return this.#map.size
  }

  get(key: K): V | undefined {
    return this.#map.get(key)
  }

  has(key: K): boolean {
    return this.#map.has(key)
  }

  /** Stores `value` as the newest entry; returns the evicted key, if the map was full. */
  set(key: K, value: V): K | undefined {
    // The same source sending again (every datagram is counted here) is already the newest entry.
    if (this.#newest === key && this.#map.has(key)) {
      this.#map.set(key, value)
      return undefined
    }
    this.#map.delete(key)
    this.#map.set(key, value)
    this.#newest = key
    if (this.#map.size <= this.maxSize) return undefined
    const oldest = this.#map.keys().next().value as K
    this.#map.delete(oldest)
    return oldest
  }

  delete(key: K): boolean {
    if (this.#newest === key) this.#newest = undefined
    return this.#map.delete(key)
  }

  clear(): void {
    this.#newest = undefined
    this.#map.clear()
  }

  entries(): IterableIterator<[K, V]> {
    return this.#map.entries()
  }
}
