/**
 * The record bytes of one shard, packed in fixed-size pages. A million small Uint8Arrays would
 * cost about twice their bytes in object headers and allocator overhead (measured: 713 B of RSS for
 * a 313-byte record as its own Uint8Array). One growing buffer per shard was tried too: the freed
 * buffers of every growth step fragmented the C heap (RSS 2.3x the bytes held). Pages of one size
 * are reused by every shard (PagePool) and never need copying to grow.
 *
 * A record is a u32 LE header (its slot, or DEAD) followed by the entry record (replicas, u16 LE
 * dat length, dat: Codec.encodeEntry's format), so its length is read from its bytes; it never
 * spans two pages. An offset is page index × PAGE_BYTES + position in the page. Removal marks the
 * header DEAD; when the dead bytes pass a quarter of the live bytes (and a page), the shard is
 * compacted into fresh pages, reporting each record's new offset through `onMove`. So a shard's
 * pages hold at most 5/4 of its live bytes, plus page-end waste (under one record per page, about
 * 1/2 % on average) and one partly filled page; compaction copies 4 bytes per byte freed.
 */

export const PAGE_BYTES = 32 * 1024
/**
 * A page taken when the pool has none starts this small and doubles (copied, at the same offsets)
 * up to PAGE_BYTES as its shard fills: 256 shards of 32 KiB each, on a node that holds a few
 * entries per shard, were 8 MiB of mostly empty pages, and allocating them one per first insert
 * kept a hundred nodes in one process collecting garbage. Only a shard's last page can be short:
 * a page is left behind only once the next record would not fit in PAGE_BYTES.
 */
const FIRST_PAGE_BYTES = 2 * 1024
const PAGE_SHIFT = 15
const PAGE_MASK = PAGE_BYTES - 1
const DEAD = 0xffffffff
const HEADER = 4
/** Offset of the u16 dat length inside an entry record. */
const DAT_LEN_AT = 40
/** The most pages one shard can address with u32 offsets. */
const MAX_PAGES = 2 ** 32 / PAGE_BYTES

const uninitializedPage = (sizeBytes: number): Uint8Array => {
  const buffer = Buffer.allocUnsafeSlow(sizeBytes)
  return new Uint8Array(buffer.buffer, buffer.byteOffset, sizeBytes)
}

/** The page size, a power of two from FIRST_PAGE_BYTES to PAGE_BYTES, that holds `bytes`. */
const pageSizeFor = (bytes: number): number => {
  let size = FIRST_PAGE_BYTES
  while (size < bytes && size < PAGE_BYTES) size *= 2
  return size
}

/** Free pages kept for reuse, at most `limit` of them. */
export class PagePool {
  private readonly free: Array<Uint8Array> = []
  private readonly limit: number

  constructor(limit: number) {
    this.limit = limit
  }

  /** A free full page, or else a new one of at least `minBytes` (short: see FIRST_PAGE_BYTES). */
  take(minBytes: number): Uint8Array {
    // Not zero-filled: every read is bounded by the bytes written (`pageUsed`), exactly as for the
    // recycled pages from `free`, and zeroing 32 KiB was most of the cost of a shard's first insert.
    // A plain Uint8Array over the Buffer's memory: a Buffer's slice() is a view, not a copy.
    return this.free.pop() ?? uninitializedPage(pageSizeFor(minBytes))
  }

  /** A page no longer used; only full pages are kept. */
  give(page: Uint8Array): void {
    if (page.length === PAGE_BYTES && this.free.length < this.limit) this.free.push(page)
  }
}

const recordLength = (page: Uint8Array, at: number): number =>
  HEADER + DAT_LEN_AT + 2 + (page[at + HEADER + DAT_LEN_AT]! | (page[at + HEADER + DAT_LEN_AT + 1]! << 8))

const readHeader = (page: Uint8Array, at: number): number =>
  (page[at]! | (page[at + 1]! << 8) | (page[at + 2]! << 16) | (page[at + 3]! << 24)) >>> 0

const writeHeader = (page: Uint8Array, at: number, slot: number): void => {
  page[at] = slot & 0xff
  page[at + 1] = (slot >>> 8) & 0xff
  page[at + 2] = (slot >>> 16) & 0xff
  page[at + 3] = slot >>> 24
}

export class RecordArena {
  private pages: Array<Uint8Array> = []
  /** Bytes written in each page (records, live or dead). */
  private pageUsed: Array<number> = []
  private liveBytes = 0
  private deadBytes = 0
  private readonly pool: PagePool
  private readonly onMove: (slot: number, offset: number) => void

  constructor(pool: PagePool, onMove: (slot: number, offset: number) => void) {
    this.pool = pool
    this.onMove = onMove
  }

  /** Bytes of the pages held. */
  get sizeBytes(): number {
    let n = 0
    for (const page of this.pages) n += page.length
    return n
  }

  /** Copies an entry record in for `slot` and returns its offset. */
  append(record: Uint8Array, slot: number): number {
    const length = HEADER + record.length
    let last = this.pages.length - 1
    if (last < 0 || this.pageUsed[last]! + length > PAGE_BYTES) {
      if (this.pages.length >= MAX_PAGES) throw new Error("RecordArena: shard exceeds 4 GiB")
      this.pages.push(this.pool.take(length))
      this.pageUsed.push(0)
      last++
    } else if (this.pageUsed[last]! + length > this.pages[last]!.length) {
      this.grow(last, this.pageUsed[last]! + length)
    }
    const page = this.pages[last]!
    const at = this.pageUsed[last]!
    writeHeader(page, at, slot)
    page.set(record, at + HEADER)
    this.pageUsed[last] = at + length
    this.liveBytes += length
    return last * PAGE_BYTES + at
  }

  /** Frees the record at `offset`. */
  free(offset: number): void {
    const page = this.pages[offset >>> PAGE_SHIFT]!
    const at = offset & PAGE_MASK
    writeHeader(page, at, DEAD)
    const length = recordLength(page, at)
    this.liveBytes -= length
    this.deadBytes += length
    if (this.deadBytes > PAGE_BYTES && this.deadBytes * 4 > this.liveBytes) this.compact()
  }

  /** The entry record at `offset`, as a view valid until the next append or free. */
  view(offset: number): Uint8Array {
    const page = this.pages[offset >>> PAGE_SHIFT]!
    const at = offset & PAGE_MASK
    return page.subarray(at + HEADER, at + recordLength(page, at))
  }

  /** Moves a short page's bytes into a larger one, at the same offsets. */
  private grow(index: number, minBytes: number): void {
    const old = this.pages[index]!
    const page = this.pool.take(minBytes)
    page.set(old.subarray(0, this.pageUsed[index]!))
    this.pages[index] = page
    this.pool.give(old)
  }

  /** Copies the live records into fresh pages, in order, and returns the old pages to the pool. */
  private compact(): void {
    const oldPages = this.pages
    const oldUsed = this.pageUsed
    this.pages = []
    this.pageUsed = []
    this.liveBytes = 0
    this.deadBytes = 0
    oldPages.forEach((page, p) => {
      // Bounded: each step advances by a record length (>= 46 bytes) up to the bytes written.
      for (let at = 0; at < oldUsed[p]!; at += recordLength(page, at)) {
        const slot = readHeader(page, at)
        if (slot !== DEAD) this.onMove(slot, this.append(page.subarray(at + HEADER, at + recordLength(page, at)), slot))
      }
    })
    for (const page of oldPages) this.pool.give(page)
  }
}
