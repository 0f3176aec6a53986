import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
// The daemon has no package exports: its pieces are tested from their source files.
import * as Prometheus from "../src/Prometheus.js"
import { parsePrometheus } from "./support/Admin.ts"

/** The renderer behind GET /metrics, on metrics in a registry of the test's own. */

const render = <A, E>(updates: Effect.Effect<A, E>) =>
  updates.pipe(
    Effect.andThen(Metric.snapshot),
    Effect.map(Prometheus.render),
    Effect.provideService(Metric.MetricRegistry, new Map())
  )

describe("Prometheus text", () => {
  it.effect("counters, gauges, histograms, summaries and frequencies, with escaped labels and fixed names", () =>
    Effect.gen(function* () {
      const requests = Metric.counter("app_requests_total", { description: 'help with "quotes", \\ and\nnewline' })
      const text = yield* render(
        Effect.gen(function* () {
          yield* Metric.update(Metric.withAttributes(requests, { op: "Put" }), 3)
          yield* Metric.update(Metric.withAttributes(requests, { op: 'we"ird\\\nvalue' }), 2)
          yield* Metric.update(Metric.withAttributes(requests, { "bad key": "x" }), 1)
          yield* Metric.update(Metric.gauge("app-temperature.celsius"), -4.5)
          const linear = Metric.histogram("app_latency_ms", { boundaries: [1, 10, 100] })
          for (const v of [0.5, 5, 5, 50, 500]) yield* Metric.update(linear, v)
          const exponential = Metric.histogram("app_size_bytes", {
            boundaries: Metric.exponentialBoundaries({ start: 1, factor: 2, count: 4 })
          })
          for (const v of [1, 3, 1_000]) yield* Metric.update(exponential, v)
          const summary = Metric.summary("app_rtt_ms", { maxAge: "1 minute", maxSize: 100, quantiles: [0.5, 0.99] })
          for (const v of [1, 2, 3, 4]) yield* Metric.update(summary, v)
          yield* Metric.update(Metric.frequency("app_colors"), "blue")
          yield* Metric.update(Metric.frequency("app_colors"), "blue")
          yield* Metric.update(Metric.frequency("app_colors"), "red")
        })
      )
      const families = parsePrometheus(text)
      const samples = (name: string) => families.get(name)?.samples ?? []

      expect(families.get("app_requests_total")?.type).toBe("counter")
      expect(families.get("app_requests_total")?.help).toBe('help with "quotes", \\\\ and\\nnewline')
      expect(samples("app_requests_total").find((s) => s.labels.op === "Put")?.value).toBe(3)
      expect(samples("app_requests_total").find((s) => s.labels.op === 'we"ird\\\nvalue')?.value).toBe(2)
      expect(samples("app_requests_total").find((s) => s.labels.bad_key === "x")?.value).toBe(1)

      expect(families.get("app_temperature_celsius")?.type).toBe("gauge")
      expect(samples("app_temperature_celsius")[0]?.value).toBe(-4.5)

      const latency = samples("app_latency_ms")
      expect(families.get("app_latency_ms")?.type).toBe("histogram")
      const buckets = latency.filter((s) => s.name === "app_latency_ms_bucket").map((s) => [s.labels.le, s.value])
      expect(buckets).toEqual([
        ["1", 1],
        ["10", 3],
        ["100", 4],
        ["+Inf", 5]
      ])
      expect(latency.find((s) => s.name === "app_latency_ms_sum")?.value).toBe(560.5)
      expect(latency.find((s) => s.name === "app_latency_ms_count")?.value).toBe(5)

      // Boundaries that end with Infinity get one +Inf bucket, not two.
      const size = samples("app_size_bytes").filter((s) => s.name === "app_size_bytes_bucket")
      expect(size.filter((s) => s.labels.le === "+Inf")).toEqual([
        { name: "app_size_bytes_bucket", labels: { le: "+Inf" }, value: 3 }
      ])
      expect(size.map((s) => s.value)).toEqual([...size.map((s) => s.value)].sort((a, b) => a - b))

      expect(families.get("app_rtt_ms")?.type).toBe("summary")
      expect(samples("app_rtt_ms").find((s) => s.labels.quantile === "0.5")?.value).toBe(2)
      expect(samples("app_rtt_ms").find((s) => s.name === "app_rtt_ms_count")?.value).toBe(4)

      expect(
        samples("app_colors")
          .map((s) => [s.labels.value, s.value])
          .sort()
      ).toEqual([
        ["blue", 2],
        ["red", 1]
      ])
    })
  )

  it("names: valid ones kept, invalid characters replaced, reserved label prefix avoided", () => {
    expect(Prometheus.metricName("dave_node_packets_in_total")).toBe("dave_node_packets_in_total")
    expect(Prometheus.metricName("a.b-c")).toBe("a_b_c")
    expect(Prometheus.metricName("9lives")).toBe("_9lives")
    expect(Prometheus.labelName("__name")).toBe("x__name")
    expect(Prometheus.labelName("0x")).toBe("_0x")
    expect(Prometheus.formatValue(Number.NaN)).toBe("NaN")
    expect(Prometheus.formatValue(-Infinity)).toBe("-Inf")
    expect(Prometheus.formatValue(12n)).toBe("12")
  })

  it.effect("an empty registry renders nothing", () =>
    Effect.gen(function* () {
      expect(yield* render(Effect.void)).toBe("")
    })
  )
})
