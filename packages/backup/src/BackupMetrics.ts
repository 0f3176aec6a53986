import { Metric } from "effect"

export const recordsAppended: Metric.Counter<number> = Metric.counter("dave_backup_records_appended", {
  description: "entries queued for the backup log",
  incremental: true
})
export const bytesWritten: Metric.Counter<number> = Metric.counter("dave_backup_bytes_written", {
  description: "bytes written to the backup log by flushes and compactions",
  incremental: true
})
export const flushes: Metric.Counter<number> = Metric.counter("dave_backup_flushes", {
  description: "group commits that wrote and fsync'd at least one record",
  incremental: true
})
export const flushErrors: Metric.Counter<number> = Metric.counter("dave_backup_flush_errors", {
  description: "failed flushes (their records stay queued and are retried)",
  incremental: true
})
export const flushLatencyMs: Metric.Histogram<number> = Metric.histogram("dave_backup_flush_latency_ms", {
  description: "write + fsync time of one group commit, milliseconds",
  boundaries: Metric.exponentialBoundaries({ start: 0.25, factor: 2, count: 16 })
})
export const recordsRestored: Metric.Counter<number> = Metric.counter("dave_backup_records_restored", {
  description: "intact records read back at restore",
  incremental: true
})
export const corruptSkipped: Metric.Counter<number> = Metric.counter("dave_backup_corrupt_records_skipped", {
  description: "damaged regions skipped at restore (each one or more records)",
  incremental: true
})
export const tornTails: Metric.Counter<number> = Metric.counter("dave_backup_torn_tails", {
  description: "torn tails found at open or restore",
  incremental: true
})
export const compactions: Metric.Counter<number> = Metric.counter("dave_backup_compactions", {
  description: "completed compactions",
  incremental: true
})
