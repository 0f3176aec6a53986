/**
 * The `dave` command's entry point (bin/dave.js starts it): runs the command tree on the process
 * arguments and exits with its code (0 ok, 1 usage, 2 not found, 3 network or timeout).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Exit, Layer, Logger, References } from "effect"
import * as Cli from "./Cli.ts"
import * as Output from "./Output.ts"

Output.ignoreClosedPipes()

/** Logs (the light node's, warnings and up unless --log-level says otherwise) go to stderr. */
const LoggerLive = Layer.mergeAll(
  Logger.layer([Logger.withConsoleError(Logger.formatLogFmt)]),
  Layer.succeed(References.MinimumLogLevel, "Warn")
)

Cli.run(process.argv.slice(2)).pipe(
  Effect.provide(Layer.mergeAll(LoggerLive, NodeServices.layer)),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    teardown: (exit, onExit) => {
      const code = Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : 130
      process.exitCode = code
      // Whatever is still open (an idle HTTP keep-alive socket) must not hold the exit back.
      setTimeout(() => process.exit(code), 100).unref()
      onExit(code)
    }
  })
)
