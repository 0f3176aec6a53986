import { Cause, Console, Effect } from "effect"
import { CliError, CliOutput, Command } from "effect/cli"
import * as Failure from "./Failure.ts"
import * as Get from "./Get.ts"
import * as Keygen from "./Keygen.ts"
import * as Output from "./Output.ts"
import * as Peers from "./Peers.ts"
import * as Put from "./Put.ts"
import * as Root from "./Root.ts"
import * as Status from "./Status.ts"
import { VERSION } from "./Version.ts"

/** The whole `dave` command tree, and a run that ends in one of the documented exit codes. */

export const command = Root.root.pipe(
  Command.withSubcommands([Keygen.command, Put.command, Get.command, Peers.command, Status.command])
)

/**
 * Help asked for goes to stdout; after a usage error, only the errors and a hint go to stderr, so
 * stdout stays empty for scripts.
 */
export const presenter: CliOutput.Presenter = {
  present: (event) =>
    Effect.gen(function* () {
      const formatter = yield* CliOutput.Formatter
      switch (event._tag) {
        case "Help":
          return yield* Console.log(formatter.formatHelpDoc(event.helpDoc))
        case "Version":
          return yield* Console.log(formatter.formatVersion(event.name, event.version))
        case "InvalidInvocation":
          yield* Console.error(formatter.formatErrors(event.errors))
          return yield* Console.error(`Run "${event.commandPath.join(" ")} --help" for usage.`)
      }
    })
}

/** The exit code of a failure, after printing what the user needs to see. */
const report = (error: unknown): Effect.Effect<Failure.ExitCode> => {
  if (error instanceof Failure.CliFailure) return Effect.as(Output.stderrLine(`dave: ${error.message}`), error.exitCode)
  // Parse errors and implicit help were already printed by the presenter.
  if (CliError.isCliError(error)) {
    if (error._tag === "ShowHelp" && error.errors.length === 0) return Effect.succeed(Failure.ExitCode.Usage)
    if (error._tag !== "ShowHelp") return Effect.as(Output.stderrLine(`dave: ${error.message}`), Failure.ExitCode.Usage)
    return Effect.succeed(Failure.ExitCode.Usage)
  }
  // A bad environment variable (e.g. DAVE_TIMEOUT_MS=abc) is a usage error too.
  const message = error instanceof Error ? error.message : String(error)
  return Effect.as(Output.stderrLine(`dave: ${message}`), Failure.ExitCode.Usage)
}

/** Runs `dave` with `args`; succeeds with the exit code, whatever happened. */
export const run = (args: ReadonlyArray<string>) =>
  Command.runWith(command, { version: VERSION })(args).pipe(
    Effect.as(Failure.ExitCode.Ok as Failure.ExitCode),
    Effect.catch(report),
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.succeed(130 as Failure.ExitCode)
        : Effect.as(Output.stderrLine(`dave: internal error: ${Cause.pretty(cause)}`), Failure.ExitCode.Usage)
    ),
    Effect.provide(CliOutput.layerPresenter(presenter))
  )
