import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as AuthorKey from "./AuthorKey.ts"
import * as EntryJson from "./EntryJson.ts"
import * as Failure from "./Failure.ts"
import * as Output from "./Output.ts"
import * as Root from "./Root.ts"

/** `dave get <key> [--author <public key>]`: prints the newest verified value, raw; exit 2 if none. */
export const command = Command.make(
  "get",
  {
    key: Argument.String("key").pipe(Argument.withDescription("the key, UTF-8")),
    author: Flag.String("author").pipe(
      Flag.withDescription("the author's public key, 64 hex digits (default: the key file's)"),
      Flag.optional
    )
  },
  Effect.fn(function* ({ key, author }) {
    const s = yield* Root.settings
    const pubKey = Option.isSome(author)
      ? yield* AuthorKey.parsePublicKey(author.value)
      : (yield* AuthorKey.read(s.keyFile)).publicKey
    const client = yield* Root.client(s).pipe(Effect.mapError(Failure.fromClientError))
    const found = yield* client.get(pubKey, key).pipe(Effect.mapError(Failure.fromClientError))
    if (Option.isNone(found)) {
      return yield* Failure.notFound(`not found: "${key}" by ${AuthorKey.hex(pubKey)}`)
    }
    if (s.json) return yield* Output.json(EntryJson.fromEntry(found.value))
    yield* Output.stdout(found.value.dat.value)
    // The value is printed as stored; a terminal gets a newline after it so the prompt is not glued on.
    if (Output.stdoutIsTerminal()) yield* Output.stdout("\n")
  }, Effect.scoped)
).pipe(Command.withDescription("Print the newest verified value of a key (raw bytes; --json: the whole entry)"))
