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

// The keys of an address are asked for several times per datagram (admission, the table, budgets,
// pending reads), and a received address object is reused for the reply: remembered per object, so
// each is built once. Addresses are values nobody mutates (the socket and the decoder make fresh ones).
// The socket also reuses one IP array for every datagram from a source: its strings are kept too.
const memo = new WeakMap<AddrPort, Keys>()
const ipMemo = new WeakMap<Uint8Array, { readonly ip: string; readonly prefix: string }>()

export const keys = (addr: AddrPort): Keys => {
  let k = memo.get(addr)
  if (k === undefined) {
    let host = ipMemo.get(addr.ip)
    if (host === undefined) {
      const ip = ipHex(addr.ip)
      host = { ip, prefix: prefixOf(ip) }
      ipMemo.set(addr.ip, host)
    }
    k = { addr: `${host.ip}:${addr.port}`, ip: host.ip, prefix: host.prefix }
    memo.set(addr, k)
  }
  return k
}

export const addrKey = (addr: AddrPort): string => keys(addr).addr

export const ipKey = (addr: AddrPort): string => keys(addr).ip

export const prefixKey = (addr: AddrPort): string => keys(addr).prefix
