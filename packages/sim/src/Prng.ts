import type { Random } from "effect"

/**
 * The simulation's one seeded random source: sfc32 (Chris Doty-Humphrey's small fast counter
 * generator, 128-bit state, passes PractRand), seeded through splitmix32. Every node, link and
 * scenario gets its own stream split off the root, so a run is a pure function of the seed and
 * adding a node does not shift the draws of the others.
 *
 * Hand-written rather than effect's `Random.withSeed` because a simulation needs streams split off
 * one seed, and its draws sit on the hot path (challenge bytes, salts, latencies, loss).
 */
export class Prng implements Random.Random {
  #a: number
  #b: number
  #c: number
  #d: number

  private constructor(a: number, b: number, c: number, d: number) {
    this.#a = a | 0
    this.#b = b | 0
    this.#c = c | 0
    this.#d = d | 0
    // The reference discards the first outputs so that similar seeds diverge.
    for (let i = 0; i < 12; i++) this.nextUint32()
  }

  /** A generator from a number or a string (the string's UTF-16 code units are mixed in). */
  static fromSeed(seed: number | string): Prng {
    let h = 0x9e3779b9
    const text = typeof seed === "number" ? `n:${seed}` : `s:${seed}`
    for (let i = 0; i < text.length; i++) h = splitmix32(h ^ text.charCodeAt(i))
    const a = splitmix32(h)
    const b = splitmix32(a)
    const c = splitmix32(b)
    const d = splitmix32(c)
    return new Prng(a, b, c, d)
  }

  /** A new, independent stream seeded from this one's next four outputs. */
  split(): Prng {
    return new Prng(this.nextUint32(), this.nextUint32(), this.nextUint32(), this.nextUint32())
  }

  nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0
    this.#d = (this.#d + 1) | 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) | 0
    this.#c = (this.#c << 21) | (this.#c >>> 11)
    this.#c = (this.#c + t) | 0
    return t >>> 0
  }

  /** A double in [0, 1) with 53 random bits. */
  nextDoubleUnsafe(): number {
    const hi = this.nextUint32() >>> 5
    const lo = this.nextUint32() >>> 6
    return (hi * 67108864 + lo) / 9007199254740992
  }

  /** A safe integer, as effect's Random promises. */
  nextIntUnsafe(): number {
    const hi = this.nextUint32() >>> 11
    const lo = this.nextUint32()
    const magnitude = hi * 4294967296 + lo
    return this.nextUint32() & 1 ? -magnitude : magnitude
  }

  /** An integer in [0, n) for 0 < n ≤ 2^32. */
  below(n: number): number {
    return Math.floor(this.nextDoubleUnsafe() * n)
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.nextDoubleUnsafe() < p
  }

  fillBytes(out: Uint8Array): void {
    for (let i = 0; i < out.length; i += 4) {
      const x = this.nextUint32()
      out[i] = x & 0xff
      if (i + 1 < out.length) out[i + 1] = (x >>> 8) & 0xff
      if (i + 2 < out.length) out[i + 2] = (x >>> 16) & 0xff
      if (i + 3 < out.length) out[i + 3] = x >>> 24
    }
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length)
    this.fillBytes(out)
    return out
  }

  /** A Fisher–Yates shuffled copy. */
  shuffle<A>(items: ReadonlyArray<A>): Array<A> {
    const a = items.slice()
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1)
      const t = a[i]!
      a[i] = a[j]!
      a[j] = t
    }
    return a
  }

  /** `count` distinct items, in random order. */
  sample<A>(items: ReadonlyArray<A>, count: number): Array<A> {
    return this.shuffle(items).slice(0, Math.max(0, Math.min(count, items.length)))
  }
}

const splitmix32 = (x: number): number => {
  let z = (x + 0x9e3779b9) | 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}
