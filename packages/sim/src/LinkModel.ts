import type { Prng } from "./Prng.ts"

/**
 * How the simulated network treats a datagram. Every host sits at a point of a unit square; the
 * one-way base latency of a link grows with the distance between its ends, from `baseMinMs` to
 * `baseMaxMs` (so links have different, stable latencies), and each datagram adds jitter drawn
 * from `jitter`. Loss, duplication and reordering (holding a datagram back so that later ones
 * overtake it) are per datagram. A host may carry its own extra latency and loss on top.
 */

export type Jitter =
  | { readonly _tag: "None" }
  | { readonly _tag: "Uniform"; readonly maxMs: number }
  | { readonly _tag: "Exponential"; readonly meanMs: number }
  /** Heavy tailed: scale × (U^(−1/shape) − 1), a Lomax draw, capped at `capMs`. */
  | { readonly _tag: "Pareto"; readonly scaleMs: number; readonly shape: number; readonly capMs: number }

export interface LinkProfile {
  readonly baseMinMs: number
  readonly baseMaxMs: number
  readonly jitter: Jitter
  readonly lossRate: number
  readonly duplicateRate: number
  readonly reorderRate: number
  readonly reorderDelayMs: number
}

/** A continental-scale network: 5–60 ms one way, exponential jitter, 0.5 % loss, a little duplication and reordering. */
export const wan: LinkProfile = {
  baseMinMs: 5,
  baseMaxMs: 60,
  jitter: { _tag: "Exponential", meanMs: 4 },
  lossRate: 0.005,
  duplicateRate: 0.001,
  reorderRate: 0.002,
  reorderDelayMs: 50
}

/** A perfect network: 1 ms, nothing lost, duplicated or reordered. */
export const ideal: LinkProfile = {
  baseMinMs: 1,
  baseMaxMs: 1,
  jitter: { _tag: "None" },
  lossRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderDelayMs: 0
}

/** Per-host degradation, added to every datagram it sends or receives. */
export interface HostImpairment {
  readonly extraLatencyMs: number
  readonly lossRate: number
}

export const noImpairment: HostImpairment = { extraLatencyMs: 0, lossRate: 0 }

export interface Point {
  readonly x: number
  readonly y: number
}

const DIAGONAL = Math.SQRT2

export const baseLatencyMs = (profile: LinkProfile, a: Point, b: Point): number => {
  const d = Math.hypot(a.x - b.x, a.y - b.y) / DIAGONAL
  return profile.baseMinMs + (profile.baseMaxMs - profile.baseMinMs) * d
}

export const jitterMs = (jitter: Jitter, prng: Prng): number => {
  switch (jitter._tag) {
    case "None":
      return 0
    case "Uniform":
      return prng.nextDoubleUnsafe() * jitter.maxMs
    case "Exponential":
      return -Math.log(1 - prng.nextDoubleUnsafe()) * jitter.meanMs
    case "Pareto": {
      const u = 1 - prng.nextDoubleUnsafe()
      return Math.min(jitter.capMs, jitter.scaleMs * (u ** (-1 / jitter.shape) - 1))
    }
  }
}

/** One datagram's one-way delay on a link whose base latency is `baseMs`. */
export const delayMs = (profile: LinkProfile, baseMs: number, extraMs: number, prng: Prng): number => {
  let delay = baseMs + extraMs + jitterMs(profile.jitter, prng)
  if (prng.chance(profile.reorderRate)) delay += profile.reorderDelayMs
  return Math.max(1, Math.round(delay))
}

/** Checks a profile's numbers; the name of the first bad field, or undefined. */
export const invalidField = (profile: LinkProfile): string | undefined => {
  const rate = (x: number) => x >= 0 && x <= 1
  const ms = (x: number) => Number.isFinite(x) && x >= 0
  if (!ms(profile.baseMinMs) || !ms(profile.baseMaxMs) || profile.baseMaxMs < profile.baseMinMs)
    return "baseMinMs/baseMaxMs"
  if (!rate(profile.lossRate)) return "lossRate"
  if (!rate(profile.duplicateRate)) return "duplicateRate"
  if (!rate(profile.reorderRate)) return "reorderRate"
  if (!ms(profile.reorderDelayMs)) return "reorderDelayMs"
  const j = profile.jitter
  if (j._tag === "Uniform" && !ms(j.maxMs)) return "jitter.maxMs"
  if (j._tag === "Exponential" && !ms(j.meanMs)) return "jitter.meanMs"
  if (j._tag === "Pareto" && (!ms(j.scaleMs) || !(j.shape > 0) || !ms(j.capMs))) return "jitter"
  return undefined
}
