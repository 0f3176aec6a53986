import { Effect } from "effect"
import { type Family, get, parsePrometheus } from "./Admin.ts"

/** Reading a daemon's figures: its /metrics, summed by name and labels, and its socket's kernel counters. */

export type Metrics = ReadonlyMap<string, Family>

export const scrape = (admin: string): Effect.Effect<Metrics, Error> =>
  Effect.flatMap(get(admin, "/metrics"), (r) =>
    Effect.try({
      try: () => parsePrometheus(r.text),
      catch: (e) => new Error(`/metrics does not parse: ${String(e)}`)
    })
  )

/** The sum of the samples of family `name` whose labels include `where` (0 when there are none). */
export const total = (metrics: Metrics, name: string, where: Readonly<Record<string, string>> = {}): number =>
  (metrics.get(name)?.samples ?? [])
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0)

/** Every sample of `name` as `label=value: n`, for printing. */
export const breakdown = (metrics: Metrics, name: string, label: string): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const s of metrics.get(name)?.samples ?? []) {
    const k = s.labels[label] ?? "(none)"
    out[k] = (out[k] ?? 0) + s.value
  }
  return out
}
