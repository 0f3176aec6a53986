import { DaveClient } from "@dave/client"
import { Address, Constants } from "@dave/protocol"
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as AuthorKey from "./AuthorKey.ts"
import * as Failure from "./Failure.ts"
import * as Output from "./Output.ts"
import * as Progress from "./Progress.ts"
import * as Root from "./Root.ts"
import * as ValueInput from "./ValueInput.ts"

/**
 * `dave put <key> [value]`: signs with the author key (the key file, created if missing), solves the
 * work with a progress line on stderr, sends to the closest replicas and says how many confirmed.
 */

const resultJson = (result: DaveClient.PutResult, difficulty: number) => ({
  author: AuthorKey.hex(result.entry.dat.pubKey),
  key: new TextDecoder().decode(result.entry.dat.key),
  time: result.entry.dat.time.toString(),
  difficulty,
  replicas: result.replicas,
  sentTo: result.sentTo.map(Address.toString),
  confirmedBy: result.confirmedBy.map(Address.toString),
  workHashes: result.workHashes,
  workMs: result.workMs
})

export const command = Command.make(
  "put",
  {
    key: Argument.String("key").pipe(Argument.withDescription("the key, UTF-8 (at most 255 bytes)")),
    value: Argument.String("value").pipe(
      Argument.withDescription("the value, UTF-8; without it, --file or stdin gives the value"),
      Argument.optional
    ),
    file: Flag.String("file").pipe(Flag.withDescription("read the value from this file (raw bytes)"), Flag.optional),
    difficulty: Flag.Int("difficulty").pipe(
      Flag.withDescription(`proof-of-work bits (default ${Constants.MIN_WORK}); more ranks the entry higher in stores`),
      Flag.withDefault(Constants.MIN_WORK)
    )
  },
  Effect.fn(function* ({ key, value, file, difficulty }) {
    const s = yield* Root.settings
    const bytes = yield* ValueInput.read(value, file)
    yield* DaveClient.checkPutRequest({ key, value: bytes, difficulty }).pipe(Effect.mapError(Failure.fromClientError))
    const keyPair = yield* AuthorKey.readOrCreate(s.keyFile)
    const client = yield* Root.client(s, keyPair).pipe(Effect.mapError(Failure.fromClientError))
    const progress = Progress.make(difficulty)
    const result = yield* client
      .put({ key, value: bytes, difficulty, onProgress: progress.onProgress })
      .pipe(Effect.mapError(Failure.fromClientError))
    yield* progress.done(result.workHashes, result.workMs)
    if (s.json) return yield* Output.json(resultJson(result, difficulty))
    const of = result.replicas === result.sentTo.length ? "" : ` of ${result.sentTo.length}`
    yield* Output.stdoutLine(`stored on ${result.replicas}${of} replica${result.replicas === 1 ? "" : "s"}`)
  }, Effect.scoped)
).pipe(Command.withDescription("Sign and store a value under a key of the author key, on the closest replicas"))
