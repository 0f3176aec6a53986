import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { KeyFile } from "@dave/crypto"
import * as V from "@dave/protocol/vectors"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, FileSystem } from "effect"

/** A fresh temporary directory, deleted when the test's scope closes. */
const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "dave-keyfile-" }))
const modeOf = (path: string) => Effect.promise(() => Fs.stat(path)).pipe(Effect.map((s) => s.mode & 0o777))
const writeRaw = (path: string, bytes: Uint8Array) => Effect.promise(() => Fs.writeFile(path, bytes))

describe("KeyFile", () => {
  it.effect("fromSeed derives the reference public key; a bad seed is a typed error", () =>
    Effect.gen(function* () {
      const pair = yield* KeyFile.fromSeed(V.seed)
      expect(pair.publicKey).toEqual(V.publicKey)
      const error = yield* Effect.flip(KeyFile.fromSeed(V.seed.subarray(1)))
      expect(error._tag).toBe("InvalidKeyError")
      expect(error.reason).toBe("SeedSize")
    })
  )

  it.effect("write then read round-trips; the file is seed ‖ public key with mode 0600", () =>
    Effect.gen(function* () {
      const path = Path.join(yield* tempDir, "node.key")
      const pair = yield* KeyFile.fromSeed(V.seed)
      yield* KeyFile.write(path, pair)
      const raw = new Uint8Array(yield* Effect.promise(() => Fs.readFile(path)))
      expect(raw.length).toBe(64)
      expect(raw.subarray(0, 32)).toEqual(V.seed)
      expect(raw.subarray(32)).toEqual(V.publicKey)
      expect(yield* modeOf(path)).toBe(0o600)
      expect(yield* KeyFile.read(path)).toEqual(pair)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.effect("write refuses to overwrite unless asked; an overwrite keeps mode 0600", () =>
    Effect.gen(function* () {
      const path = Path.join(yield* tempDir, "node.key")
      const first = yield* KeyFile.generate()
      const second = yield* KeyFile.generate()
      yield* KeyFile.write(path, first)
      const exists = yield* Effect.flip(KeyFile.write(path, second))
      expect(exists._tag).toBe("KeyFileExistsError")
      expect(yield* KeyFile.read(path)).toEqual(first)
      yield* Effect.promise(() => Fs.chmod(path, 0o644))
      yield* KeyFile.write(path, second, { overwrite: true })
      expect(yield* KeyFile.read(path)).toEqual(second)
      expect(yield* modeOf(path)).toBe(0o600)
      const left = yield* Effect.promise(() => Fs.readdir(Path.dirname(path)))
      expect(left).toEqual(["node.key"])
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.effect("write refuses a key pair whose public key does not match its seed", () =>
    Effect.gen(function* () {
      const path = Path.join(yield* tempDir, "node.key")
      const other = yield* KeyFile.generate()
      const error = yield* Effect.flip(KeyFile.write(path, { seed: V.seed, publicKey: other.publicKey }))
      expect(error._tag).toBe("InvalidKeyError")
      const exists = yield* Effect.promise(() =>
        Fs.access(path).then(
          () => true,
          () => false
        )
      )
      assert.isFalse(exists)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.effect("read: missing file, wrong size, mismatched public key are typed errors", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const missing = yield* Effect.flip(KeyFile.read(Path.join(dir, "none.key")))
      expect(missing._tag).toBe("KeyFileNotFoundError")

      for (const size of [0, 32, 63, 65]) {
        const path = Path.join(dir, `size${size}.key`)
        yield* writeRaw(path, new Uint8Array(size))
        const error = yield* Effect.flip(KeyFile.read(path))
        expect(error._tag).toBe("KeyFileSizeError")
        if (error._tag === "KeyFileSizeError") expect(error.sizeBytes).toBe(size)
      }

      const other = yield* KeyFile.generate()
      const mismatched = Path.join(dir, "mismatch.key")
      yield* writeRaw(mismatched, KeyFile.encode({ seed: V.seed, publicKey: other.publicKey }))
      const error = yield* Effect.flip(KeyFile.read(mismatched))
      expect(error._tag).toBe("KeyFileMismatchError")
      expect(error.message).toContain(mismatched)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.effect("loadOrCreate creates a key file once and then loads the same key", () =>
    Effect.gen(function* () {
      const path = Path.join(yield* tempDir, "node.key")
      const created = yield* KeyFile.loadOrCreate(path)
      expect(yield* modeOf(path)).toBe(0o600)
      const loaded = yield* KeyFile.loadOrCreate(path)
      expect(loaded).toEqual(created)
      expect((yield* KeyFile.fromSeed(created.seed)).publicKey).toEqual(created.publicKey)
      // A damaged file is reported, never silently replaced.
      yield* writeRaw(path, new Uint8Array(10))
      const error = yield* Effect.flip(KeyFile.loadOrCreate(path))
      expect(error._tag).toBe("KeyFileSizeError")
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.effect("generate makes distinct, consistent key pairs", () =>
    Effect.gen(function* () {
      const a = yield* KeyFile.generate()
      const b = yield* KeyFile.generate()
      expect(a.seed).not.toEqual(b.seed)
      expect(yield* KeyFile.check(a)).toEqual(a)
    })
  )
})
