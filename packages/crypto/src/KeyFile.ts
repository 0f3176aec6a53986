import * as NodeCrypto from "node:crypto"
import { Data, Effect, FileSystem, type PlatformError } from "effect"
import { PUBLIC_KEY_LEN, SEED_LEN } from "./internal/ed25519.ts"
import { backend as native } from "./internal/native.ts"

/**
 * Ed25519 key pairs and key files compatible with the reference (`daved keygen`): the file is the raw
 * 64 bytes seed ‖ public key, mode 0600.
 */

/** An Ed25519 key pair: the 32-byte seed (private) and the 32-byte public key derived from it. */
export interface KeyPair {
  readonly seed: Uint8Array
  readonly publicKey: Uint8Array
}

/** Size of a key file: seed ‖ public key. */
export const FILE_SIZE_BYTES = SEED_LEN + PUBLIC_KEY_LEN
/** Permissions of a key file: owner read/write only. */
export const FILE_MODE = 0o600

/** A seed that is not 32 bytes, or a public key that is not the one derived from the seed. */
export class InvalidKeyError extends Data.TaggedError("InvalidKeyError")<{
  readonly reason: "SeedSize" | "PublicKeyMismatch"
  readonly sizeBytes: number
}> {
  override get message(): string {
    return this.reason === "SeedSize"
      ? `Ed25519 seed must be ${SEED_LEN} bytes, got ${this.sizeBytes}`
      : "public key does not match the seed"
  }
}

export class KeyFileNotFoundError extends Data.TaggedError("KeyFileNotFoundError")<{ readonly path: string }> {
  override get message(): string {
    return `key file not found: ${this.path}`
  }
}

export class KeyFileSizeError extends Data.TaggedError("KeyFileSizeError")<{
  readonly path: string
  readonly sizeBytes: number
}> {
  override get message(): string {
    return `key file ${this.path} has ${this.sizeBytes} bytes, expected ${FILE_SIZE_BYTES} (seed ‖ public key)`
  }
}

export class KeyFileMismatchError extends Data.TaggedError("KeyFileMismatchError")<{ readonly path: string }> {
  override get message(): string {
    return `key file ${this.path}: the public key is not the one derived from the seed`
  }
}

export class KeyFileExistsError extends Data.TaggedError("KeyFileExistsError")<{ readonly path: string }> {
  override get message(): string {
    return `key file already exists: ${this.path} (refusing to overwrite)`
  }
}

/** Turns a platform error with the given reason into `replacement`, passing any other through. */
const replaceError =
  <E>(reason: "NotFound" | "AlreadyExists", replacement: () => E) =>
  (error: PlatformError.PlatformError): Effect.Effect<never, E | PlatformError.PlatformError> =>
    Effect.fail(error.reason._tag === reason ? replacement() : error)

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** The key pair of a 32-byte seed (public key derived with node:crypto). */
export const fromSeed = (seed: Uint8Array): Effect.Effect<KeyPair, InvalidKeyError> =>
  seed.length === SEED_LEN
    ? Effect.sync(() => ({ seed: seed.slice(), publicKey: native.publicKeyFromSeed(seed) }))
    : Effect.fail(new InvalidKeyError({ reason: "SeedSize", sizeBytes: seed.length }))

/** Checks that a key pair's public key is the one derived from its seed. */
export const check = (keyPair: KeyPair): Effect.Effect<KeyPair, InvalidKeyError> =>
  Effect.flatMap(fromSeed(keyPair.seed), (derived) =>
    bytesEqual(derived.publicKey, keyPair.publicKey)
      ? Effect.succeed(derived)
      : Effect.fail(new InvalidKeyError({ reason: "PublicKeyMismatch", sizeBytes: keyPair.publicKey.length }))
  )

/** A new key pair from a fresh random seed. */
export const generate = (): Effect.Effect<KeyPair> =>
  Effect.sync(() => {
    const seed = new Uint8Array(NodeCrypto.randomBytes(SEED_LEN))
    return { seed, publicKey: native.publicKeyFromSeed(seed) }
  })

/** The 64 bytes of a key file. */
export const encode = (keyPair: KeyPair): Uint8Array => {
  const out = new Uint8Array(FILE_SIZE_BYTES)
  out.set(keyPair.seed, 0)
  out.set(keyPair.publicKey, SEED_LEN)
  return out
}

/** Reads and checks a key file. */
export const read = (
  path: string
): Effect.Effect<
  KeyPair,
  KeyFileNotFoundError | KeyFileSizeError | KeyFileMismatchError | PlatformError.PlatformError,
  FileSystem.FileSystem
> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const bytes = yield* fs.readFile(path).pipe(
      Effect.catchTag(
        "PlatformError",
        replaceError("NotFound", () => new KeyFileNotFoundError({ path }))
      )
    )
    if (bytes.length !== FILE_SIZE_BYTES) return yield* new KeyFileSizeError({ path, sizeBytes: bytes.length })
    // Copies as plain Uint8Arrays: the platform may hand back a Buffer view of a pooled allocation.
    const keyPair = {
      seed: Uint8Array.from(bytes.subarray(0, SEED_LEN)),
      publicKey: Uint8Array.from(bytes.subarray(SEED_LEN))
    }
    return yield* check(keyPair).pipe(Effect.mapError(() => new KeyFileMismatchError({ path })))
  })

const writeNew = (fs: FileSystem.FileSystem, path: string, bytes: Uint8Array) =>
  Effect.scoped(
    Effect.gen(function* () {
      const file = yield* fs.open(path, { flag: "wx", mode: FILE_MODE })
      yield* file.writeAll(bytes)
      yield* file.sync
    })
  ).pipe(
    // The mode given to open is filtered by the umask; set it exactly.
    Effect.andThen(fs.chmod(path, FILE_MODE)),
    Effect.catchTag(
      "PlatformError",
      replaceError("AlreadyExists", () => new KeyFileExistsError({ path }))
    )
  )

/**
 * Writes a key file with mode 0600. Refuses to replace an existing file unless `overwrite` is set;
 * a replacement is written to a temporary file first and renamed over the old one.
 */
export const write = (
  path: string,
  keyPair: KeyPair,
  options?: { readonly overwrite?: boolean }
): Effect.Effect<void, KeyFileExistsError | InvalidKeyError | PlatformError.PlatformError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const bytes = encode(yield* check(keyPair))
    if (options?.overwrite !== true) return yield* writeNew(fs, path, bytes)
    const temporary = `${path}.${NodeCrypto.randomBytes(6).toString("hex")}.tmp`
    yield* writeNew(fs, temporary, bytes).pipe(
      Effect.andThen(fs.rename(temporary, path)),
      Effect.onError(() => Effect.ignore(fs.remove(temporary, { force: true })))
    )
  })

/** Reads the key file at `path`, or creates one with a new key pair if there is none. */
export const loadOrCreate = (
  path: string
): Effect.Effect<
  KeyPair,
  KeyFileSizeError | KeyFileMismatchError | KeyFileExistsError | PlatformError.PlatformError,
  FileSystem.FileSystem
> =>
  read(path).pipe(
    Effect.catchTag("KeyFileNotFoundError", () =>
      Effect.gen(function* () {
        const keyPair = yield* generate()
        yield* write(path, keyPair).pipe(Effect.catchTag("InvalidKeyError", (error) => Effect.die(error)))
        return keyPair
      })
    )
  )
