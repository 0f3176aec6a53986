/**
 * Messages between a VerifyPool and its VerifyWorker threads. A request carries only signature
 * checks, packed JOB_BYTES each into one transferred buffer (public key ‖ message ‖ signature): the
 * pool's own thread has done every cheaper check, and a structured clone of whole dats cost both
 * threads more than the checks saved.
 */

export const PUBLIC_KEY_BYTES = 32
export const MESSAGE_BYTES = 32
export const SIGNATURE_BYTES = 64
export const JOB_BYTES = PUBLIC_KEY_BYTES + MESSAGE_BYTES + SIGNATURE_BYTES

export interface Request {
  readonly id: number
  /** `count` jobs of JOB_BYTES each. */
  readonly jobs: ArrayBuffer
  readonly count: number
}

/** The id of the message a worker posts once it is ready. */
export const READY = -1

export interface Reply {
  readonly id: number
  /** One byte per job: 1 when the signature verifies. */
  readonly valid: ArrayBuffer
}
