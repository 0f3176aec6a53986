import { Codec, type Entry } from "@dave/protocol"
import {
  Clock,
  Context,
  Duration,
  Effect,
  Exit,
  FileSystem,
  Layer,
  Metric,
  Queue,
  Result,
  Schedule,
  Scope,
  Semaphore
} from "effect"
import {
  BackupClosedError,
  BackupEntryError,
  BackupReadError,
  BackupWriteError,
  type OpenError,
  type RestoreError
} from "./BackupError.ts"
import * as Metrics from "./BackupMetrics.ts"
import { writeCompacted } from "./Compaction.ts"
import { syncDirectoryOf, tmpPathOf } from "./Durable.ts"
import * as Format from "./Format.ts"
import { openBackupFile } from "./OpenFile.ts"
import { emptyReport, type RestoreReport, readHeader, scanRecords } from "./ReadBackup.ts"

export interface CompactReport {
  readonly records: number
  readonly bytes: number
  /** Live entries left out because they cannot be encoded. */
  readonly skipped: number
  readonly durationMs: number
}

/**
 * The crash-safe append log of accepted entries (format: Format.ts). Appends are group-committed:
 * queued in memory and written + fsync'd together every `flushIntervalMs`, when the queue passes
 * `flushAfterBytes`, on `flush`, and at shutdown.
 */
export class Backup extends Context.Service<
  Backup,
  {
    /**
     * Queues an entry. Not yet durable when it returns: `flush` (or the next group commit) makes it so.
     * When the queue is full it suspends until a flush makes room (backpressure, never a drop).
     */
    readonly append: (entry: Entry) => Effect.Effect<void, BackupEntryError | BackupClosedError>
    /** Writes and fsyncs every entry appended before the call; returns once they are durable. */
    readonly flush: Effect.Effect<void, BackupWriteError>
    /**
     * Rewrites the file with exactly `liveEntries` (plus anything appended meanwhile, which stays
     * queued and goes to the new file): `<path>.tmp`, fsync, rename, fsync of the directory. The
     * entries must include every live entry appended before the call; entries appended but no longer
     * live are dropped, which is the point. Appends wait in the queue while it runs.
     */
    readonly compact: (liveEntries: Iterable<Entry>) => Effect.Effect<CompactReport, BackupWriteError>
    /**
     * Reads back every durable record, in file order, into `onEntry`. Call it once at start, before
     * the node accepts writes (later calls also return what this process appended). Only CRCs are
     * checked: the caller verifies signatures and work (the node may do that in the background after
     * start and evict failures). `onEntry` must not call `compact` (it would wait for this restore).
     */
    readonly restore: <E = never, R = never>(
      onEntry: (entry: Entry) => Effect.Effect<void, E, R>
    ) => Effect.Effect<RestoreReport, RestoreError | E, R>
  }
>()("@dave/backup/Backup") {}

export interface Options {
  readonly path: string
  /** Group-commit interval. Default 1000. */
  readonly flushIntervalMs?: number
  /** Flush early once this many bytes are queued. Default 1 MiB. */
  readonly flushAfterBytes?: number
  /** Queue bound in records (each ≤ 1434 bytes); `append` suspends beyond it. Default 16384. */
  readonly maxQueuedRecords?: number
  /**
   * Scheduled compaction, every `everyMs` (first after `everyMs`), of the entries `liveEntries`
   * yields at that moment. Without it, compaction happens only when the owner calls `compact`.
   */
  readonly compaction?: {
    readonly everyMs: number
    readonly liveEntries: Effect.Effect<Iterable<Entry>>
  }
}

/** Rounds of draining at shutdown, for appends that were waiting on a full queue. */
const SHUTDOWN_FLUSH_ROUNDS = 8

const concat = (parts: ReadonlyArray<Uint8Array>, totalBytes: number): Uint8Array => {
  const out = new Uint8Array(totalBytes)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

const positiveInt = (name: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`Backup option ${name} must be a positive integer`)
  return value
}

const settingsOf = (options: Options) => ({
  flushIntervalMs: positiveInt("flushIntervalMs", options.flushIntervalMs ?? 1000),
  flushAfterBytes: positiveInt("flushAfterBytes", options.flushAfterBytes ?? 1024 * 1024),
  maxQueuedRecords: positiveInt("maxQueuedRecords", options.maxQueuedRecords ?? 16_384),
  compactEveryMs:
    options.compaction === undefined ? undefined : positiveInt("compaction.everyMs", options.compaction.everyMs)
})

/** Opens (or creates) the backup and starts its group-commit fiber; flushes and closes with the scope. */
export const make = (
  options: Options
): Effect.Effect<Backup["Service"], OpenError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const settings = yield* Effect.try({ try: () => settingsOf(options), catch: (e) => e }).pipe(Effect.orDie)
    const fs = yield* FileSystem.FileSystem
    const path = options.path
    const opened = yield* openBackupFile(fs, path)
    if (opened.tornTail !== undefined) {
      yield* Metric.update(Metrics.tornTails, 1)
      yield* Effect.logWarning("backup torn tail cut").pipe(Effect.annotateLogs({ path, ...opened.tornTail }))
    }

    let current = { file: opened.file, scope: opened.scope }
    /** End of the records known durable: restore reads up to here. */
    let durableEndBytes = opened.sizeBytes
    /** Records taken off the queue whose write or fsync failed: retried first by the next flush. */
    let pending: Array<Uint8Array> = []
    let pendingBytes = 0
    let queuedBytes = 0
    /** A rename whose directory fsync failed: retried by every flush until it succeeds. */
    let directoryDirty = false
    /** A write failed part-way, so the file may hold more bytes than `durableEndBytes` counts. */
    let sizeUnknown = false
    let closed = false

    const queue = yield* Queue.bounded<Uint8Array>(settings.maxQueuedRecords)
    const kick = yield* Queue.sliding<void>(1)
    const writeLock = yield* Semaphore.make(1)
    /** Held by compaction and restore: restore must not read a file that compaction replaces. */
    const swapLock = yield* Semaphore.make(1)
    const writeError = (operation: BackupWriteError["operation"]) => (cause: unknown) =>
      new BackupWriteError({ path, operation, cause })

    const append = (entry: Entry): Effect.Effect<void, BackupEntryError | BackupClosedError> =>
      Effect.suspend((): Effect.Effect<void, BackupEntryError | BackupClosedError> => {
        if (closed) return Effect.fail(new BackupClosedError({ path }))
        const payload = Codec.encodeEntry(entry)
        if (Result.isFailure(payload)) return Effect.fail(new BackupEntryError({ cause: payload.failure }))
        const record = Format.encodeRecord(payload.success)
        return Queue.offer(queue, record).pipe(
          Effect.flatMap(() => {
            queuedBytes += record.length
            if (queuedBytes >= settings.flushAfterBytes) Queue.offerUnsafe(kick, undefined)
            return Metric.update(Metrics.recordsAppended, 1)
          })
        )
      })

    // Uninterruptible: records taken off the queue must reach `pending` or the file, never vanish.
    const flushLocked = Effect.gen(function* () {
      if (pending.length < settings.maxQueuedRecords) {
        for (const record of yield* Queue.clear(queue)) {
          pending.push(record)
          pendingBytes += record.length
          queuedBytes -= record.length
        }
      }
      if (pending.length === 0 && !directoryDirty) return
      const startedMs = yield* Clock.currentTimeMillis
      if (pending.length > 0) {
        const batch = concat(pending, pendingBytes)
        yield* current.file.writeAll(batch).pipe(
          Effect.tapError(() =>
            Effect.sync(() => {
              sizeUnknown = true
            })
          ),
          Effect.mapError(writeError("write"))
        )
        yield* current.file.sync.pipe(Effect.mapError(writeError("sync")))
        durableEndBytes += batch.length
        pending = []
        pendingBytes = 0
        yield* Metric.update(Metrics.bytesWritten, batch.length)
        if (sizeUnknown) {
          const info = yield* Effect.option(current.file.stat)
          if (info._tag === "Some") {
            durableEndBytes = Number(info.value.size)
            sizeUnknown = false
          }
        }
      }
      if (directoryDirty) {
        yield* syncDirectoryOf(path).pipe(Effect.mapError(writeError("syncDirectory")))
        directoryDirty = false
      }
      yield* Metric.update(Metrics.flushes, 1)
      yield* Metric.update(Metrics.flushLatencyMs, (yield* Clock.currentTimeMillis) - startedMs)
    }).pipe(Effect.tapError(() => Metric.update(Metrics.flushErrors, 1)))
    const flush: Effect.Effect<void, BackupWriteError> = writeLock.withPermit(Effect.uninterruptible(flushLocked))
    const flushLogged = flush.pipe(
      Effect.catch((e) => Effect.logWarning("backup flush failed", e.message).pipe(Effect.annotateLogs({ path })))
    )

    const swapIn = (next: { readonly file: FileSystem.File; readonly scope: Scope.Closeable; sizeBytes: number }) =>
      Effect.gen(function* () {
        yield* fs.rename(tmpPathOf(path), path).pipe(
          Effect.mapError(writeError("rename")),
          Effect.tapError(() =>
            Scope.close(next.scope, Exit.void).pipe(
              Effect.andThen(fs.remove(tmpPathOf(path), { force: true })),
              Effect.ignore
            )
          )
        )
        const old = current
        current = { file: next.file, scope: next.scope }
        durableEndBytes = next.sizeBytes
        sizeUnknown = false
        yield* Scope.close(old.scope, Exit.void)
        directoryDirty = true
        yield* syncDirectoryOf(path).pipe(Effect.mapError(writeError("syncDirectory")))
        directoryDirty = false
      })

    const compact = (liveEntries: Iterable<Entry>): Effect.Effect<CompactReport, BackupWriteError> =>
      Effect.gen(function* () {
        const startedMs = yield* Clock.currentTimeMillis
        const written = yield* writeCompacted(fs, path, liveEntries)
        yield* Effect.uninterruptible(swapIn(written))
        yield* Metric.update(Metrics.compactions, 1)
        yield* Metric.update(Metrics.bytesWritten, written.sizeBytes)
        const durationMs = (yield* Clock.currentTimeMillis) - startedMs
        return { records: written.records, bytes: written.sizeBytes, skipped: written.skipped, durationMs }
      }).pipe(writeLock.withPermit, swapLock.withPermit)

    const restore = <E = never, R = never>(
      onEntry: (entry: Entry) => Effect.Effect<void, E, R>
    ): Effect.Effect<RestoreReport, RestoreError | E, R> =>
      Effect.gen(function* () {
        const startedMs = yield* Clock.currentTimeMillis
        const endBytes = durableEndBytes
        const readError = (cause: unknown) => new BackupReadError({ path, cause })
        const file = yield* fs.open(path, { flag: "r" }).pipe(Effect.mapError(readError))
        yield* readHeader(file, path, endBytes)
        const totals = yield* scanRecords(file, path, endBytes, onEntry)
        yield* Metric.update(Metrics.recordsRestored, totals.restored)
        yield* Metric.update(Metrics.corruptSkipped, totals.skippedCorrupt)
        if (totals.tornTail !== undefined) yield* Metric.update(Metrics.tornTails, 1)
        const report: RestoreReport = {
          ...totals,
          tornTail: totals.tornTail ?? opened.tornTail,
          path,
          durationMs: (yield* Clock.currentTimeMillis) - startedMs
        }
        return report
      }).pipe(Effect.scoped, swapLock.withPermit)

    // Registered before the fibers below, so it runs after they are interrupted (finalizers run in reverse).
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closed = true
        for (let round = 0; round < SHUTDOWN_FLUSH_ROUNDS; round++) {
          yield* flushLogged
          if (pending.length === 0 && (yield* Queue.size(queue)) === 0) break
        }
        yield* Scope.close(current.scope, Exit.void)
      })
    )

    const interval = Duration.millis(settings.flushIntervalMs)
    yield* flushLogged.pipe(Effect.repeat(Schedule.spaced(interval)), Effect.delay(interval), Effect.forkScoped)
    yield* Queue.take(kick).pipe(Effect.andThen(flushLogged), Effect.forever, Effect.forkScoped)
    if (options.compaction !== undefined && settings.compactEveryMs !== undefined) {
      const every = Duration.millis(settings.compactEveryMs)
      yield* options.compaction.liveEntries.pipe(
        Effect.flatMap(compact),
        Effect.tap((r) => Effect.logInfo("backup compacted").pipe(Effect.annotateLogs({ path, ...r }))),
        Effect.catch((e) =>
          Effect.logWarning("backup compaction failed", e.message).pipe(Effect.annotateLogs({ path }))
        ),
        Effect.repeat(Schedule.spaced(every)),
        Effect.delay(every),
        Effect.forkScoped
      )
    }

    return Backup.of({ append, flush, compact, restore })
  })

/** The backup at `options.path`. Needs a FileSystem (NodeFileSystem.layer in the node). */
export const layer = (options: Options): Layer.Layer<Backup, OpenError, FileSystem.FileSystem> =>
  Layer.effect(Backup, make(options))

const emptyRestore: RestoreReport = emptyReport("")

/** No backup file: appends are dropped on purpose, restore is empty, compaction does nothing. */
export const layerDisabled: Layer.Layer<Backup> = Layer.succeed(
  Backup,
  Backup.of({
    append: () => Effect.void,
    flush: Effect.void,
    compact: () => Effect.succeed({ records: 0, bytes: 0, skipped: 0, durationMs: 0 }),
    restore: () => Effect.succeed(emptyRestore)
  })
)
