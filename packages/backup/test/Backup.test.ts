import * as NodePath from "node:path"
import { Backup, BackupMetrics, readBackupEntries } from "@dave/backup"
import type { Entry } from "@dave/protocol"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Data, Effect, Fiber, FileSystem, Metric } from "effect"
import { entryOf } from "./fixtures/entries.ts"
import { backupBytes, recordOf, tempDir } from "./fixtures/files.ts"

const range = (from: number, to: number): Array<number> => Array.from({ length: to - from }, (_, i) => from + i)
const entriesOf = (from: number, to: number): Array<Entry> => range(from, to).map((seq) => entryOf(seq))

const backupPath = Effect.map(tempDir, (dir) => NodePath.join(dir, "node.bak"))

const appendAll = (backup: Backup.Backup["Service"], entries: ReadonlyArray<Entry>) =>
  Effect.forEach(entries, (entry) => backup.append(entry), { discard: true })

const durableEntries = (path: string) => Effect.map(readBackupEntries(path), (r) => r.entries)

describe("Backup service", () => {
  it.live("round trip: the file is header + one record per entry, and every entry comes back in order", () =>
    Effect.gen(function* () {
      const path = yield* backupPath
      const entries = entriesOf(0, 50)
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({ path })
          yield* appendAll(backup, entries)
          yield* backup.flush
        })
      )
      const fs = yield* FileSystem.FileSystem
      const expected = backupBytes(entries).bytes
      expect(new Uint8Array(yield* fs.readFile(path))).toEqual(expected)

      const { entries: back, report } = yield* readBackupEntries(path)
      expect(back).toEqual(entries)
      expect(report).toMatchObject({ restored: 50, skippedCorrupt: 0, skippedBytes: 0, tornTail: undefined })
      expect(report.bytes).toBe(expected.length)

      const restored: Array<Entry> = []
      const serviceReport = yield* Effect.scoped(
        Effect.flatMap(Backup.make({ path }), (backup) =>
          backup.restore((entry) => Effect.sync(() => void restored.push(entry)))
        )
      )
      expect(restored).toEqual(entries)
      expect(serviceReport).toMatchObject({ restored: 50, skippedCorrupt: 0, tornTail: undefined, path })
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.live("a missing file starts a fresh backup; appends after a restart follow the old records", () =>
    Effect.gen(function* () {
      const path = yield* backupPath
      const fs = yield* FileSystem.FileSystem
      yield* Effect.scoped(Backup.make({ path }))
      expect(new Uint8Array(yield* fs.readFile(path))).toEqual(backupBytes([]).bytes)
      yield* Effect.scoped(Effect.flatMap(Backup.make({ path }), (b) => appendAll(b, entriesOf(0, 3))))
      yield* Effect.scoped(Effect.flatMap(Backup.make({ path }), (b) => appendAll(b, entriesOf(3, 5))))
      expect(yield* durableEntries(path)).toEqual(entriesOf(0, 5))
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.live("closing the scope flushes what is still queued", () =>
    Effect.gen(function* () {
      const path = yield* backupPath
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({ path, flushIntervalMs: 60_000 })
          yield* appendAll(backup, entriesOf(0, 20))
          expect(yield* durableEntries(path)).toEqual([])
        })
      )
      expect(yield* durableEntries(path)).toEqual(entriesOf(0, 20))
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.live("the interval group commit makes appends durable without an explicit flush", () =>
    Effect.gen(function* () {
      const path = yield* backupPath
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({ path, flushIntervalMs: 20 })
          yield* appendAll(backup, entriesOf(0, 10))
          let seen = 0
          for (let i = 0; i < 100 && seen < 10; i++) {
            yield* Effect.sleep("10 millis")
            seen = (yield* durableEntries(path)).length
          }
          expect(seen).toBe(10)
        })
      )
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.live("passing flushAfterBytes triggers a commit before the interval; below it nothing is written", () =>
    Effect.gen(function* () {
      const path = yield* backupPath
      const recordBytes = recordOf(entryOf(0)).length
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({ path, flushIntervalMs: 60_000, flushAfterBytes: 4 * recordBytes })
          yield* appendAll(backup, entriesOf(0, 3))
          yield* Effect.sleep("100 millis")
          expect(yield* durableEntries(path)).toEqual([])
          yield* appendAll(backup, entriesOf(3, 12))
          let seen = 0
          for (let i = 0; i < 100 && seen < 12; i++) {
            yield* Effect.sleep("10 millis")
            seen = (yield* durableEntries(path)).length
          }
          expect(seen).toBe(12)
        })
      )
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.live("a full queue suspends append (backpressure) and drops nothing", () =>
    Effect.gen(function* () {
      const path = yield* backupPath
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({
            path,
            flushIntervalMs: 60_000,
            flushAfterBytes: 1 << 30,
            maxQueuedRecords: 4
          })
          const appender = yield* Effect.forkChild(appendAll(backup, entriesOf(0, 10)))
          yield* Effect.sleep("50 millis")
          expect(appender.pollUnsafe()).toBeUndefined()
          expect(yield* durableEntries(path)).toEqual([])
          for (let i = 0; i < 20 && appender.pollUnsafe() === undefined; i++) {
            yield* backup.flush
            yield* Effect.sleep("5 millis")
          }
          yield* Fiber.join(appender)
          yield* backup.flush
          expect(yield* durableEntries(path)).toEqual(entriesOf(0, 10))
        })
      )
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.live("append rejects an entry that cannot be encoded, and any append after shutdown", () =>
    Effect.gen(function* () {
      const path = yield* backupPath
      const good = entryOf(1)
      const bad: Entry = { ...good, dat: { ...good.dat, salt: new Uint8Array(3) } }
      const backup = yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({ path })
          const error = yield* Effect.flip(backup.append(bad))
          expect(error._tag).toBe("BackupEntryError")
          if (error._tag === "BackupEntryError") expect(error.cause.field).toBe("dat.salt")
          yield* backup.append(good)
          return backup
        })
      )
      const closed = yield* Effect.flip(backup.append(good))
      expect(closed).toMatchObject({ _tag: "BackupClosedError", path })
      expect(yield* durableEntries(path)).toEqual([good])
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.live("restore stops with the callback's error", () =>
    Effect.gen(function* () {
      class StoreRejected extends Data.TaggedError("StoreRejected")<{ readonly seq: number }> {}
      const path = yield* backupPath
      yield* Effect.scoped(Effect.flatMap(Backup.make({ path }), (b) => appendAll(b, entriesOf(0, 5))))
      const error = yield* Effect.scoped(
        Effect.flatMap(Backup.make({ path }), (backup) =>
          Effect.flip(
            backup.restore((entry) =>
              entry.dat.key[1] === "2".charCodeAt(0) ? Effect.fail(new StoreRejected({ seq: 2 })) : Effect.void
            )
          )
        )
      )
      expect(error).toEqual(new StoreRejected({ seq: 2 }))
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.live("metrics count appends, flushes, bytes written and restored records", () =>
    Effect.gen(function* () {
      const path = yield* backupPath
      const count = (metric: Metric.Counter<number>) => Effect.map(Metric.value(metric), (s) => s.count)
      const before = {
        appended: yield* count(BackupMetrics.recordsAppended),
        flushes: yield* count(BackupMetrics.flushes),
        bytes: yield* count(BackupMetrics.bytesWritten),
        restored: yield* count(BackupMetrics.recordsRestored)
      }
      const entries = entriesOf(0, 7)
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({ path, flushIntervalMs: 60_000 })
          yield* appendAll(backup, entries)
          yield* backup.flush
          yield* backup.restore(() => Effect.void)
        })
      )
      const recordBytes = entries.reduce((n, e) => n + recordOf(e).length, 0)
      expect((yield* count(BackupMetrics.recordsAppended)) - before.appended).toBeGreaterThanOrEqual(7)
      expect((yield* count(BackupMetrics.flushes)) - before.flushes).toBeGreaterThanOrEqual(1)
      expect((yield* count(BackupMetrics.bytesWritten)) - before.bytes).toBeGreaterThanOrEqual(recordBytes)
      expect((yield* count(BackupMetrics.recordsRestored)) - before.restored).toBeGreaterThanOrEqual(7)
      const latency = yield* Metric.value(BackupMetrics.flushLatencyMs)
      expect(latency.count).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.effect("layerDisabled: append and flush do nothing, restore is empty", () =>
    Effect.gen(function* () {
      const backup = yield* Backup.Backup
      yield* backup.append(entryOf(1))
      yield* backup.flush
      let called = 0
      const report = yield* backup.restore(() => Effect.sync(() => void called++))
      expect(called).toBe(0)
      expect(report).toMatchObject({ restored: 0, bytes: 0, tornTail: undefined })
    }).pipe(Effect.provide(Backup.layerDisabled))
  )
})
