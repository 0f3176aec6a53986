import type { Metric } from "effect"

/**
 * Renders effect Metric snapshots as Prometheus text exposition, format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Written here because effect 4
 * has no Prometheus exporter outside its OpenTelemetry package, which this node does not carry.
 * One HELP and TYPE line per metric name, then its series sorted by labels; counters and gauges as
 * one sample, histograms as cumulative `_bucket{le=...}` samples with `_sum` and `_count`, summaries
 * as `{quantile=...}` samples with `_sum` and `_count`, frequencies as a counter per value.
 */

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** A valid metric name: invalid characters become `_`, and a leading digit gets a `_` before it. */
export const metricName = (id: string): string => {
  if (NAME.test(id)) return id
  const replaced = id.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[0-9]/.test(replaced) || replaced.length === 0 ? `_${replaced}` : replaced
}

/** A valid label name (`__` is reserved for Prometheus itself). */
export const labelName = (key: string): string => {
  const replaced = LABEL.test(key) ? key : key.replace(/[^a-zA-Z0-9_]/g, "_").replace(/^(?=[0-9]|$)/, "_")
  return replaced.startsWith("__") ? `x${replaced}` : replaced
}

const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

export const formatValue = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Infinity) return "+Inf"
  if (value === -Infinity) return "-Inf"
  return String(value)
}

type Labels = ReadonlyArray<readonly [string, string]>

const labelsOf = (attributes: Metric.Metric.AttributeSet | undefined): Labels =>
  Object.entries(attributes ?? {})
    .map(([k, v]) => [labelName(k), String(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))

const renderLabels = (labels: Labels): string =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`

const sample = (name: string, labels: Labels, value: number | bigint): string =>
  `${name}${renderLabels(labels)} ${formatValue(value)}`

const TYPES: Record<Metric.Metric.Type, string> = {
  Counter: "counter",
  Gauge: "gauge",
  Histogram: "histogram",
  Summary: "summary",
  Frequency: "counter"
}

const samplesOf = (name: string, snapshot: Metric.Metric.Snapshot): Array<string> => {
  const labels = labelsOf(snapshot.attributes)
  switch (snapshot.type) {
    case "Counter":
      return [sample(name, labels, snapshot.state.count)]
    case "Gauge":
      return [sample(name, labels, snapshot.state.value)]
    case "Histogram": {
      // effect's buckets are already cumulative, one per boundary; boundaries made by
      // `boundariesFromIterable` (and so `exponentialBoundaries`) end with Infinity themselves.
      // The +Inf bucket is always the total count.
      const state = snapshot.state
      const finite = state.buckets.filter(([le]) => Number.isFinite(le))
      return [
        ...finite.map(([le, count]) => sample(`${name}_bucket`, [...labels, ["le", formatValue(le)]], count)),
        sample(`${name}_bucket`, [...labels, ["le", "+Inf"]], state.count),
        sample(`${name}_sum`, labels, state.sum),
        sample(`${name}_count`, labels, state.count)
      ]
    }
    case "Summary": {
      const state = snapshot.state
      return [
        ...state.quantiles.map(([q, v]) => sample(name, [...labels, ["quantile", formatValue(q)]], v ?? NaN)),
        sample(`${name}_sum`, labels, state.sum),
        sample(`${name}_count`, labels, state.count)
      ]
    }
    case "Frequency":
      return [...snapshot.state.occurrences].map(([value, count]) => sample(name, [...labels, ["value", value]], count))
  }
}

interface Family {
  readonly type: Metric.Metric.Type
  readonly help: string
  readonly series: Array<{ readonly key: string; readonly lines: ReadonlyArray<string> }>
}

/** The whole exposition, one family per metric name, ending with a newline. */
export const render = (snapshots: ReadonlyArray<Metric.Metric.Snapshot>): string => {
  const families = new Map<string, Family>()
  for (const snapshot of snapshots) {
    const name = metricName(snapshot.id)
    let family = families.get(name)
    if (family === undefined) {
      family = { type: snapshot.type, help: snapshot.description ?? snapshot.id, series: [] }
      families.set(name, family)
    }
    // Two metrics of different types under one name would make the exposition invalid: keep the first.
    if (family.type !== snapshot.type) continue
    family.series.push({ key: renderLabels(labelsOf(snapshot.attributes)), lines: samplesOf(name, snapshot) })
  }
  const out: Array<string> = []
  for (const name of [...families.keys()].sort()) {
    const family = families.get(name)!
    out.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${TYPES[family.type]}`)
    const seen = new Set<string>()
    for (const series of family.series.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
      if (seen.has(series.key)) continue
      seen.add(series.key)
      out.push(...series.lines)
    }
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}
