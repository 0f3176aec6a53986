import type { ClientError } from "@dave/client"
import { Data } from "effect"

/**
 * How the command ends, as scripts see it: 0 ok, 1 usage (bad flags, arguments or files), 2 not
 * found, 3 network or timeout (no node answered, the admin API failed).
 */
export const ExitCode = { Ok: 0, Usage: 1, NotFound: 2, Network: 3 } as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** A failure with the message to print on stderr and the exit code it ends with. */
export class CliFailure extends Data.TaggedError("CliFailure")<{
  readonly exitCode: ExitCode
  readonly message: string
}> {}

export const usage = (message: string): CliFailure => new CliFailure({ exitCode: ExitCode.Usage, message })
export const notFound = (message: string): CliFailure => new CliFailure({ exitCode: ExitCode.NotFound, message })
export const network = (message: string): CliFailure => new CliFailure({ exitCode: ExitCode.Network, message })

export const fromClientError = (error: ClientError.ClientError): CliFailure =>
  error.reason === "Usage" ? usage(error.message) : network(error.message)
