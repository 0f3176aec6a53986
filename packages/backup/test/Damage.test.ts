import * as NodePath from "node:path"
import { crc32 } from "node:zlib"
import { Backup, Format, readBackupEntries } from "@dave/backup"
import type { Entry } from "@dave/protocol"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FileSystem } from "effect"
import * as fc from "fast-check"
import { entryOf, genuineSeqOf, prng } from "./fixtures/entries.ts"
import { backupBytes, tempDir } from "./fixtures/files.ts"

const entries: ReadonlyArray<Entry> = Array.from({ length: 30 }, (_, seq) => entryOf(seq, 40 + ((seq * 37) % 120)))
const { bytes: intact, offsets } = backupBytes(entries)
const recordEnd = (i: number): number => offsets[i + 1] ?? intact.length
const recordAt = (offset: number): number => offsets.findLastIndex((start) => start <= offset)

let fileCount = 0
/** Writes `bytes` to a new file in `dir` (new files are cheaper than overwrites here) and reads it back. */
const writeAndRead = (dir: string, bytes: Uint8Array) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = NodePath.join(dir, `damaged-${fileCount++}.bak`)
    yield* fs.writeFile(path, bytes)
    return yield* readBackupEntries(path)
  })

/** The seq an entry of this test's set has, or undefined when it is not exactly one of them. */
const genuine = (entry: Entry): number | undefined => {
  const seq = entries.findIndex((e) => Buffer.compare(e.dat.key, entry.dat.key) === 0)
  return seq >= 0 && genuineSeqOf(entry, entries[seq]!.dat.value.length) === seq ? seq : undefined
}

describe("torn tails", () => {
  it.live(
    "a file cut at every byte of its last record restores every earlier record and reports the tail",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const last = offsets.length - 1
        for (let length = offsets[last]!; length <= intact.length; length++) {
          const { entries: back, report } = yield* writeAndRead(dir, intact.subarray(0, length))
          const complete = length === intact.length
          expect(back.map(genuine)).toEqual(Array.from({ length: complete ? last + 1 : last }, (_, i) => i))
          expect(report.skippedCorrupt).toBe(0)
          expect(report.tornTail).toEqual(
            length === offsets[last] || complete
              ? undefined
              : { offset: offsets[last], bytes: length - offsets[last]!, truncated: false }
          )
        }
      }).pipe(Effect.provide(NodeFileSystem.layer)),
    30_000
  )

  it.live(
    "opening the service cuts a torn tail back to the last intact record, so appends follow it",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const fs = yield* FileSystem.FileSystem
        const last = offsets.length - 1
        const rand = prng(42)
        // Every 5th cut inside the last record (the reader test above takes every byte), its first and last
        // byte, and a seeded sample of cuts inside the first record.
        const lastLength = recordEnd(last) - offsets[last]!
        const lastCuts = [1, lastLength - 1, ...Array.from({ length: lastLength / 5 }, (_, i) => 5 * i + 3)]
          .filter((cut) => cut < lastLength)
          .map((cut) => offsets[last]! + cut)
        const firstCuts = Array.from({ length: 8 }, () => Format.HEADER_LEN + 1 + Math.floor(rand() * 200))
        for (const length of [...lastCuts, ...firstCuts]) {
          const path = NodePath.join(dir, `cut-${length}.bak`)
          yield* fs.writeFile(path, intact.subarray(0, length))
          const kept = recordAt(length - 1)
          const report = yield* Effect.scoped(
            Effect.gen(function* () {
              const backup = yield* Backup.make({ path })
              const report = yield* backup.restore(() => Effect.void)
              yield* backup.append(entries[kept]!)
              return report
            })
          )
          expect(report.restored).toBe(kept)
          expect(report.tornTail).toEqual({ offset: offsets[kept], bytes: length - offsets[kept]!, truncated: true })
          const after = yield* readBackupEntries(path)
          expect(after.entries.map(genuine)).toEqual(Array.from({ length: kept + 1 }, (_, i) => i))
          expect(after.report).toMatchObject({ skippedCorrupt: 0, tornTail: undefined })
        }
      }).pipe(Effect.provide(NodeFileSystem.layer)),
    30_000
  )
})

describe("damaged records", () => {
  it.live(
    "random byte flips lose exactly the records they touch; nothing is invented (fast-check)",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const flips = fc.array(
          fc.record({
            offset: fc.integer({ min: Format.HEADER_LEN, max: intact.length - 1 }),
            xor: fc.integer({ min: 1, max: 255 })
          }),
          { minLength: 1, maxLength: 4 }
        )
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(flips, async (changes) => {
              const damaged = Uint8Array.from(intact)
              for (const { offset, xor } of changes) damaged[offset]! ^= xor
              const touched = new Set(
                changes.filter(({ offset }) => damaged[offset] !== intact[offset]).map(({ offset }) => recordAt(offset))
              )
              const { entries: back, report } = await Effect.runPromise(
                writeAndRead(dir, damaged).pipe(Effect.provide(NodeFileSystem.layer))
              )
              const expected = entries.map((_, i) => i).filter((i) => !touched.has(i))
              expect(back.map(genuine)).toEqual(expected)
              // Maximal runs of touched records: the one reaching the end is the torn tail, the rest are skipped.
              const runStarts = [...touched].sort((a, b) => a - b).filter((i) => !touched.has(i - 1))
              const tail = touched.has(entries.length - 1) ? runStarts.pop() : undefined
              expect(report.corruptOffsets).toEqual(runStarts.map((i) => offsets[i]))
              expect(report.skippedCorrupt).toBe(runStarts.length)
              expect(report.tornTail?.offset).toBe(tail === undefined ? undefined : offsets[tail])
            }),
            { seed: 20_251_121, numRuns: 300 }
          )
        )
      }).pipe(Effect.provide(NodeFileSystem.layer)),
    30_000
  )

  it.live(
    "garbage between records, even one starting like a record, is skipped and counted",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const rand = prng(7)
        for (let trial = 0; trial < 40; trial++) {
          const at = 1 + Math.floor(rand() * (entries.length - 1))
          const garbage = Uint8Array.from({ length: 1 + Math.floor(rand() * 3000) }, () => Math.floor(rand() * 256))
          // Half the time the garbage is a torn record: a sync word and a plausible length, then noise.
          if (trial % 2 === 0 && garbage.length > Format.RECORD_HEADER_LEN) {
            garbage.set(Format.SYNC, 0)
            new DataView(garbage.buffer).setUint32(8, Format.MIN_PAYLOAD_LEN + 50, true)
            garbage[12] = Format.KIND_ENTRY
          }
          const damaged = new Uint8Array(intact.length + garbage.length)
          damaged.set(intact.subarray(0, offsets[at]), 0)
          damaged.set(garbage, offsets[at]!)
          damaged.set(intact.subarray(offsets[at]), offsets[at]! + garbage.length)
          const { entries: back, report } = yield* writeAndRead(dir, damaged)
          expect(back.map(genuine)).toEqual(entries.map((_, i) => i))
          expect(report).toMatchObject({
            skippedCorrupt: 1,
            skippedBytes: garbage.length,
            corruptOffsets: [offsets[at]],
            tornTail: undefined
          })
        }
      }).pipe(Effect.provide(NodeFileSystem.layer)),
    30_000
  )

  it.live("a zeroed page in the middle (lost write) loses only the records it overlaps", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const start = 2048
      const damaged = Uint8Array.from(intact)
      damaged.fill(0, start, start + 4096)
      const lost = new Set(entries.map((_, i) => i).filter((i) => offsets[i]! < start + 4096 && recordEnd(i) > start))
      const { entries: back, report } = yield* writeAndRead(dir, damaged)
      expect(back.map(genuine)).toEqual(entries.map((_, i) => i).filter((i) => !lost.has(i)))
      expect(report.skippedCorrupt).toBe(1)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})

describe("headers", () => {
  const futureHeader = (): Uint8Array => {
    const header = Format.encodeHeader()
    new DataView(header.buffer).setUint16(8, Format.VERSION + 1, true)
    new DataView(header.buffer).setUint32(12, crc32(header.subarray(0, 12)), true)
    return header
  }
  const flagsHeader = (): Uint8Array => {
    const header = Format.encodeHeader()
    new DataView(header.buffer).setUint16(10, 1, true)
    new DataView(header.buffer).setUint32(12, crc32(header.subarray(0, 12)), true)
    return header
  }
  const withRecords = (header: Uint8Array): Uint8Array => {
    const out = Uint8Array.from(intact)
    out.set(header, 0)
    return out
  }
  const flipped = Uint8Array.from(intact)
  flipped[13]! ^= 0x40
  const cases: ReadonlyArray<{ name: string; bytes: Uint8Array; expected: Record<string, unknown> }> = [
    {
      name: "not a backup",
      bytes: new TextEncoder().encode("key=value\n".repeat(20)),
      expected: { _tag: "BadHeader", reason: "BadMagic" }
    },
    {
      name: "future version",
      bytes: withRecords(futureHeader()),
      expected: { _tag: "UnsupportedVersion", version: 2, supported: 1 }
    },
    {
      name: "unknown flags",
      bytes: withRecords(flagsHeader()),
      expected: { _tag: "BadHeader", reason: "UnknownFlags" }
    },
    { name: "damaged header", bytes: flipped, expected: { _tag: "BadHeader", reason: "BadChecksum" } },
    {
      name: "truncated header",
      bytes: intact.subarray(0, 11),
      expected: { _tag: "BadHeader", reason: "Truncated", found: Buffer.from(intact.subarray(0, 11)).toString("hex") }
    }
  ]

  for (const { name, bytes, expected } of cases) {
    it.live(`${name}: open and readBackup fail with a typed error and leave the file untouched`, () =>
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const path = NodePath.join(yield* tempDir, "bad.bak")
        yield* fs.writeFile(path, bytes)
        const openError = yield* Effect.flip(Effect.scoped(Backup.make({ path })))
        expect(openError).toMatchObject({ ...expected, path })
        expect(openError.message).toContain(path)
        expect(yield* Effect.flip(readBackupEntries(path))).toMatchObject({ ...expected, path })
        expect(new Uint8Array(yield* fs.readFile(path))).toEqual(bytes)
      }).pipe(Effect.provide(NodeFileSystem.layer))
    )
  }

  it.live("an empty file is a fresh start; a missing directory is a BackupOpenError", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* tempDir
      const path = NodePath.join(dir, "empty.bak")
      yield* fs.writeFile(path, new Uint8Array(0))
      expect((yield* readBackupEntries(path)).report.restored).toBe(0)
      yield* Effect.scoped(Effect.flatMap(Backup.make({ path }), (b) => b.append(entries[0]!)))
      expect((yield* readBackupEntries(path)).entries.map(genuine)).toEqual([0])
      const missing = NodePath.join(dir, "no-such-dir", "x.bak")
      expect(yield* Effect.flip(Effect.scoped(Backup.make({ path: missing })))).toMatchObject({
        _tag: "BackupOpenError",
        path: missing
      })
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})

// Keeps the helper honest: it must tell genuine entries from altered ones.
describe("test fixtures", () => {
  it("genuine() rejects an entry with one changed value byte", () => {
    const altered: Entry = {
      ...entries[3]!,
      dat: { ...entries[3]!.dat, value: Uint8Array.from(entries[3]!.dat.value) }
    }
    altered.dat.value[0]! ^= 1
    expect(genuine(entries[3]!)).toBe(3)
    expect(genuine(altered)).toBeUndefined()
  })
})
