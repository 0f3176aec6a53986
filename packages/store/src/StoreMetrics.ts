import { type Context, Metric } from "effect"
import { REJECT_REASONS, type RejectReason } from "./PutOutcome.ts"
import type { DropReason } from "./StoreChange.ts"

/**
 * Metrics of the store (§13.13: every reject and eviction is counted with its reason). The store
 * keeps the counts in plain fields (StoreCounts), updated inside its synchronous steps, and
 * registers them as series read at export time: an Effect `Metric.update` per put cost about
 * 1 µs each, as much as a third of a put.
 */

export const DROP_REASONS: ReadonlyArray<DropReason> = ["Capacity", "Expired", "Removed"]

/** The counts a store keeps. */
export interface StoreCounts {
  inserts: number
  replacements: number
  duplicates: number
  replicaUpdates: number
  readonly rejects: Record<RejectReason, number>
  readonly drops: Record<DropReason, number>
}

export const makeCounts = (): StoreCounts => ({
  inserts: 0,
  replacements: 0,
  duplicates: 0,
  replicaUpdates: 0,
  rejects: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>,
  drops: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>
})

const counter = (name: string, description: string, attributes?: Record<string, string>): Metric.Counter<number> =>
  Metric.counter(name, { description, incremental: true, ...(attributes ? { attributes } : {}) })

export const inserts: Metric.Counter<number> = counter("dave_store_inserts_total", "entries stored in a new slot")
export const replacements: Metric.Counter<number> = counter(
  "dave_store_replacements_total",
  "stored entries replaced by a newer version"
)
export const duplicates: Metric.Counter<number> = counter(
  "dave_store_duplicates_total",
  "puts of a dat the store already held"
)
export const replicaUpdates: Metric.Counter<number> = counter(
  "dave_store_replica_updates_total",
  "replica lists rewritten by setReplicas"
)

/** Reject counters, one series per reason. */
export const rejects = (reason: RejectReason): Metric.Counter<number> =>
  counter("dave_store_rejects_total", "entries refused, by reason", { reason })

/** Eviction counters, one series per reason (Removed counts explicit removes). */
export const evictions = (reason: DropReason): Metric.Counter<number> =>
  counter("dave_store_evictions_total", "entries that left the store, by reason", { reason })

export const entries: Metric.Gauge<number> = Metric.gauge("dave_store_entries", { description: "live entries" })
export const usedBytes: Metric.Gauge<number> = Metric.gauge("dave_store_used_bytes", {
  description: "accounted bytes of live entries (key + value + 224 each)"
})
export const capacityBytes: Metric.Gauge<number> = Metric.gauge("dave_store_capacity_bytes", {
  description: "the byte budget"
})

const ignore = () => {}

/**
 * Registers a store's counts and gauges in the metric registry of `context`. A later store
 * registering the same series replaces the earlier one; `remove` the registrations when done.
 */
export const register = (
  context: Context.Context<never>,
  counts: StoreCounts,
  gauges: { readonly entries: () => number; readonly usedBytes: () => number; readonly capacityBytes: number }
): ReadonlyArray<Metric.Registration> => {
  const count = (metric: Metric.Counter<number>, read: () => number) =>
    Metric.registerUnsafe(metric, context, {
      get: () => ({ count: read(), incremental: true }),
      update: ignore,
      modify: ignore
    })
  const gauge = (metric: Metric.Gauge<number>, read: () => number) =>
    Metric.registerUnsafe(metric, context, { get: () => ({ value: read() }), update: ignore, modify: ignore })
  return [
    count(inserts, () => counts.inserts),
    count(replacements, () => counts.replacements),
    count(duplicates, () => counts.duplicates),
    count(replicaUpdates, () => counts.replicaUpdates),
    ...REJECT_REASONS.map((reason) => count(rejects(reason), () => counts.rejects[reason])),
    ...DROP_REASONS.map((reason) => count(evictions(reason), () => counts.drops[reason])),
    gauge(entries, gauges.entries),
    gauge(usedBytes, gauges.usedBytes),
    gauge(capacityBytes, () => gauges.capacityBytes)
  ]
}
