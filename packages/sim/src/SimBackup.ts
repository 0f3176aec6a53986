import { Backup, BackupClosedError, type RestoreReport } from "@dave/backup"
import type { Entry } from "@dave/protocol"
import { Effect, Layer } from "effect"

/**
 * A node's backup in memory: the "disk" (`BackupDisk`) outlives the node, so a node restarted with
 * its backup restores what it had appended, as from the file. Every append counts as durable at
 * once (a crash loses nothing appended); compaction keeps exactly the live entries, as the file
 * backup does. A disk holds at most `maxRecords`; beyond that, appends fail.
 */
export class BackupDisk {
  readonly name: string
  readonly maxRecords: number
  #records: Array<Entry> = []

  constructor(name: string, maxRecords: number) {
    this.name = name
    this.maxRecords = maxRecords
  }

  get records(): number {
    return this.#records.length
  }

  append(entry: Entry): boolean {
    if (this.#records.length >= this.maxRecords) return false
    this.#records.push(entry)
    return true
  }

  replace(entries: Iterable<Entry>): number {
    const next = Array.from(entries)
    if (next.length > this.maxRecords) next.length = this.maxRecords
    this.#records = next
    return next.length
  }

  snapshot(): ReadonlyArray<Entry> {
    return this.#records.slice()
  }

  /** Forgets everything (a node restarted on a new disk). */
  wipe(): void {
    this.#records = []
  }
}

/** A full disk refuses appends as a closed log would (the service has no "full" error). */
const fullError = (disk: BackupDisk) => new BackupClosedError({ path: disk.name })

export const make = (disk: BackupDisk): Backup.Backup["Service"] =>
  Backup.Backup.of({
    append: (entry) => (disk.append(entry) ? Effect.void : Effect.fail(fullError(disk))),
    flush: Effect.void,
    compact: (live) =>
      Effect.sync(() => {
        const records = disk.replace(live)
        return { records, bytes: 0, skipped: 0, durationMs: 0 }
      }),
    restore: <E, R>(onEntry: (entry: Entry) => Effect.Effect<void, E, R>) =>
      Effect.gen(function* () {
        const entries = disk.snapshot()
        for (const entry of entries) yield* onEntry(entry)
        const report: RestoreReport = {
          path: disk.name,
          bytes: 0,
          restored: entries.length,
          skippedCorrupt: 0,
          skippedBytes: 0,
          corruptOffsets: [],
          tornTail: undefined,
          durationMs: 0
        }
        return report
      })
  })

export const layer = (disk: BackupDisk): Layer.Layer<Backup.Backup> => Layer.succeed(Backup.Backup, make(disk))
