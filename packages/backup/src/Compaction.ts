import { Codec, type Entry } from "@dave/protocol"
import { Effect, Exit, type FileSystem, Result, Scope } from "effect"
import { BackupWriteError } from "./BackupError.ts"
import { tmpPathOf } from "./Durable.ts"
import * as Format from "./Format.ts"

/** A freshly written, fsync'd compacted backup at `<path>.tmp`, still open, not yet renamed. */
export interface CompactedFile {
  readonly file: FileSystem.File
  readonly scope: Scope.Closeable
  readonly sizeBytes: number
  readonly records: number
  /** Live entries that could not be encoded (invalid field sizes), left out. */
  readonly skipped: number
}

/** Records are gathered into writes of about this size, so memory stays bounded whatever the store holds. */
const WRITE_CHUNK_BYTES = 1024 * 1024
/** Upper bound on the entries of one compaction: far above any store budget; it bounds the loop. */
export const MAX_COMPACT_RECORDS = 64 * 1024 * 1024

/**
 * Writes header + one record per live entry to `<path>.tmp` and fsyncs it. The handle is opened for
 * writing at the end, so once the caller renames the file over `path` it keeps appending through the
 * same handle. On failure or interruption the temporary file is closed and removed.
 */
export const writeCompacted = (
  fs: FileSystem.FileSystem,
  path: string,
  liveEntries: Iterable<Entry>
): Effect.Effect<CompactedFile, BackupWriteError> =>
  Effect.gen(function* () {
    const tmp = tmpPathOf(path)
    const writeError = (operation: "open" | "write" | "sync") => (cause: unknown) =>
      new BackupWriteError({ path: tmp, operation, cause })
    const scope = yield* Scope.make()
    const written = Effect.gen(function* () {
      const file = yield* fs.open(tmp, { flag: "w" }).pipe(Scope.provide(scope), Effect.mapError(writeError("open")))
      const chunk = new Uint8Array(WRITE_CHUNK_BYTES + Format.MAX_RECORD_LEN)
      chunk.set(Format.encodeHeader(), 0)
      let used = Format.HEADER_LEN
      let sizeBytes = 0
      let records = 0
      let skipped = 0
      for (const entry of liveEntries) {
        if (records + skipped >= MAX_COMPACT_RECORDS) {
          // Aborting keeps the old file, which still holds every committed record.
          return yield* writeError("write")(`more than ${MAX_COMPACT_RECORDS} live entries`)
        }
        const payload = Codec.encodeEntry(entry)
        if (Result.isFailure(payload)) {
          skipped++
          continue
        }
        used = Format.writeRecord(chunk, used, payload.success)
        records++
        if (used >= WRITE_CHUNK_BYTES) {
          yield* file.writeAll(chunk.subarray(0, used)).pipe(Effect.mapError(writeError("write")))
          sizeBytes += used
          used = 0
        }
      }
      yield* file.writeAll(chunk.subarray(0, used)).pipe(Effect.mapError(writeError("write")))
      sizeBytes += used
      yield* file.sync.pipe(Effect.mapError(writeError("sync")))
      return { file, scope, sizeBytes, records, skipped }
    })
    return yield* written.pipe(
      Effect.onExit((exit) =>
        Exit.isSuccess(exit)
          ? Effect.void
          : Scope.close(scope, Exit.void).pipe(Effect.andThen(fs.remove(tmp, { force: true })), Effect.ignore)
      )
    )
  })
