import { Constants } from "@dave/protocol"
import { Effect, FileSystem, Option, Stdio, Stream } from "effect"
import * as Failure from "./Failure.ts"

/** The value of `dave put`: from the argument, from `--file`, or from stdin, bounded in size. */

const MAX_BYTES = Constants.MAX_KEY_VALUE_LEN

const tooLarge = (source: string, sizeBytes: number | string) =>
  Failure.usage(`the value from ${source} is ${sizeBytes} bytes; key + value may be at most ${MAX_BYTES}`)

const fromFile = (path: string): Effect.Effect<Uint8Array, Failure.CliFailure, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path)
    if (info.type !== "File") return yield* Failure.usage(`--file ${path} is not a regular file`)
    if (Number(info.size) > MAX_BYTES) return yield* tooLarge(path, Number(info.size))
    return yield* fs.readFile(path)
  }).pipe(
    Effect.catchTag("PlatformError", (e) => Effect.fail(Failure.usage(`cannot read --file ${path}: ${e.message}`)))
  )

const fromStdin: Effect.Effect<Uint8Array, Failure.CliFailure, Stdio.Stdio> = Effect.gen(function* () {
  const stdio = yield* Stdio.Stdio
  if (yield* stdio.stdinIsTerminal) {
    return yield* Failure.usage("no value: give it as an argument, with --file, or on stdin")
  }
  let total = 0
  // Stops reading one chunk past the limit instead of buffering whatever is piped in.
  const chunks = yield* stdio.stdin.pipe(
    Stream.takeUntil((chunk) => {
      total += chunk.length
      return total > MAX_BYTES
    }),
    Stream.runCollect,
    Effect.mapError((e) => Failure.usage(`cannot read stdin: ${e.message}`))
  )
  if (total > MAX_BYTES) return yield* tooLarge("stdin", `more than ${MAX_BYTES}`)
  return Buffer.concat(chunks)
})

export const read = (
  argument: Option.Option<string>,
  file: Option.Option<string>
): Effect.Effect<Uint8Array, Failure.CliFailure, FileSystem.FileSystem | Stdio.Stdio> => {
  if (Option.isSome(argument) && Option.isSome(file)) {
    return Effect.fail(Failure.usage("give the value either as an argument or with --file, not both"))
  }
  if (Option.isSome(argument)) return Effect.succeed(new TextEncoder().encode(argument.value))
  if (Option.isSome(file)) return fromFile(file.value)
  return fromStdin
}
