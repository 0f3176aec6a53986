import * as Path from "node:path"
import { KeyFile, type KeyPair } from "@dave/crypto"
import { Constants } from "@dave/protocol"
import { Effect, FileSystem } from "effect"
import * as Failure from "./Failure.ts"
import * as Output from "./Output.ts"

/** The author's key: read from its key file, created there on first use, or named by `--author`. */

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")

const describeError = (error: { readonly _tag: string; readonly message: string }): string =>
  error._tag === "PlatformError" ? `cannot use the key file: ${error.message}` : error.message

/** Reads the key file; a missing one is a usage error naming `dave keygen`. */
export const read = (path: string): Effect.Effect<KeyPair, Failure.CliFailure, FileSystem.FileSystem> =>
  KeyFile.read(path).pipe(
    Effect.mapError((e) =>
      e._tag === "KeyFileNotFoundError"
        ? Failure.usage(`no key file at ${path}: create one with "dave keygen", or pass --author <public key>`)
        : Failure.usage(describeError(e))
    )
  )

/** Writes a new key file (mode 0600), creating its directory; refuses to replace one unless `overwrite`. */
export const create = (
  path: string,
  options: { readonly overwrite: boolean }
): Effect.Effect<KeyPair, Failure.CliFailure, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(Path.dirname(path), { recursive: true, mode: 0o700 })
    const keyPair = yield* KeyFile.generate()
    yield* KeyFile.write(path, keyPair, { overwrite: options.overwrite })
    return keyPair
  }).pipe(
    Effect.mapError((e) =>
      e._tag === "KeyFileExistsError"
        ? Failure.usage(`key file already exists: ${path} (pass --force to replace it)`)
        : Failure.usage(describeError(e))
    )
  )

/** Reads the key file, or creates it with a notice on stderr when there is none. */
export const readOrCreate = (path: string): Effect.Effect<KeyPair, Failure.CliFailure, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const exists = yield* fs.exists(path).pipe(Effect.orElseSucceed(() => false))
    if (exists) return yield* read(path)
    const keyPair = yield* create(path, { overwrite: false })
    yield* Output.stderrLine(`created a new key file at ${path} (public key ${hex(keyPair.publicKey)})`)
    return keyPair
  })

/** A public key given as 64 hex digits. */
export const parsePublicKey = (text: string): Effect.Effect<Uint8Array, Failure.CliFailure> => {
  const digits = Constants.PUBKEY_LEN * 2
  return new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(text)
    ? Effect.succeed(Uint8Array.from(Buffer.from(text, "hex")))
    : Effect.fail(Failure.usage(`--author must be a public key of ${digits} hex digits, got "${text}"`))
}

export { hex }
