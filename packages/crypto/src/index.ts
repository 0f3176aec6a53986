/**
 * @dave/crypto: Ed25519 signing and verification, BLAKE3, proof of work, and key files, as Effect
 * services with native, portable and (for simulations only) fake layers.
 */
export * as Challenge from "./Challenge.ts"
export * as DatSigning from "./DatSigning.ts"
export * as Hasher from "./Hasher.ts"
export type { KeyPair } from "./KeyFile.ts"
export * as KeyFile from "./KeyFile.ts"
export * as ProofOfWork from "./ProofOfWork.ts"
export * as Signer from "./Signer.ts"
export * as Verifier from "./Verifier.ts"
export * as VerifyPool from "./VerifyPool.ts"
export * as Work from "./Work.ts"
