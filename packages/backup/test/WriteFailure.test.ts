import * as NodePath from "node:path"
import { Backup, BackupMetrics, readBackupEntries } from "@dave/backup"
import type { Entry } from "@dave/protocol"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FileSystem, Layer, Metric, PlatformError, References } from "effect"
import { entryOf, genuineSeqOf } from "./fixtures/entries.ts"
import { tempDir } from "./fixtures/files.ts"

/** Switches for the fault-injecting file system: while on, every File write (or fsync) fails. */
interface Faults {
  failWrites: boolean
  failSyncs: boolean
  /** Writes write half their bytes, then fail. */
  partialWrites?: boolean
}

const ioError = (method: string) =>
  PlatformError.systemError({ _tag: "Unknown", module: "FileSystem", method, description: "injected I/O error" })

const faultyFile = (file: FileSystem.File, faults: Faults): FileSystem.File => ({
  [FileSystem.FileTypeId]: FileSystem.FileTypeId,
  get stat() {
    return file.stat
  },
  seek: (offset, from) => file.seek(offset, from),
  get sync() {
    return faults.failSyncs ? Effect.fail(ioError("sync")) : file.sync
  },
  read: (buffer, options) => file.read(buffer, options),
  readAlloc: (size, options) => file.readAlloc(size, options),
  truncate: (length) => file.truncate(length),
  write: (buffer) => file.write(buffer),
  writeAll: (buffer) =>
    faults.partialWrites
      ? file.writeAll(buffer.subarray(0, buffer.length >> 1)).pipe(Effect.andThen(Effect.fail(ioError("writeAll"))))
      : faults.failWrites
        ? Effect.fail(ioError("writeAll"))
        : file.writeAll(buffer)
})

const faultyFileSystem = (faults: Faults): Layer.Layer<FileSystem.FileSystem> =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      return FileSystem.make({
        ...fs,
        open: (path, options) => Effect.map(fs.open(path, options), (file) => faultyFile(file, faults))
      })
    })
  ).pipe(Layer.provide(NodeFileSystem.layer))

const appendAll = (backup: Backup.Backup["Service"], entries: ReadonlyArray<Entry>) =>
  Effect.forEach(entries, (entry) => backup.append(entry), { discard: true })
const entriesOf = (from: number, to: number): Array<Entry> =>
  Array.from({ length: to - from }, (_, i) => entryOf(from + i))

describe("write failures", () => {
  it.live("a failed write keeps the batch queued; the next flush writes it exactly once", () => {
    const faults: Faults = { failWrites: false, failSyncs: false }
    return Effect.gen(function* () {
      const path = NodePath.join(yield* tempDir, "w.bak")
      const errorsBefore = (yield* Metric.value(BackupMetrics.flushErrors)).count
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({ path, flushIntervalMs: 60_000 })
          yield* appendAll(backup, entriesOf(0, 5))
          faults.failWrites = true
          expect(yield* Effect.flip(backup.flush)).toMatchObject({ _tag: "BackupWriteError", operation: "write", path })
          faults.failWrites = false
          yield* appendAll(backup, entriesOf(5, 10))
          yield* backup.flush
        })
      )
      const { entries, report } = yield* readBackupEntries(path)
      expect(entries.map((e) => genuineSeqOf(e))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      expect(report).toMatchObject({ skippedCorrupt: 0, tornTail: undefined })
      expect((yield* Metric.value(BackupMetrics.flushErrors)).count - errorsBefore).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(faultyFileSystem(faults)))
  })

  it.live("a failed fsync rewrites the batch: duplicates, but every entry and nothing else", () => {
    const faults: Faults = { failWrites: false, failSyncs: false }
    return Effect.gen(function* () {
      const path = NodePath.join(yield* tempDir, "w.bak")
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({ path, flushIntervalMs: 60_000 })
          yield* appendAll(backup, entriesOf(0, 5))
          faults.failSyncs = true
          expect(yield* Effect.flip(backup.flush)).toMatchObject({ _tag: "BackupWriteError", operation: "sync" })
          faults.failSyncs = false
          yield* backup.flush
        })
      )
      const { entries, report } = yield* readBackupEntries(path)
      expect(entries.map((e) => genuineSeqOf(e))).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
      expect(report.skippedCorrupt).toBe(0)
    }).pipe(Effect.provide(faultyFileSystem(faults)))
  })

  it.live("after a write that failed half-way, restore still reads up to the last durable record", () => {
    const faults: Faults = { failWrites: false, failSyncs: false }
    return Effect.gen(function* () {
      const path = NodePath.join(yield* tempDir, "w.bak")
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({ path, flushIntervalMs: 60_000 })
          yield* appendAll(backup, entriesOf(0, 5))
          faults.partialWrites = true
          yield* Effect.flip(backup.flush)
          faults.partialWrites = false
          yield* backup.flush
          const seqs: Array<number | undefined> = []
          const report = yield* backup.restore((entry) => Effect.sync(() => void seqs.push(genuineSeqOf(entry))))
          // The half-written batch left 2 whole records and a torn one, then the batch came again in full.
          expect(seqs).toEqual([0, 1, 0, 1, 2, 3, 4])
          expect(report).toMatchObject({ skippedCorrupt: 1, tornTail: undefined })
        })
      )
    }).pipe(Effect.provide(faultyFileSystem(faults)))
  })

  it.live("the background group commit survives failures and catches up once the disk recovers", () => {
    const faults: Faults = { failWrites: false, failSyncs: false }
    return Effect.gen(function* () {
      const path = NodePath.join(yield* tempDir, "w.bak")
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({ path, flushIntervalMs: 5 })
          faults.failWrites = true
          yield* appendAll(backup, entriesOf(0, 8))
          yield* Effect.sleep("60 millis")
          expect((yield* readBackupEntries(path)).entries).toEqual([])
          faults.failWrites = false
          let seen = 0
          for (let i = 0; i < 100 && seen < 8; i++) {
            yield* Effect.sleep("10 millis")
            seen = (yield* readBackupEntries(path)).entries.length
          }
          expect(seen).toBe(8)
        })
      )
    }).pipe(Effect.provide(faultyFileSystem(faults)), Effect.provideService(References.MinimumLogLevel, "Error"))
  })
})
