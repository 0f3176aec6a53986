import { Metric } from "effect"

/** The running node's counters (`dave_node_*`); the transport, store, peers and backup keep their own. */

export const packetsIn = Metric.counter("dave_node_packets_in_total", {
  description: "Messages decoded, by op and channel",
  incremental: true
})
export const packetsOut = Metric.counter("dave_node_packets_out_total", {
  description: "Messages sent, by op",
  incremental: true
})
export const dropped = Metric.counter("dave_node_dropped_total", {
  description: "Inbound messages dropped, by reason",
  incremental: true
})
export const putsRejected = Metric.counter("dave_node_puts_rejected_total", {
  description: "PUTs refused, by reason (verification or store)",
  incremental: true
})
export const putsAccepted = Metric.counter("dave_node_puts_accepted_total", {
  description: "PUTs stored, by outcome",
  incremental: true
})
export const getsServed = Metric.counter("dave_node_gets_served_total", {
  description: "GETs answered, by result",
  incremental: true
})
export const reads = Metric.counter("dave_node_reads_total", {
  description: "Reads through this node, by result",
  incremental: true
})
export const repairs = Metric.counter("dave_node_repairs_total", {
  description: "Stale or missing replicas sent the newest entry after a read",
  incremental: true
})
export const replicated = Metric.counter("dave_node_replicated_total", {
  description: "Entries sent to replicas, by cause",
  incremental: true
})
export const readLatencyMs = Metric.histogram("dave_node_read_latency_ms", {
  description: "Latency of reads through this node",
  boundaries: [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500]
})

/** Adds `n` to `counter` for the given label. */
export const bump = (counter: Metric.Counter<number>, label: Record<string, string>, n = 1) =>
  Metric.update(Metric.withAttributes(counter, label), n)
