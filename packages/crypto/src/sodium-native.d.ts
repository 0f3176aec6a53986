/** The few sodium-native 5 functions @dave/crypto uses (the package ships no types). */
declare module "sodium-native" {
  export function crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void
  export function crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void
  export function crypto_sign_verify_detached(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array
  ): boolean
  export const crypto_sign_SECRETKEYBYTES: number
}
