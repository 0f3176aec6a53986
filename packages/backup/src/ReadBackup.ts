import type { Entry } from "@dave/protocol"
import { Clock, Effect, FileSystem } from "effect"
import { BackupReadError, BadHeader, type RestoreError, UnsupportedVersion } from "./BackupError.ts"
import * as Format from "./Format.ts"
import { Scanner, type ScanTotals } from "./Scanner.ts"

/**
 * What a restore found. Only the CRC is checked here: the caller verifies signatures and work of the
 * restored entries (the node does it in the background after start and evicts any that fail).
 */
export interface RestoreReport extends ScanTotals {
  readonly path: string
  /** Bytes of the file that were scanned, header included. */
  readonly bytes: number
  readonly durationMs: number
}

/**
 * Bytes read per chunk. The entries of one chunk are all alive until handed over, so a chunk should
 * hold few enough (about 3,000) that they die young in the garbage collector; 4 MiB chunks were slower.
 */
export const CHUNK_BYTES = 1024 * 1024
/** How many corrupt-region offsets a report lists (the count is always exact). */
export const MAX_CORRUPT_OFFSETS = 64

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString("hex")

/** Reads and checks the header of an open backup file of `sizeBytes` > 0 bytes. */
export const readHeader = (file: FileSystem.File, path: string, sizeBytes: number): Effect.Effect<void, RestoreError> =>
  Effect.gen(function* () {
    const header = new Uint8Array(Math.min(sizeBytes, Format.HEADER_LEN))
    const n = yield* readFully(file, path, header, 0)
    const found = header.subarray(0, n)
    const check = Format.checkHeader(found)
    switch (check._tag) {
      case "Ok":
        return
      case "UnsupportedVersion":
        return yield* new UnsupportedVersion({ path, version: check.version, supported: Format.VERSION })
      default:
        return yield* new BadHeader({ path, reason: check._tag, found: hexOf(found) })
    }
  })

/** Fills `into` from file offset `position`; returns the bytes read (fewer only at end of file). */
export const readFully = (
  file: FileSystem.File,
  path: string,
  into: Uint8Array,
  position: number
): Effect.Effect<number, BackupReadError> =>
  Effect.gen(function* () {
    let filled = 0
    // Each read returns at least one byte or ends the loop, so at most `into.length` reads.
    for (let reads = 0; filled < into.length && reads < into.length; reads++) {
      const n = yield* file
        .read(into.subarray(filled), { position: BigInt(position + filled) })
        .pipe(Effect.mapError((cause) => new BackupReadError({ path, cause })))
      if (n === 0) break
      filled += n
    }
    return filled
  })

/**
 * Scans the records of an open backup between its header and `endOffset`, handing every intact entry
 * to `onEntry` in file order. The header must already be checked.
 */
export const scanRecords = <E, R>(
  file: FileSystem.File,
  path: string,
  endOffset: number,
  onEntry: (entry: Entry) => Effect.Effect<void, E, R>
): Effect.Effect<ScanTotals & { readonly bytes: number }, BackupReadError | E, R> =>
  Effect.gen(function* () {
    const scanner = new Scanner(MAX_CORRUPT_OFFSETS)
    let base = Format.HEADER_LEN
    // Room for a chunk plus the unconsumed remainder of the previous one (less than one record).
    const buf = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(0, endOffset - base)) + Format.MAX_RECORD_LEN)
    let filled = 0
    const maxChunks = Math.ceil(Math.max(0, endOffset - base) / CHUNK_BYTES) + 2
    for (let chunk = 0; chunk < maxChunks; chunk++) {
      const want = Math.min(buf.length - filled, endOffset - (base + filled))
      const n = want > 0 ? yield* readFully(file, path, buf.subarray(filled, filled + want), base + filled) : 0
      filled += n
      const eof = n < want || base + filled >= endOffset
      const entries: Array<Entry> = []
      const consumed = scanner.scan(buf, base, filled, eof, entries)
      yield* Effect.forEach(entries, onEntry, { discard: true })
      if (eof) return { ...scanner.finish(base + filled), bytes: base + filled }
      if (consumed === 0 && filled === buf.length) break
      buf.copyWithin(0, consumed, filled)
      filled -= consumed
      base += consumed
    }
    return yield* Effect.die(new Error(`backup scan of ${path} made no progress at offset ${base}`))
  })

/** The report of a backup with no records: no file, or an empty one. */
export const emptyReport = (path: string): RestoreReport => ({
  path,
  bytes: 0,
  restored: 0,
  skippedCorrupt: 0,
  skippedBytes: 0,
  corruptOffsets: [],
  tornTail: undefined,
  durationMs: 0
})

/**
 * Reads a backup file without the service (tools, tests, inspection): every intact entry goes to
 * `onEntry` in file order, damaged records are skipped and reported. A missing or empty file is an
 * empty backup. Nothing is written: a torn tail is reported, not truncated.
 */
export const readBackup = <E = never, R = never>(
  path: string,
  onEntry: (entry: Entry) => Effect.Effect<void, E, R>
): Effect.Effect<RestoreReport, RestoreError | E, R | FileSystem.FileSystem> =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const startedMs = yield* Clock.currentTimeMillis
      const readError = (cause: unknown) => new BackupReadError({ path, cause })
      if (!(yield* fs.exists(path).pipe(Effect.mapError(readError)))) return emptyReport(path)
      const file = yield* fs.open(path, { flag: "r" }).pipe(Effect.mapError(readError))
      const sizeBytes = Number((yield* file.stat.pipe(Effect.mapError(readError))).size)
      if (sizeBytes === 0) return emptyReport(path)
      yield* readHeader(file, path, sizeBytes)
      const totals = yield* scanRecords(file, path, sizeBytes, onEntry)
      return { ...totals, path, durationMs: (yield* Clock.currentTimeMillis) - startedMs }
    })
  )

/** `readBackup` collecting the entries into an array: for tests and small files. */
export const readBackupEntries = (
  path: string
): Effect.Effect<
  { readonly entries: ReadonlyArray<Entry>; readonly report: RestoreReport },
  RestoreError,
  FileSystem.FileSystem
> =>
  Effect.suspend(() => {
    const entries: Array<Entry> = []
    return readBackup(path, (entry) => Effect.sync(() => void entries.push(entry))).pipe(
      Effect.map((report) => ({ entries, report }))
    )
  })
