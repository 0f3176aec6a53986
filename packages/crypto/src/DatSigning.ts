import { Constants, Dat, type Message } from "@dave/protocol"
import { Clock, Data, Effect } from "effect"
import { Hasher } from "./Hasher.ts"
import { computeWork, leadingZeroBits } from "./ProofOfWork.ts"
import { Signer } from "./Signer.ts"
import { Verifier } from "./Verifier.ts"
import { Work } from "./Work.ts"

/**
 * Signing and verification of dats (PROTOCOL.md 3.1–3.3): the author signs BLAKE3(key ‖ value ‖ time),
 * then proves work over the signature.
 */

export interface SignOptions {
  readonly key: Uint8Array
  readonly value: Uint8Array
  /** Unix time in milliseconds (u64). */
  readonly timeMs: number | bigint
  /** Leading zero bits of work to find. */
  readonly difficulty: number
  readonly onProgress?: (hashes: number) => void
}

const MAX_U64 = (1n << 64n) - 1n

/**
 * What this process signed, by dat object: the public key, the message and the signature bytes. A
 * writer checks its own dat before sending it; when those three bytes-for-bytes are what our Signer
 * produced, the signature verifies by construction and the Ed25519 verify (the costly part) is
 * skipped. Copies, not references: a dat mutated after signing no longer matches and is verified.
 * Weak, so it holds nothing the caller dropped.
 */
interface Signed {
  readonly pubKey: Uint8Array
  readonly message: Uint8Array
  readonly sig: Uint8Array
}
const signedHere = new WeakMap<Message.Dat, Signed>()

const signedHereMatches = (dat: Message.Dat, message: Uint8Array): boolean => {
  const signed = signedHere.get(dat)
  return (
    signed !== undefined &&
    Dat.bytesEqual(signed.message, message) &&
    Dat.bytesEqual(signed.sig, dat.sig) &&
    Dat.bytesEqual(signed.pubKey, dat.pubKey)
  )
}

const timeOf = (timeMs: number | bigint): Effect.Effect<bigint> => {
  const time = typeof timeMs === "bigint" ? timeMs : Number.isSafeInteger(timeMs) ? BigInt(timeMs) : -1n
  return time >= 0n && time <= MAX_U64 ? Effect.succeed(time) : Effect.die(new RangeError(`bad time: ${timeMs}`))
}

/** A signed dat by this node's key, with work of at least `difficulty` bits. */
export const signDat = (options: SignOptions): Effect.Effect<Message.Dat, never, Signer | Hasher | Work> =>
  Effect.gen(function* () {
    const signer = yield* Signer
    const hasher = yield* Hasher
    const work = yield* Work
    const time = yield* timeOf(options.timeMs)
    const message = hasher.blake3(Dat.signedBytes(options.key, options.value, time))
    const sig = signer.sign(message)
    const solved = yield* work.solve(
      sig,
      options.difficulty,
      options.onProgress === undefined ? undefined : { onProgress: options.onProgress }
    )
    const dat: Message.Dat = {
      time,
      salt: solved.salt,
      work: solved.work,
      sig,
      pubKey: signer.publicKey,
      key: options.key,
      value: options.value
    }
    signedHere.set(dat, { pubKey: Uint8Array.from(dat.pubKey), message, sig: Uint8Array.from(sig) })
    return dat
  })

/** Why a dat is refused, in the order the reference checks (PROTOCOL.md 3.3). */
export type Rejection =
  /** Its time is after now (no tolerance, as the reference). */
  | "FutureTime"
  /** Its public key is not 32 bytes. */
  | "BadPublicKey"
  /** The transmitted work has fewer leading zero bits than required. */
  | "LowWork"
  /** BLAKE3(salt ‖ BLAKE3(sig)) is not the transmitted work. */
  | "WorkMismatch"
  /** The signature does not verify over BLAKE3(key ‖ value ‖ time) with the dat's public key. */
  | "BadSignature"

/** "Valid", or the first reason to refuse the dat. */
export type Verdict = "Valid" | Rejection

export interface VerifyOptions {
  /** Now, Unix ms; a dat from after this instant is refused. */
  readonly nowMs: number
  /** Least leading zero bits of work accepted. Default `Constants.MIN_WORK` (8). */
  readonly minWork?: number
}

/**
 * Every check but the signature: time, key length, work. Returns the rejection, or the 32-byte message
 * the signature must verify over, BLAKE3(key ‖ value ‖ time). Split from `check` so a VerifyPool can
 * do the cheap part on its own thread and send a worker only the 128 bytes of a signature check.
 */
export const prepare = (
  hasher: Hasher["Service"],
  dat: Message.Dat,
  options: VerifyOptions
): Rejection | Uint8Array => {
  // Number(time) is exact below 2^53 ms and stays above any real "now" beyond it.
  if (Number(dat.time) > options.nowMs) return "FutureTime"
  if (dat.pubKey.length !== Constants.PUBKEY_LEN) return "BadPublicKey"
  if (leadingZeroBits(dat.work) < (options.minWork ?? Constants.MIN_WORK)) return "LowWork"
  if (!Dat.bytesEqual(computeWork(hasher, dat.salt, dat.sig), dat.work)) return "WorkMismatch"
  return hasher.blake3(Dat.signedBytes(dat.key, dat.value, dat.time))
}

/**
 * Checks a dat with the given hasher and verifier, for hot paths that hold them already. Cheap checks
 * come first; the signature (the expensive one) last, skipped for a dat `signDat` made in this
 * process and not changed since.
 */
export const check = (
  crypto: { readonly hasher: Hasher["Service"]; readonly verifier: Verifier["Service"] },
  dat: Message.Dat,
  options: VerifyOptions
): Verdict => {
  const prepared = prepare(crypto.hasher, dat, options)
  if (typeof prepared === "string") return prepared
  if (signedHereMatches(dat, prepared)) return "Valid"
  return crypto.verifier.verify(dat.pubKey, prepared, dat.sig) ? "Valid" : "BadSignature"
}

export class DatRejectedError extends Data.TaggedError("DatRejectedError")<{ readonly reason: Rejection }> {
  override get message(): string {
    return `dat rejected: ${this.reason}`
  }
}

/** Checks a dat through the services; `nowMs` defaults to the Clock's time. */
export const verifyDat = (
  dat: Message.Dat,
  options?: { readonly nowMs?: number; readonly minWork?: number }
): Effect.Effect<void, DatRejectedError, Hasher | Verifier> =>
  Effect.gen(function* () {
    const hasher = yield* Hasher
    const verifier = yield* Verifier
    const nowMs = options?.nowMs ?? (yield* Clock.currentTimeMillis)
    const minWork = options?.minWork ?? Constants.MIN_WORK
    const verdict = check({ hasher, verifier }, dat, { nowMs, minWork })
    if (verdict !== "Valid") return yield* new DatRejectedError({ reason: verdict })
  })
