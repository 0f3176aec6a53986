import { Effect, Metric } from "effect"

/**
 * The running node's counters (`dave_node_*`); the transport, store, peers and backup keep their
 * own. The hot path bumps plain integers (`Counts.inc`); `Counts.flush` moves them into effect
 * Metrics every second and at shutdown, because a labelled Metric update per datagram cost ~20 µs.
 */

interface Family {
  readonly metric: Metric.Counter<number>
  readonly labels: ReadonlyArray<string>
}

const family = (name: string, description: string, labels: ReadonlyArray<string>): Family => ({
  metric: Metric.counter(name, { description, incremental: true }),
  labels
})

export const families = {
  packetsIn: family("dave_node_packets_in_total", "Messages decoded, by op and channel", ["op", "via"]),
  packetsOut: family("dave_node_packets_out_total", "Messages sent, by op", ["op"]),
  dropped: family("dave_node_dropped_total", "Inbound messages dropped, by reason", ["reason"]),
  putsRejected: family("dave_node_puts_rejected_total", "PUTs refused, by reason (verification or store)", ["reason"]),
  putsAccepted: family("dave_node_puts_accepted_total", "PUTs stored, by outcome", ["outcome"]),
  getsServed: family("dave_node_gets_served_total", "GETs answered, by result", ["result"]),
  getsHeld: family("dave_node_gets_held_total", "GETs held until a queued PUT of their slot was verified", []),
  reads: family("dave_node_reads_total", "Reads through this node, by result (asked: replicas asked by `ask`)", [
    "result"
  ]),
  repairs: family("dave_node_repairs_total", "Stale or missing replicas sent the newest entry after a read", []),
  replicated: family("dave_node_replicated_total", "Entries sent to replicas, by cause", ["cause"]),
  verifications: family(
    "dave_node_verifications_total",
    "Dat verifications (signature and work), by verdict; ValidCached: the same dat found valid before",
    ["verdict"]
  )
} as const

export type FamilyName = keyof typeof families

export const readLatencyMs = Metric.histogram("dave_node_read_latency_ms", {
  description: "Latency of reads through this node",
  boundaries: [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500]
})

export const serveLatencyMs = Metric.histogram("dave_node_get_serve_latency_ms", {
  description: "Time from a GET's batch arriving to its GET_ACK being handed to the socket",
  boundaries: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50]
})

/** Most serve-latency samples kept between flushes; beyond it they are not recorded. */
const MAX_SAMPLES = 16_384

/** One label combination's increments since the last flush, and its Metric once it was flushed. */
interface Cell {
  n: number
  metric: Metric.Counter<number> | undefined
}

/** Plain counters for the hot path, moved into the Metrics by `flush`. */
export class Counts {
  /** Family → first label → second label → its cell (kept, at 0, once used). */
  readonly #pendingByName = new Map<FamilyName, Map<string, Map<string, Cell>>>()
  readonly #attributes: Readonly<Record<string, string>>

  constructor(attributes: Readonly<Record<string, string>> = {}) {
    this.#attributes = attributes
  }

  // Allocated on the first sample: a simulation runs thousands of nodes that serve few GETs.
  #samples: Float64Array | undefined
  #sampleCount = 0

  observeServe(ms: number): void {
    this.#samples ??= new Float64Array(MAX_SAMPLES)
    if (this.#sampleCount < MAX_SAMPLES) this.#samples[this.#sampleCount++] = ms
  }

  inc(name: FamilyName, a = "", b = "", n = 1): void {
    // Nested maps keyed by the label strings themselves: building a joined key string per call was a
    // visible share of a busy node's time.
    let byA = this.#pendingByName.get(name)
    if (byA === undefined) {
      byA = new Map()
      this.#pendingByName.set(name, byA)
    }
    let byB = byA.get(a)
    if (byB === undefined) {
      byB = new Map()
      byA.set(a, byB)
    }
    const cell = byB.get(b)
    if (cell === undefined) byB.set(b, { n, metric: undefined })
    else cell.n += n
  }

  /** The pending increments with their Metrics, and none left pending. */
  #drain(): Array<readonly [Metric.Counter<number>, number]> {
    const out: Array<readonly [Metric.Counter<number>, number]> = []
    for (const [name, byA] of this.#pendingByName)
      for (const [a, byB] of byA)
        for (const [b, cell] of byB) {
          if (cell.n === 0) continue
          cell.metric ??= this.#metricFor(name, a, b)
          out.push([cell.metric, cell.n])
          cell.n = 0
        }
    return out
  }

  #metricFor(name: FamilyName, a: string, b: string): Metric.Counter<number> {
    const f = families[name]
    const labels: Record<string, string> = { ...this.#attributes }
    if (f.labels[0] !== undefined) labels[f.labels[0]] = a
    if (f.labels[1] !== undefined) labels[f.labels[1]] = b
    return Object.keys(labels).length === 0 ? f.metric : Metric.withAttributes(f.metric, labels)
  }

  readonly flush: Effect.Effect<void> = Effect.suspend(() => {
    const batch = this.#drain()
    const samples = this.#samples === undefined ? [] : Array.from(this.#samples.subarray(0, this.#sampleCount))
    this.#sampleCount = 0
    return Effect.andThen(
      Effect.forEach(batch, ([metric, n]) => Metric.update(metric, n), { discard: true }),
      Effect.forEach(samples, (ms) => Metric.update(serveLatencyMs, ms), { discard: true })
    )
  })
}
