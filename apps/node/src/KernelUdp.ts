import * as Fs from "node:fs"

/**
 * The kernel's counters for the node's UDP socket (Linux /proc/net/udp6 and /proc/net/udp): bytes
 * waiting unread and datagrams dropped because the receive buffer was full. Those drops happen
 * before node ever sees a datagram, so the transport's own counters cannot show them. Read at
 * scrape time; undefined where /proc is absent (not Linux) or the socket is not found.
 */

export interface KernelUdpCounters {
  readonly receiveQueueBytes: number
  readonly drops: number
}

/** /proc/net/udp lines: sl, local address, rem address, st, tx_queue:rx_queue, ..., drops (last). */
const MIN_FIELDS = 13
/** A node holds a handful of sockets; the files list every socket on the host, bounded here. */
const MAX_LINES = 65_536

export const read = (port: number): KernelUdpCounters | undefined => {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, "0")}`
  for (const file of ["/proc/net/udp6", "/proc/net/udp"]) {
    let text: string
    try {
      text = Fs.readFileSync(file, "utf8")
    } catch {
      continue
    }
    const lines = text.split("\n", MAX_LINES)
    for (let i = 1; i < lines.length; i++) {
      const fields = lines[i]!.trim().split(/\s+/)
      if (fields.length < MIN_FIELDS || !fields[1]!.endsWith(suffix)) continue
      const receiveQueueBytes = Number.parseInt(fields[4]!.split(":")[1] ?? "", 16)
      const drops = Number(fields[fields.length - 1])
      if (!Number.isFinite(receiveQueueBytes) || !Number.isFinite(drops)) return undefined
      return { receiveQueueBytes, drops }
    }
  }
  return undefined
}
