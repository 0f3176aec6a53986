import { Effect, Exit, type FileSystem, Scope } from "effect"
import { BackupOpenError, type OpenError } from "./BackupError.ts"
import { tmpPathOf, writeFileDurably } from "./Durable.ts"
import * as Format from "./Format.ts"
import { readFully, readHeader, scanRecords } from "./ReadBackup.ts"
import { lastRecordEnd, type TornTail } from "./Scanner.ts"

/** A backup file open for appending. Its handle lives in `scope`, which the owner closes. */
export interface OpenedFile {
  readonly file: FileSystem.File
  readonly scope: Scope.Closeable
  /** File size after any torn-tail repair: everything before it is intact records. */
  readonly sizeBytes: number
  readonly tornTail: TornTail | undefined
  readonly created: boolean
}

/**
 * Where the intact records of a file of `sizeBytes` end. Looks at the last two maximal records first
 * (a torn write is shorter than one record); only when that window holds no intact record and does not
 * reach back to the header does it scan the whole file.
 */
const validEnd = (file: FileSystem.File, path: string, sizeBytes: number) =>
  Effect.gen(function* () {
    const windowStart = Math.max(Format.HEADER_LEN, sizeBytes - 2 * Format.MAX_RECORD_LEN)
    const window = new Uint8Array(sizeBytes - windowStart)
    const n = yield* readFully(file, path, window, windowStart)
    const end = lastRecordEnd(window.subarray(0, n), windowStart)
    if (end !== undefined) return end
    if (windowStart === Format.HEADER_LEN) return Format.HEADER_LEN
    const totals = yield* scanRecords(file, path, sizeBytes, () => Effect.void)
    return totals.tornTail?.offset ?? sizeBytes
  })

/** Checks the header of an existing file and cuts a torn tail back to the last intact record. */
const repairTail = (fs: FileSystem.FileSystem, path: string, sizeBytes: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const openError = (operation: string) => (cause: unknown) => new BackupOpenError({ path, operation, cause })
      const file = yield* fs.open(path, { flag: "r+" }).pipe(Effect.mapError(openError("open")))
      yield* readHeader(file, path, sizeBytes).pipe(
        Effect.catchTag("BackupReadError", (e) => openError("read")(e.cause))
      )
      const end = yield* validEnd(file, path, sizeBytes).pipe(
        Effect.catchTag("BackupReadError", (e) => openError("read")(e.cause))
      )
      if (end === sizeBytes) return undefined
      yield* file.truncate(end).pipe(Effect.mapError(openError("truncate")))
      yield* file.sync.pipe(Effect.mapError(openError("sync")))
      const tornTail: TornTail = { offset: end, bytes: sizeBytes - end, truncated: true }
      return tornTail
    })
  )

/**
 * Opens (or creates) the backup at `path` for appending. A missing or empty file becomes a fresh
 * backup (header written through a temporary file and a rename). An existing file must carry our
 * header and a known version, or this fails and leaves it untouched. A leftover `<path>.tmp` is the
 * output of a compaction that never reached its rename, so it is deleted.
 */
export const openBackupFile = (fs: FileSystem.FileSystem, path: string): Effect.Effect<OpenedFile, OpenError> =>
  Effect.gen(function* () {
    const openError = (operation: string) => (cause: unknown) => new BackupOpenError({ path, operation, cause })
    yield* fs.remove(tmpPathOf(path), { force: true }).pipe(Effect.mapError(openError("remove stale tmp of")))
    const exists = yield* fs.exists(path).pipe(Effect.mapError(openError("stat")))
    const sizeBytes = exists ? Number((yield* fs.stat(path).pipe(Effect.mapError(openError("stat")))).size) : 0
    const created = sizeBytes === 0
    const tornTail = created
      ? yield* writeFileDurably(fs, path, Format.encodeHeader()).pipe(
          Effect.mapError(openError("create")),
          Effect.as(undefined)
        )
      : yield* repairTail(fs, path, sizeBytes)
    const scope = yield* Scope.make()
    const file = yield* fs.open(path, { flag: "a" }).pipe(
      Scope.provide(scope),
      Effect.tapError(() => Scope.close(scope, Exit.void)),
      Effect.mapError(openError("open"))
    )
    const finalSize = created ? Format.HEADER_LEN : tornTail === undefined ? sizeBytes : tornTail.offset
    return { file, scope, sizeBytes: finalSize, tornTail, created }
  })
