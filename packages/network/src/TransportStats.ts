import { Effect, Metric } from "effect"

/** Cumulative counts since the transport opened. Byte counts are payload bytes (no IP/UDP/TCP headers). */
export interface TransportStats {
  /** Datagrams accepted from the socket (oversize, rate-limited and bad-source ones excluded). */
  readonly datagramsIn: number
  readonly bytesIn: number
  /** Datagrams the OS accepted for sending. */
  readonly datagramsOut: number
  readonly bytesOut: number
  /** Datagrams over 1424 bytes received and dropped. */
  readonly oversizeDropped: number
  /** Datagrams dropped on arrival because their source IP was over its socket-level rate. */
  readonly rateLimitedIp: number
  /** Datagrams dropped on arrival because their source network (/24, /48) was over its socket-level rate. */
  readonly rateLimitedPrefix: number
  /** Datagrams whose source address did not parse. */
  readonly badSourceDropped: number
  /** Inbound datagrams and TCP frames lost because a receive queue was full. */
  readonly receiveQueueDropped: number
  /** UDP sends that failed or were refused (oversize payload, bad address, OS error). */
  readonly sendErrors: number
  readonly tcpConnectionsAccepted: number
  /** Connections closed at once because `maxTcpConnections` were open. */
  readonly tcpConnectionsRefused: number
  readonly tcpFramesIn: number
  /** Frames with length 0 or over 1424 (the connection is closed), or cut short by the peer closing. */
  readonly tcpBadFrames: number
  /** Connections closed because a frame did not arrive within the read deadline. */
  readonly tcpDeadlineClosed: number
  /** Frames of `sendFrames` calls that succeeded. */
  readonly tcpFramesOut: number
  /** `sendFrames` calls that failed. */
  readonly tcpSendErrors: number
}

/** The counters a transport mutates in place; `TransportStats` is a snapshot of them. */
export type Counters = { -readonly [K in keyof TransportStats]: number }

export const emptyCounters = (): Counters => ({
  datagramsIn: 0,
  bytesIn: 0,
  datagramsOut: 0,
  bytesOut: 0,
  oversizeDropped: 0,
  rateLimitedIp: 0,
  rateLimitedPrefix: 0,
  badSourceDropped: 0,
  receiveQueueDropped: 0,
  sendErrors: 0,
  tcpConnectionsAccepted: 0,
  tcpConnectionsRefused: 0,
  tcpFramesIn: 0,
  tcpBadFrames: 0,
  tcpDeadlineClosed: 0,
  tcpFramesOut: 0,
  tcpSendErrors: 0
})

const counter = (name: string, description: string): Metric.Counter<number> =>
  Metric.counter(`dave_transport_${name}_total`, { description, incremental: true })

/** Process-wide metrics; every transport in the process adds to them. */
export const metrics: { readonly [K in keyof TransportStats]: Metric.Counter<number> } = {
  datagramsIn: counter("datagrams_in", "UDP datagrams received"),
  bytesIn: counter("bytes_in", "UDP payload bytes received"),
  datagramsOut: counter("datagrams_out", "UDP datagrams sent"),
  bytesOut: counter("bytes_out", "UDP payload bytes sent"),
  oversizeDropped: counter("oversize_dropped", "UDP datagrams over 1424 bytes dropped"),
  rateLimitedIp: counter("rate_limited_ip", "UDP datagrams dropped on arrival: source IP over its rate"),
  rateLimitedPrefix: counter(
    "rate_limited_prefix",
    "UDP datagrams dropped on arrival: source /24 or /48 over its rate"
  ),
  badSourceDropped: counter("bad_source_dropped", "UDP datagrams dropped: source address did not parse"),
  receiveQueueDropped: counter("receive_queue_dropped", "inbound messages dropped on a full receive queue"),
  sendErrors: counter("send_errors", "UDP sends that failed"),
  tcpConnectionsAccepted: counter("tcp_connections_accepted", "TCP side-channel connections accepted"),
  tcpConnectionsRefused: counter("tcp_connections_refused", "TCP side-channel connections refused at the cap"),
  tcpFramesIn: counter("tcp_frames_in", "TCP side-channel frames received"),
  tcpBadFrames: counter("tcp_bad_frames", "TCP side-channel frames with a bad length or cut short"),
  tcpDeadlineClosed: counter("tcp_deadline_closed", "TCP side-channel connections closed by the read deadline"),
  tcpFramesOut: counter("tcp_frames_out", "TCP side-channel frames sent"),
  tcpSendErrors: counter("tcp_send_errors", "TCP side-channel sends that failed")
}

const keys = Object.keys(metrics) as ReadonlyArray<keyof TransportStats>

/**
 * Returns an effect that adds to the metrics what `read()` gained since its previous run. The hot
 * paths only bump plain counters; metrics follow when this runs (periodically, and on each stats read).
 */
export const makeMetricsFlush = (read: () => TransportStats): Effect.Effect<void> => {
  const flushed = emptyCounters()
  // The first run adds even zeros, so every counter shows in /metrics from the start (a drop
  // counter at 0 says something; a missing one does not).
  let first = true
  return Effect.suspend(() => {
    const now = read()
    const updates: Array<Effect.Effect<void>> = []
    for (const key of keys) {
      const delta = now[key] - flushed[key]
      if (delta < 0 || (delta === 0 && !first)) continue
      flushed[key] = now[key]
      updates.push(Metric.update(metrics[key], delta))
    }
    first = false
    return Effect.all(updates, { discard: true })
  })
}
