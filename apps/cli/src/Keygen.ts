import * as Path from "node:path"
import { NodeId } from "@dave/protocol"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as AuthorKey from "./AuthorKey.ts"
import * as Output from "./Output.ts"
import * as Root from "./Root.ts"

/** `dave keygen [file]`: a new Ed25519 key file (64 bytes, mode 0600); prints the public key. */
export const command = Command.make(
  "keygen",
  {
    file: Argument.String("file").pipe(
      Argument.withDescription("where to write the key (default: --key-file, ~/.dave/key)"),
      Argument.optional
    ),
    force: Flag.Boolean("force").pipe(Flag.withDescription("replace an existing key file"), Flag.withDefault(false))
  },
  Effect.fn(function* ({ file, force }) {
    const s = yield* Root.settings
    const path = Path.resolve(Option.getOrElse(file, () => s.keyFile))
    const keyPair = yield* AuthorKey.create(path, { overwrite: force })
    const publicKey = AuthorKey.hex(keyPair.publicKey)
    if (s.json) {
      return yield* Output.json({ file: path, publicKey, nodeId: NodeId.fromPublicKey(keyPair.publicKey).toString() })
    }
    yield* Output.stdoutLine(publicKey)
    yield* Output.stderrLine(`wrote ${path}`)
  })
).pipe(Command.withDescription("Create a key file (64 bytes: seed ‖ public key, mode 0600) and print its public key"))
