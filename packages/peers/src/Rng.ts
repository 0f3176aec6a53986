import { Effect, Random } from "effect"

/**
 * The random source the peer table's core takes explicitly, so a run with a seeded source is
 * reproducible. `fillBytes` supplies PING challenges; those must be unpredictable to anyone who has
 * seen earlier ones, so the live service fills them from the platform's CSPRNG unless told otherwise.
 */
export interface Rng {
  /** A number in [0, 1). */
  readonly nextDouble: () => number
  readonly fillBytes: (out: Uint8Array) => void
}

/** How challenge bytes are made: from the OS CSPRNG, or from the same (possibly seeded) source. */
export type ChallengeBytes = "secure" | "random"

const fillFromDoubles = (nextDouble: () => number, out: Uint8Array): void => {
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(nextDouble() * 256) & 0xff
}

// Web Crypto's getRandomValues accepts at most 65,536 bytes per call; challenges are 32.
const fillSecure = (out: Uint8Array): void => {
  globalThis.crypto.getRandomValues(out)
}

/** An Rng over effect's Random service (what the PeerTable service uses). */
export const fromRandom = (random: Random.Random, challengeBytes: ChallengeBytes): Rng => {
  const nextDouble = () => random.nextDoubleUnsafe()
  return {
    nextDouble,
    fillBytes: challengeBytes === "secure" ? fillSecure : (out) => fillFromDoubles(nextDouble, out)
  }
}

/** A deterministic Rng from a seed (effect's seeded generator); challenge bytes come from it too. */
export const seeded = (seed: string | number): Rng => {
  const random = Effect.runSync(Effect.service(Random.Random).pipe(Random.withSeed(seed)))
  return fromRandom(random, "random")
}

/** The CSPRNG for challenge bytes and Math.random for the rest: for callers outside Effect. */
export const system: Rng = {
  nextDouble: () => Math.random(),
  fillBytes: fillSecure
}
