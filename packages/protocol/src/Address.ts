import ipaddr from "ipaddr.js"
import { IP_LEN } from "./Constants.ts"

/**
 * An addr:port as the wire carries it: a 16-byte IPv6 address (IPv4 in `::ffff:a.b.c.d` form) and a
 * port. Peers are keyed by this, so every IPv4 source is mapped before use.
 */
export interface AddrPort {
  readonly ip: Uint8Array
  readonly port: number
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]

export const make = (ip: Uint8Array, port: number): AddrPort => {
  if (ip.length !== IP_LEN) throw new RangeError(`ip must be ${IP_LEN} bytes, got ${ip.length}`)
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`port out of range: ${port}`)
  return { ip, port }
}

/** Parses an IP string (v4 or v6) into its 16-byte form; IPv4 becomes IPv4-mapped IPv6. */
export const parseIp = (text: string): Uint8Array | undefined => {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text
  const zoneless = bare.split("%")[0]!
  if (!ipaddr.isValid(zoneless)) return undefined
  const parsed = ipaddr.parse(zoneless)
  const v6 = parsed.kind() === "ipv4" ? (parsed as ipaddr.IPv4).toIPv4MappedAddress() : (parsed as ipaddr.IPv6)
  return Uint8Array.from(v6.toByteArray())
}

/** Builds an AddrPort from a host string (v4, v6, or `[v6]`) and a port. */
export const fromHostPort = (host: string, port: number): AddrPort | undefined => {
  const ip = parseIp(host)
  if (ip === undefined || !Number.isInteger(port) || port < 0 || port > 0xffff) return undefined
  return { ip, port }
}

/** Parses `1.2.3.4:5`, `[::1]:5` or `[::ffff:1.2.3.4]:5`. */
export const parse = (text: string): AddrPort | undefined => {
  const colon = text.lastIndexOf(":")
  if (colon <= 0) return undefined
  const portText = text.slice(colon + 1)
  if (!/^\d{1,5}$/.test(portText)) return undefined
  const host = text.slice(0, colon)
  if (!host.startsWith("[") && host.includes(":")) return undefined
  return fromHostPort(host, Number(portText))
}

export const isIpv4Mapped = (ip: Uint8Array): boolean => V4_MAPPED_PREFIX.every((b, i) => ip[i] === b)

/** The IP as a socket would take it: dotted IPv4 for mapped addresses, else compressed IPv6. */
export const ipToString = (ip: Uint8Array): string =>
  isIpv4Mapped(ip) ? `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}` : ipaddr.fromByteArray(Array.from(ip)).toString()

/** The IP in IPv6 form, `::ffff:1.2.3.4` for mapped addresses: what a dual-stack socket sends to. */
export const ipToV6String = (ip: Uint8Array): string =>
  isIpv4Mapped(ip) ? `::ffff:${ipToString(ip)}` : ipaddr.fromByteArray(Array.from(ip)).toString()

/** `[v6]:port`, with IPv4-mapped addresses written `[::ffff:a.b.c.d]:port`. */
export const toString = (addr: AddrPort): string => `[${ipToV6String(addr.ip)}]:${addr.port}`

export const equals = (a: AddrPort, b: AddrPort): boolean => {
  if (a.port !== b.port) return false
  for (let i = 0; i < IP_LEN; i++) if (a.ip[i] !== b.ip[i]) return false
  return true
}

/** A compact string key for maps: 32 hex chars of the IP and the port. */
export const key = (addr: AddrPort): string => {
  let s = ""
  for (let i = 0; i < IP_LEN; i++) s += (addr.ip[i]! < 16 ? "0" : "") + addr.ip[i]!.toString(16)
  return `${s}:${addr.port}`
}
