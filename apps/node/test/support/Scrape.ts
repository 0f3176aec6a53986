import * as Fs from "node:fs"
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

export interface SocketCounters {
  /** Bytes waiting in the socket's receive queue. */
  readonly rxQueueBytes: number
  /** Datagrams the kernel dropped because the receive buffer was full. */
  readonly drops: number
}

/**
 * The kernel's view of the UDP socket bound to `port` (Linux /proc/net/udp and udp6): how much
 * waits unread and how many datagrams it dropped. Undefined when no such socket is found.
 */
export const udpSocketCounters = (port: number): SocketCounters | undefined => {
  const portHex = port.toString(16).toUpperCase().padStart(4, "0")
  for (const file of ["/proc/net/udp6", "/proc/net/udp"]) {
    let text: string
    try {
      text = Fs.readFileSync(file, "utf8")
    } catch {
      continue
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/)
      if (fields.length < 13 || !fields[1]!.endsWith(`:${portHex}`)) continue
      const rxQueue = Number.parseInt(fields[4]!.split(":")[1] ?? "0", 16)
      return { rxQueueBytes: rxQueue, drops: Number(fields[fields.length - 1]) }
    }
  }
  return undefined
}
