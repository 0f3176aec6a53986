import type { Slots } from "./Slots.ts"

/**
 * The eviction order of entries at a time t (ms), as a total order on slots.
 *
 * priority(s, t) = w(s) × max(0, expiry(s) − t), with w = 2^64 − distance (in [1, 2^64]), which is
 * (1 − distance / 2^64) × time left, scaled by 2^64. The lowest priority is evicted first. Ties
 * (equal priority, which includes every pair of expired entries) go to the earlier expiry, then to
 * the smaller weight, then to the smaller 64-bit hash, which is unique among live entries:
 *   a ≺ b at t  ⇔  (priority(a, t), expiry(a), w(a), hash(a)) < (priority(b, t), expiry(b), w(b), hash(b)).
 *
 * How the order changes with time: while both are unexpired, priorities are lines in t with
 * slopes −w, so they cross at most once. If a ≺ b at t, b overtakes a later only when a decays
 * slower (w(a) < w(b)) and expires later (expiry(a) > expiry(b)), at
 *   t* = expiry(b) − w(a)·(expiry(a) − expiry(b)) / (w(b) − w(a))   (t* < expiry(b)),
 * i.e. at ceil(t*), since at an exact tie the earlier expiry (b) ranks lower. Expiry changes nothing
 * either: the entry that expires first already ranked lower just before (its priority reaches 0
 * first) and stays lower (earlier expiry); two entries expiring together were ordered by weight
 * before and still are (hence weight before hash in the tie-break). So the crossing is the only
 * change, which is what makes the kinetic tournament (Tournament.ts) correct.
 *
 * Arithmetic: expiries and times are exact integers below 2^53. Products are compared in doubles
 * when they differ by more than the rounding error could explain, else exactly with bigints.
 */

const TWO_32 = 4294967296
/** Relative difference beyond which two double products are certainly ordered (error is < 2^-51). */
const MARGIN = 2 ** -40

/** 2^64 − distance as a double (within one rounding). */
const weight = (distHi: number, distLo: number): number => (0xffffffff - distHi) * TWO_32 + (TWO_32 - distLo)

const exactWeight = (distHi: number, distLo: number): bigint => (1n << 64n) - ((BigInt(distHi) << 32n) | BigInt(distLo))

/** a ≺ b by the tie-break alone. */
const tieLess = (s: Slots, a: number, b: number): boolean => {
  const ea = s.expiryMs[a]!
  const eb = s.expiryMs[b]!
  if (ea !== eb) return ea < eb
  // Smaller weight = greater distance.
  const dha = s.distHi[a]!
  const dhb = s.distHi[b]!
  if (dha !== dhb) return dha > dhb
  const dla = s.distLo[a]!
  const dlb = s.distLo[b]!
  if (dla !== dlb) return dla > dlb
  const ha = s.hashHi[a]!
  const hb = s.hashHi[b]!
  if (ha !== hb) return ha < hb
  return s.hashLo[a]! < s.hashLo[b]!
}

/** Whether slot a ranks strictly lower (is evicted before) slot b at time `nowMs`. */
export const less = (s: Slots, a: number, b: number, nowMs: number): boolean => {
  const ea = s.expiryMs[a]!
  const eb = s.expiryMs[b]!
  const leftA = ea > nowMs ? ea - nowMs : 0
  const leftB = eb > nowMs ? eb - nowMs : 0
  if (leftA === 0 || leftB === 0) return leftA === leftB ? tieLess(s, a, b) : leftA === 0
  const dha = s.distHi[a]!
  const dla = s.distLo[a]!
  const dhb = s.distHi[b]!
  const dlb = s.distLo[b]!
  if (dha === dhb && dla === dlb) return leftA === leftB ? tieLess(s, a, b) : leftA < leftB
  const pa = weight(dha, dla) * leftA
  const pb = weight(dhb, dlb) * leftB
  if (pa < pb - pb * MARGIN) return true
  if (pb < pa - pa * MARGIN) return false
  const exactA = exactWeight(dha, dla) * BigInt(leftA)
  const exactB = exactWeight(dhb, dlb) * BigInt(leftB)
  return exactA === exactB ? tieLess(s, a, b) : exactA < exactB
}

/**
 * A time after `nowMs` no later than the first time at which b ranks lower than a, given that
 * a ≺ b at `nowMs`; Infinity if that never happens. It may be a little early (then the caller
 * compares again and gets a new time), never late.
 */
export const overtakeMs = (s: Slots, a: number, b: number, nowMs: number): number => {
  const ea = s.expiryMs[a]!
  const eb = s.expiryMs[b]!
  if (ea <= eb || eb <= nowMs) return Number.POSITIVE_INFINITY
  const dha = s.distHi[a]!
  const dla = s.distLo[a]!
  const dhb = s.distHi[b]!
  const dlb = s.distLo[b]!
  // w(b) − w(a) = distance(a) − distance(b); b overtakes only if it decays faster.
  if (dha < dhb || (dha === dhb && dla <= dlb)) return Number.POSITIVE_INFINITY
  const weightGap = (dha - dhb) * TWO_32 + (dla - dlb)
  const lead = (weight(dha, dla) * (ea - eb)) / weightGap
  // lead is within a relative 2^-50 of the true value and below 2^53 (t* > nowMs): the margin
  // covers its error and the rounding of eb − lead.
  const early = Math.floor(eb - lead - lead * MARGIN - 4)
  return early > nowMs ? early : nowMs + 1
}
