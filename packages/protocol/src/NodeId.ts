import { PUBKEY_LEN } from "./Constants.ts"

/** A node ID: the little-endian u64 of public-key bytes 0..7. */
export type NodeId = bigint

const MASK_64 = (1n << 64n) - 1n

/** Node ID of a 32-byte Ed25519 public key. */
export const fromPublicKey = (publicKey: Uint8Array): NodeId => {
  if (publicKey.length !== PUBKEY_LEN) throw new RangeError(`public key must be ${PUBKEY_LEN} bytes`)
  let id = 0n
  for (let i = 7; i >= 0; i--) id = (id << 8n) | BigInt(publicKey[i]!)
  return id
}

/** XOR distance between two node IDs (both u64). */
export const distance = (a: NodeId, b: NodeId): bigint => (a ^ b) & MASK_64

/** Whether `id` fits in a u64. */
export const isNodeId = (id: bigint): boolean => id >= 0n && id <= MASK_64
