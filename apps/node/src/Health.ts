import { BackupMetrics } from "@dave/backup"
import type { PeerTableCore } from "@dave/peers"
import { Constants } from "@dave/protocol"
import type { ShardStore } from "@dave/store"
import { Effect, Metric, Schedule, type Scope } from "effect"

/**
 * The node's health for `GET /health`: "ready", or "degraded" with every reason that applies.
 *
 * - `no active peers`: edges are configured but no peer is active (selectable) now. A standalone
 *   node (no edges) is ready on its own.
 * - `no edge online (0 of N)`: peers are active, but none of the configured edges is.
 * - `backup writes failing`: the last backup flush failed and none has succeeded since (the records
 *   stay queued and are retried; a restart now would lose them).
 * - `store full`: the free budget is below one largest entry, so every new entry evicts others.
 */

export type HealthStatus = "ready" | "degraded"

export interface HealthReport {
  readonly status: HealthStatus
  readonly reasons: ReadonlyArray<string>
}

export interface HealthInputs {
  readonly edgesConfigured: number
  readonly peers: ReadonlyArray<PeerTableCore.PeerView>
  readonly store: ShardStore.StoreStats
  readonly backupFailing: boolean
}

/** The accounted size of the largest entry a PUT can carry. */
const LARGEST_ENTRY_BYTES = Constants.MAX_KEY_VALUE_LEN + Constants.ENTRY_SIZE_OVERHEAD

export const assess = (inputs: HealthInputs): HealthReport => {
  const reasons: Array<string> = []
  const active = inputs.peers.filter((p) => p.active).length
  const edgesOnline = inputs.peers.filter((p) => p.edge && p.active).length
  if (inputs.edgesConfigured > 0 && active === 0) reasons.push("no active peers")
  else if (inputs.edgesConfigured > 0 && edgesOnline === 0)
    reasons.push(`no edge online (0 of ${inputs.edgesConfigured})`)
  if (inputs.backupFailing) reasons.push("backup writes failing")
  if (inputs.store.capacityBytes - inputs.store.usedBytes < LARGEST_ENTRY_BYTES) reasons.push("store full")
  return { status: reasons.length === 0 ? "ready" : "degraded", reasons }
}

export interface BackupWatch {
  /** True from a failed flush until the next successful one. */
  readonly failing: Effect.Effect<boolean>
}

const count = (counter: Metric.Counter<number>) => Effect.map(Metric.value(counter), (s) => s.count)

/**
 * Watches the backup's flush counters (the Backup service reports errors only as metrics and log
 * lines): sampled every `everyMs` and on each read, a sample with new errors and no new successful
 * flush marks the backup failing, and a new successful flush clears it.
 */
export const watchBackup = (everyMs: number): Effect.Effect<BackupWatch, never, Scope.Scope> =>
  Effect.gen(function* () {
    let errors = yield* count(BackupMetrics.flushErrors)
    let flushes = yield* count(BackupMetrics.flushes)
    let failing = false
    const sample = Effect.gen(function* () {
      const nowErrors = yield* count(BackupMetrics.flushErrors)
      const nowFlushes = yield* count(BackupMetrics.flushes)
      if (nowFlushes > flushes) failing = false
      else if (nowErrors > errors) failing = true
      errors = nowErrors
      flushes = nowFlushes
      return failing
    })
    yield* Effect.forkScoped(Effect.repeat(sample, Schedule.spaced(everyMs)))
    return { failing: sample }
  })
