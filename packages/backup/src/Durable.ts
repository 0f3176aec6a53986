import * as NodeFs from "node:fs/promises"
import * as NodePath from "node:path"
import { Effect, type FileSystem } from "effect"

/** Where compaction (and creation of a fresh file) writes before the rename. */
export const tmpPathOf = (path: string): string => `${path}.tmp`

/**
 * fsyncs the directory holding `path`, so that a rename or creation in it survives a power cut.
 * effect's FileSystem has no directory fsync (its `open` is for files and `sync` needs a File), so
 * this opens the directory read-only with node:fs and fsyncs that descriptor, as POSIX requires.
 */
export const syncDirectoryOf = (path: string): Effect.Effect<void, unknown> =>
  Effect.tryPromise({
    try: async () => {
      const dir = await NodeFs.open(NodePath.dirname(path), "r")
      try {
        await dir.sync()
      } finally {
        await dir.close()
      }
    },
    catch: (cause) => cause
  })

/**
 * Writes `data` to `path` through `<path>.tmp`: write, fsync, rename over `path`, fsync the directory.
 * A crash at any point leaves either the old file or the complete new one.
 */
export const writeFileDurably = (
  fs: FileSystem.FileSystem,
  path: string,
  data: Uint8Array
): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    const tmp = tmpPathOf(path)
    yield* Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(tmp, { flag: "w" })
        yield* file.writeAll(data)
        yield* file.sync
      })
    )
    yield* fs.rename(tmp, path)
    yield* syncDirectoryOf(path)
  })
