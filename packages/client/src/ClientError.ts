import { Data } from "effect"

/**
 * Why a client operation failed. "Not found" is not an error: reads return an Option.
 * - Usage: bad input (an address, a key or value too large, a difficulty out of range, no author key).
 * - Unreachable: no node answered (the UDP edge within the timeout, or the admin API's connection).
 * - Timeout: a node answered before, but the operation did not complete in time (no replica
 *   confirmed a write, the admin API did not answer).
 * - BadResponse: the admin API answered with an error status or with JSON of an unexpected shape.
 */
export type ClientErrorReason = "Usage" | "Unreachable" | "Timeout" | "BadResponse"

export class ClientError extends Data.TaggedError("ClientError")<{
  readonly reason: ClientErrorReason
  readonly message: string
}> {}

export const usage = (message: string): ClientError => new ClientError({ reason: "Usage", message })
export const unreachable = (message: string): ClientError => new ClientError({ reason: "Unreachable", message })
export const timeout = (message: string): ClientError => new ClientError({ reason: "Timeout", message })
export const badResponse = (message: string): ClientError => new ClientError({ reason: "BadResponse", message })
