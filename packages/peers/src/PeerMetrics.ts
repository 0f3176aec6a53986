import { Metric } from "effect"
import type { CounterKey } from "./PeerTableCore.ts"

/** Metrics of the peer table (`dave_peers_*`). Counters carry the reason as an attribute. */

export const peersTotal = Metric.gauge("dave_peers_total", { description: "peers in the table, edges included" })
export const peersActive = Metric.gauge("dave_peers_active", { description: "peers that are selectable now" })
export const edgesOnline = Metric.gauge("dave_peers_edges_online", { description: "edges that solved recently" })
export const pingIntervalMs = Metric.gauge("dave_peers_ping_interval_ms", {
  description: "current ping interval of verified non-edge peers"
})

const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

export const pongsAccepted = counter("dave_peers_pongs_accepted_total", "PONGs that solved a challenge")
export const pongsRejected = counter("dave_peers_pongs_rejected_total", "PONGs refused, by reason")
export const dropped = counter("dave_peers_dropped_total", "peers removed, by reason")
export const refused = counter("dave_peers_refused_total", "addresses not admitted to the table, by reason")
export const rateLimited = counter("dave_peers_rate_limited_total", "datagrams refused by the rate limiter, by scope")
export const amplificationDenied = counter(
  "dave_peers_amplification_denied_total",
  "sends to unverified addresses refused by the 3x budget, by kind"
)
export const pingsSent = counter("dave_peers_pings_sent_total", "PINGs scheduled")
export const storageChallenges = counter("dave_peers_storage_challenges_total", "storage challenge outcomes")

type Counter = Metric.Metric<number, Metric.CounterState<number>>

const base: Record<string, readonly [Counter, string | undefined]> = {
  pongs_accepted: [pongsAccepted, undefined],
  pongs_rejected: [pongsRejected, "reason"],
  dropped: [dropped, "reason"],
  refused: [refused, "reason"],
  rate_limited: [rateLimited, "scope"],
  amplification_denied: [amplificationDenied, "kind"],
  pings_sent: [pingsSent, undefined],
  challenges: [storageChallenges, "outcome"]
}

/** The counter series for a core counter key, with `attributes` added (e.g. a node name in a simulation). */
export const counterFor = (key: CounterKey, attributes: Readonly<Record<string, string>>): Counter => {
  const [name, value] = key.split(":") as [string, string | undefined]
  const [metric, attribute] = base[name]!
  const all = attribute === undefined || value === undefined ? attributes : { ...attributes, [attribute]: value }
  return Object.keys(all).length === 0 ? metric : Metric.withAttributes(metric, all)
}
