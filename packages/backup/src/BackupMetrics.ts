import { Metric } from "effect"

/** A monotonic count of backup events; every counter here adds, never sets. */
const count = (name: string, description: string): Metric.Counter<number> =>
  Metric.counter(`dave_backup_${name}`, { description, incremental: true })

export const recordsAppended: Metric.Counter<number> = count("records_appended", "entries queued for the backup log")
export const bytesWritten: Metric.Counter<number> = count(
  "bytes_written",
  "bytes written to the backup log by flushes and compactions"
)
export const flushes: Metric.Counter<number> = count(
  "flushes",
  "group commits that wrote and fsync'd at least one record"
)
export const flushErrors: Metric.Counter<number> = count(
  "flush_errors",
  "failed flushes (their records stay queued and are retried)"
)
export const flushLatencyMs: Metric.Histogram<number> = Metric.histogram("dave_backup_flush_latency_ms", {
  description: "write + fsync time of one group commit, milliseconds",
  boundaries: Metric.exponentialBoundaries({ start: 0.25, factor: 2, count: 16 })
})
export const recordsRestored: Metric.Counter<number> = count("records_restored", "intact records read back at restore")
export const corruptSkipped: Metric.Counter<number> = count(
  "corrupt_records_skipped",
  "damaged regions skipped at restore (each one or more records)"
)
export const tornTails: Metric.Counter<number> = count("torn_tails", "torn tails found at open or restore")
export const compactions: Metric.Counter<number> = count("compactions", "completed compactions")
