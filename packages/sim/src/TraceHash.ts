import type { AddrPort } from "@dave/protocol"

/**
 * A running 64-bit FNV-1a digest of a run: every delivered datagram and TCP frame (time, from, to,
 * bytes) and every crash, restart, partition and heal goes in, so two runs with the same digest
 * delivered the same bytes at the same instants. Payloads go in 32-bit words (a final partial word
 * byte by byte), which is FNV-1a with a wider input unit: a quarter of the multiplications.
 *
 * Hand-written: FNV-1a over two 32-bit halves needs no BigInt and no WASM call per datagram, and the
 * trace must be cheap enough to stay on for every run. The 64-bit prime is 2^40 + 0x1b3, so
 * h × prime = h × 0x1b3 + (h << 40), done below in halves.
 */
export class TraceHash {
  #hi = 0xcbf29ce4
  #lo = 0x84222325
  #records = 0

  get records(): number {
    return this.#records
  }

  #byte(b: number): void {
    this.#word(b)
  }

  /** XORs `x` (up to 32 bits) into the low half, then multiplies by the FNV prime. */
  #word(x: number): void {
    const lo = (this.#lo ^ x) >>> 0
    const product = lo * 0x1b3
    const carry = Math.floor(product / 4294967296)
    this.#hi = (Math.imul(this.#hi, 0x1b3) + carry + (lo << 8)) >>> 0
    this.#lo = product >>> 0
  }

  #uint32(x: number): void {
    this.#byte(x & 0xff)
    this.#byte((x >>> 8) & 0xff)
    this.#byte((x >>> 16) & 0xff)
    this.#byte((x >>> 24) & 0xff)
  }

  #number(x: number): void {
    this.#uint32(x >>> 0)
    this.#uint32(Math.floor(x / 4294967296) >>> 0)
  }

  #bytes(b: Uint8Array): void {
    this.#uint32(b.length)
    const words = b.length >>> 2
    for (let w = 0; w < words; w++) {
      const i = w << 2
      this.#word(b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))
    }
    for (let i = words << 2; i < b.length; i++) this.#byte(b[i]!)
  }

  #addr(a: AddrPort): void {
    for (let i = 0; i < a.ip.length; i++) this.#byte(a.ip[i]!)
    this.#uint32(a.port)
  }

  /** Mixes in raw bytes (no length, no record count): what the FNV test vectors hash. */
  raw(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.#byte(bytes[i]!)
  }

  /** A delivered datagram (`kind` 0) or TCP frame (`kind` 1). */
  delivery(kind: 0 | 1, timeMs: number, from: AddrPort, to: AddrPort, payload: Uint8Array): void {
    this.#records++
    this.#byte(kind)
    this.#number(timeMs)
    this.#addr(from)
    this.#addr(to)
    this.#bytes(payload)
  }

  /** A scenario event: a crash, restart, partition... named by `label`. */
  event(timeMs: number, label: string, detail: number): void {
    this.#records++
    this.#byte(2)
    this.#number(timeMs)
    for (let i = 0; i < label.length; i++) this.#uint32(label.charCodeAt(i))
    this.#number(detail)
  }

  /** The digest as 16 hex digits. */
  hex(): string {
    return this.#hi.toString(16).padStart(8, "0") + this.#lo.toString(16).padStart(8, "0")
  }
}
