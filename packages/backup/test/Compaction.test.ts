import * as NodePath from "node:path"
import { Backup, BackupMetrics, Format, readBackupEntries } from "@dave/backup"
import type { Entry } from "@dave/protocol"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, FileSystem, Metric } from "effect"
import { entryOf, genuineSeqOf } from "./fixtures/entries.ts"
import { recordOf, tempDir } from "./fixtures/files.ts"

const range = (from: number, to: number): Array<number> => Array.from({ length: to - from }, (_, i) => from + i)
const entriesOf = (from: number, to: number): Array<Entry> => range(from, to).map((seq) => entryOf(seq))
const appendAll = (backup: Backup.Backup["Service"], entries: ReadonlyArray<Entry>) =>
  Effect.forEach(entries, (entry) => backup.append(entry), { discard: true })

/** The seqs in the file, sorted and de-duplicated; fails on any entry that is not one of ours. */
const seqsInFile = (path: string) =>
  Effect.map(readBackupEntries(path), ({ entries, report }) => {
    const seqs = entries.map((entry) => genuineSeqOf(entry))
    expect(seqs).not.toContain(undefined)
    expect(report).toMatchObject({ skippedCorrupt: 0, tornTail: undefined })
    return [...new Set(seqs as Array<number>)].sort((a, b) => a - b)
  })

describe("compaction", () => {
  it.live(
    "keeps exactly the live entries plus every entry appended while it runs",
    () =>
      Effect.gen(function* () {
        const path = NodePath.join(yield* tempDir, "c.bak")
        const fs = yield* FileSystem.FileSystem
        const compactionsBefore = (yield* Metric.value(BackupMetrics.compactions)).count
        yield* Effect.scoped(
          Effect.gen(function* () {
            const backup = yield* Backup.make({ path, flushIntervalMs: 5 })
            yield* appendAll(backup, entriesOf(0, 100))
            yield* backup.flush
            // 0..49 were evicted; 50..99 and a large filler (so the rewrite takes a while) are live.
            const live = [...entriesOf(50, 100), ...entriesOf(10_000, 25_000)]
            let compacting = true
            let appendedDuring = 0
            const appender = yield* Effect.forkChild(
              Effect.forEach(
                range(100, 300),
                (seq) =>
                  backup.append(entryOf(seq)).pipe(
                    Effect.tap(() => Effect.sync(() => void (compacting && appendedDuring++))),
                    Effect.andThen(Effect.yieldNow)
                  ),
                { discard: true }
              )
            )
            const report = yield* backup.compact(live)
            compacting = false
            yield* Fiber.join(appender)
            expect(appendedDuring).toBeGreaterThan(0)
            expect(report.records).toBe(live.length)
            expect(report.skipped).toBe(0)
            expect(report.bytes).toBe(Format.HEADER_LEN + live.reduce((n, e) => n + recordOf(e).length, 0))
          })
        )
        expect(yield* seqsInFile(path)).toEqual([...range(50, 300), ...range(10_000, 25_000)])
        expect((yield* Metric.value(BackupMetrics.compactions)).count - compactionsBefore).toBe(1)
        expect(yield* fs.exists(`${path}.tmp`)).toBe(false)
      }).pipe(Effect.provide(NodeFileSystem.layer)),
    30_000
  )

  it.live("a failed compaction keeps the old file and later appends; a leftover .tmp is removed at open", () =>
    Effect.gen(function* () {
      const path = NodePath.join(yield* tempDir, "c.bak")
      const fs = yield* FileSystem.FileSystem
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({ path })
          yield* appendAll(backup, entriesOf(0, 10))
          yield* backup.flush
          // A directory where the temporary file must go makes the rewrite fail.
          yield* fs.makeDirectory(`${path}.tmp`)
          const error = yield* Effect.flip(backup.compact(entriesOf(5, 10)))
          expect(error).toMatchObject({ _tag: "BackupWriteError", operation: "open" })
          yield* appendAll(backup, entriesOf(10, 20))
          yield* backup.flush
          expect(yield* seqsInFile(path)).toEqual(range(0, 20))
          yield* fs.remove(`${path}.tmp`, { recursive: true })
          const ok = yield* backup.compact(entriesOf(15, 20))
          expect(ok.records).toBe(5)
          yield* appendAll(backup, entriesOf(20, 22))
        })
      )
      expect(yield* seqsInFile(path)).toEqual(range(15, 22))
      // A crash between writing the temporary file and the rename leaves it behind: it is not the backup.
      yield* fs.writeFile(`${path}.tmp`, new Uint8Array(100).fill(7))
      yield* Effect.scoped(Backup.make({ path }))
      expect(yield* fs.exists(`${path}.tmp`)).toBe(false)
      expect(yield* seqsInFile(path)).toEqual(range(15, 22))
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.live("live entries that cannot be encoded are left out and counted", () =>
    Effect.gen(function* () {
      const path = NodePath.join(yield* tempDir, "c.bak")
      const good = entryOf(1)
      const bad: Entry = { ...good, dat: { ...good.dat, pubKey: new Uint8Array(31) } }
      const report = yield* Effect.scoped(
        Effect.flatMap(Backup.make({ path }), (b) => b.compact([good, bad, entryOf(2)]))
      )
      expect(report).toMatchObject({ records: 2, skipped: 1 })
      expect(yield* seqsInFile(path)).toEqual([1, 2])
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.live("scheduled compaction rewrites the file from liveEntries", () =>
    Effect.gen(function* () {
      const path = NodePath.join(yield* tempDir, "c.bak")
      let live: ReadonlyArray<Entry> = []
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({
            path,
            flushIntervalMs: 5,
            compaction: { everyMs: 20, liveEntries: Effect.sync(() => live) }
          })
          yield* appendAll(backup, entriesOf(0, 20))
          yield* backup.flush
          live = entriesOf(12, 20)
          let seqs: Array<number> = []
          for (let i = 0; i < 200 && seqs.length !== 8; i++) {
            yield* Effect.sleep("10 millis")
            seqs = yield* seqsInFile(path)
          }
          expect(seqs).toEqual(range(12, 20))
        })
      )
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})
