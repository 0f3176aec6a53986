import { Dat, type Message } from "@dave/protocol"

/**
 * Dats this node has found valid, so that the same dat arriving again (every replica answering a
 * read, or each confirmation of a write, with the same entry) costs a comparison instead of a
 * signature check. A hit needs every field equal to the remembered copy: the same bytes get the
 * same verdict. Only "Valid" is remembered, and it cannot expire: the one time-dependent check
 * (a time after now) only gets easier. Bounded: the oldest entry makes room for a new one.
 */

const fingerprint = (sig: Uint8Array): string =>
  Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength).toString("latin1")

/** A copy whose fields are views of one buffer (one backing store per remembered dat, not six). */
const copyOf = (dat: Message.Dat): Message.Dat => {
  const fields = [dat.salt, dat.work, dat.sig, dat.pubKey, dat.key, dat.value]
  const bytes = new Uint8Array(fields.reduce((n, f) => n + f.length, 0))
  let at = 0
  const [salt, work, sig, pubKey, key, value] = fields.map((f) => {
    bytes.set(f, at)
    at += f.length
    return bytes.subarray(at - f.length, at)
  }) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array]
  return { time: dat.time, salt, work, sig, pubKey, key, value }
}

const sameDat = (a: Message.Dat, b: Message.Dat): boolean =>
  a.time === b.time &&
  Dat.bytesEqual(a.sig, b.sig) &&
  Dat.bytesEqual(a.work, b.work) &&
  Dat.bytesEqual(a.salt, b.salt) &&
  Dat.bytesEqual(a.pubKey, b.pubKey) &&
  Dat.bytesEqual(a.key, b.key) &&
  Dat.bytesEqual(a.value, b.value)

export class VerifiedDats {
  readonly maxSize: number
  readonly #bySig = new Map<string, Message.Dat>()

  constructor(maxSize: number) {
    if (!Number.isInteger(maxSize) || maxSize < 1) throw new RangeError("maxSize must be a positive integer")
    this.maxSize = maxSize
  }

  get size(): number {
    return this.#bySig.size
  }

  /** Whether this exact dat was remembered as valid. */
  has(dat: Message.Dat): boolean {
    const known = this.#bySig.get(fingerprint(dat.sig))
    return known !== undefined && sameDat(known, dat)
  }

  /** Remembers a dat that was just found valid (a copy: decoded dats are views of a datagram). */
  add(dat: Message.Dat): void {
    const k = fingerprint(dat.sig)
    if (this.#bySig.has(k)) this.#bySig.delete(k)
    else if (this.#bySig.size >= this.maxSize) this.#bySig.delete(this.#bySig.keys().next().value!)
    this.#bySig.set(k, copyOf(dat))
  }
}
