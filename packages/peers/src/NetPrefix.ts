import type { AddrPort } from "@dave/protocol"

/**
 * String keys for an address, its host and its network. IPv4 (held as `::ffff:a.b.c.d`) groups by
 * /24, IPv6 by /48: the sizes a single operator typically gets, so per-prefix caps bound what one
 * operator can hold in our table. Computed once per datagram, hence a lookup table for the hex.
 */

const HEX: ReadonlyArray<string> = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"))
const V4_MAPPED_HEX = "00000000000000000000ffff"

export interface Keys {
  /** The full addr:port: the peer table's key. */
  readonly addr: string
  /** The IP alone (all ports of one host share it). */
  readonly ip: string
  /** The network prefix: IPv4 /24, IPv6 /48. */
  readonly prefix: string
}

const ipHex = (ip: Uint8Array): string => {
  let s = ""
  for (let i = 0; i < 16; i++) s += HEX[ip[i]! & 0xff]
  return s
}

const prefixOf = (ip: string): string =>
  ip.startsWith(V4_MAPPED_HEX) ? `4:${ip.slice(24, 30)}` : `6:${ip.slice(0, 12)}`

export const keys = (addr: AddrPort): Keys => {
  const ip = ipHex(addr.ip)
  return { addr: `${ip}:${addr.port}`, ip, prefix: prefixOf(ip) }
}

export const addrKey = (addr: AddrPort): string => `${ipHex(addr.ip)}:${addr.port}`

export const ipKey = (addr: AddrPort): string => ipHex(addr.ip)

export const prefixKey = (addr: AddrPort): string => prefixOf(ipHex(addr.ip))
