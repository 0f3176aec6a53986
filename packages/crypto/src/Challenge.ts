import * as NodeCrypto from "node:crypto"
import { Constants } from "@dave/protocol"
import { Effect } from "effect"
import { Hasher } from "./Hasher.ts"
import { Signer } from "./Signer.ts"
import { Verifier } from "./Verifier.ts"

/**
 * Peer authentication (PROTOCOL.md 3.4): a PONG answers a PING's 32-byte challenge with a 16-byte salt
 * chosen by the responder, its public key, and its signature over BLAKE3(challenge ‖ salt).
 */

export interface Answer {
  readonly salt: Uint8Array
  readonly pubKey: Uint8Array
  readonly sig: Uint8Array
}

const signedMessage = (hasher: Hasher["Service"], challenge: Uint8Array, salt: Uint8Array): Uint8Array => {
  const input = new Uint8Array(challenge.length + salt.length)
  input.set(challenge, 0)
  input.set(salt, challenge.length)
  return hasher.blake3(input)
}

/** The answer to `challenge` with the given salt, for callers holding the services already. */
export const answer = (
  crypto: { readonly signer: Signer["Service"]; readonly hasher: Hasher["Service"] },
  challenge: Uint8Array,
  salt: Uint8Array
): Answer => ({
  salt,
  pubKey: crypto.signer.publicKey,
  sig: crypto.signer.sign(signedMessage(crypto.hasher, challenge, salt))
})

/** Whether (salt, pubKey, sig) answers `challenge`; false on any malformed field, never throws. */
export const check = (
  crypto: { readonly hasher: Hasher["Service"]; readonly verifier: Verifier["Service"] },
  challenge: Uint8Array,
  salt: Uint8Array,
  pubKey: Uint8Array,
  sig: Uint8Array
): boolean =>
  challenge.length === Constants.CHALLENGE_LEN &&
  salt.length === Constants.SALT_LEN &&
  crypto.verifier.verify(pubKey, signedMessage(crypto.hasher, challenge, salt), sig)

/** Signs an answer to `challenge`; the salt is random unless given (simulations pass their own). */
export const signChallenge = (
  challenge: Uint8Array,
  salt?: Uint8Array
): Effect.Effect<Answer, never, Signer | Hasher> =>
  Effect.gen(function* () {
    const signer = yield* Signer
    const hasher = yield* Hasher
    return answer({ signer, hasher }, challenge, salt ?? new Uint8Array(NodeCrypto.randomBytes(Constants.SALT_LEN)))
  })

/** Whether (salt, pubKey, sig) is a valid answer to `challenge`. */
export const verifyChallengeAnswer = (
  challenge: Uint8Array,
  salt: Uint8Array,
  pubKey: Uint8Array,
  sig: Uint8Array
): Effect.Effect<boolean, never, Hasher | Verifier> =>
  Effect.gen(function* () {
    const hasher = yield* Hasher
    const verifier = yield* Verifier
    return check({ hasher, verifier }, challenge, salt, pubKey, sig)
  })
