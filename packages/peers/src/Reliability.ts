/**
 * Per-peer reliability (PROTOCOL.md 13.5): storage-challenge outcomes and valid novel contributions,
 * each capped, both decaying toward zero with a half-life. Local only: never gossiped.
 * The two parts are capped separately so that cheap contributions (a valid PUT needs only a little
 * proof of work) cannot outweigh failed storage challenges.
 */

export interface ReliabilityParams {
  readonly passPoints: number
  readonly failPoints: number
  readonly challengeMax: number
  readonly challengeMin: number
  readonly contributionPoints: number
  readonly contributionMax: number
  readonly halfLifeMs: number
}

export const defaultParams: ReliabilityParams = {
  passPoints: 1,
  failPoints: -2,
  challengeMax: 4,
  challengeMin: -8,
  contributionPoints: 0.1,
  contributionMax: 1,
  halfLifeMs: 60 * 60_000
}

export interface Reliability {
  /** Challenge part, as of `updatedMs`. */
  readonly challenge: number
  /** Contribution part, as of `updatedMs`. */
  readonly contribution: number
  readonly updatedMs: number
  readonly passed: number
  readonly failed: number
  readonly consecutiveFailures: number
  readonly contributions: number
}

export const initial = (nowMs: number): Reliability => ({
  challenge: 0,
  contribution: 0,
  updatedMs: nowMs,
  passed: 0,
  failed: 0,
  consecutiveFailures: 0,
  contributions: 0
})

const decayFactor = (r: Reliability, nowMs: number, params: ReliabilityParams): number =>
  nowMs <= r.updatedMs ? 1 : 2 ** (-(nowMs - r.updatedMs) / params.halfLifeMs)

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x))

/** The current score: both parts decayed to `nowMs` and summed. */
export const score = (r: Reliability, nowMs: number, params: ReliabilityParams): number =>
  (r.challenge + r.contribution) * decayFactor(r, nowMs, params)

const decayed = (r: Reliability, nowMs: number, params: ReliabilityParams): Reliability => {
  const f = decayFactor(r, nowMs, params)
  return { ...r, challenge: r.challenge * f, contribution: r.contribution * f, updatedMs: Math.max(r.updatedMs, nowMs) }
}

export const recordChallenge = (
  r: Reliability,
  passed: boolean,
  nowMs: number,
  params: ReliabilityParams
): Reliability => {
  const d = decayed(r, nowMs, params)
  const points = passed ? params.passPoints : params.failPoints
  return {
    ...d,
    challenge: clamp(d.challenge + points, params.challengeMin, params.challengeMax),
    passed: d.passed + (passed ? 1 : 0),
    failed: d.failed + (passed ? 0 : 1),
    consecutiveFailures: passed ? 0 : d.consecutiveFailures + 1
  }
}

export const recordContribution = (r: Reliability, nowMs: number, params: ReliabilityParams): Reliability => {
  const d = decayed(r, nowMs, params)
  return {
    ...d,
    contribution: clamp(d.contribution + params.contributionPoints, 0, params.contributionMax),
    contributions: d.contributions + 1
  }
}

/** Sampling weight for a score: doubles every 2 points, so a score of 4 weighs 4, −8 weighs 1/16. */
export const weight = (scoreValue: number): number => 2 ** (scoreValue / 2)
