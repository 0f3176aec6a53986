import { Signer, Verifier } from "@dave/crypto"
import { Effect } from "effect"

/**
 * Ed25519 for the peers' BEP 44 callbacks: the faster of node:crypto (with its public-key cache) and
 * libsodium, measured here, so bittorrent-dht gets the fastest verify available to us.
 */

export interface FastVerifier {
  readonly name: string
  readonly verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean
}

const CALIBRATE_MS = 200

const rate = (verify: FastVerifier["verify"], publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array) => {
  for (let i = 0; i < 20; i++) verify(publicKey, message, sig)
  let n = 0
  const start = performance.now()
  while (performance.now() - start < CALIBRATE_MS && n < 1_000_000) {
    for (let i = 0; i < 10; i++, n++) if (!verify(publicKey, message, sig)) throw new Error("calibration verify failed")
  }
  return n / (performance.now() - start)
}

export const fastestVerifier: Effect.Effect<FastVerifier> = Effect.gen(function* () {
  const signer = yield* Effect.orDie(Signer.makeNative(new Uint8Array(32).fill(7)))
  const message = new Uint8Array(120).fill(3)
  const sig = signer.sign(message)
  const candidates: Array<FastVerifier> = [
    { name: "node:crypto", verify: Verifier.makeNative().verify },
    { name: "sodium-native", verify: (yield* Verifier.makeSodium).verify }
  ]
  const rates = candidates.map((c) => rate(c.verify, signer.publicKey, message, sig))
  return rates[0]! >= rates[1]! ? candidates[0]! : candidates[1]!
})

/** The default signer for a seed (sodium-native when it loads, as DaveClient signs). */
export const signerOf = (seed: Uint8Array): Effect.Effect<Signer.Signer["Service"]> =>
  Effect.orDie(Signer.makeDefault(seed))
