import type { Message } from "@dave/protocol"
import type { Verdict } from "./DatSigning.ts"

/** Messages between a VerifyPool and its VerifyWorker threads. */

export interface Request {
  readonly id: number
  readonly dats: ReadonlyArray<Message.Dat>
  readonly nowMs: number
  readonly minWork: number
}

/** The id of the message a worker posts once it is ready. */
export const READY = -1

export interface Reply {
  readonly id: number
  readonly verdicts: ReadonlyArray<Verdict>
}
