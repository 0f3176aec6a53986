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

/**
 * Whether `text` is an IPv4 address in dotted-quad decimal. ipaddr.js alone also takes the legacy forms
 * (`127.1`, `0x7f.0.0.1`, a bare `1`, and `010.0.0.1` read as octal 8.0.0.1), which would turn a typo in
 * a configured address into a different host.
 */
const isDottedQuad = (text: string): boolean => ipaddr.IPv4.isValidFourPartDecimal(text)

/** Whether `text` is an IPv6 address whose embedded IPv4 tail, if any, is a dotted quad. */
const isStrictIpv6 = (text: string): boolean => {
  if (!ipaddr.IPv6.isValid(text)) return false
  const tail = text.slice(text.lastIndexOf(":") + 1)
  return !tail.includes(".") || isDottedQuad(tail)
}

/**
 * Parses an IP string into its 16-byte form: a dotted-quad IPv4 (becomes IPv4-mapped IPv6) or an IPv6,
 * optionally in brackets and with a zone (`%eth0`, dropped: the wire has no room for it).
 */
export const parseIp = (text: string): Uint8Array | undefined => {
  const bracketed = text.startsWith("[") && text.endsWith("]")
  const bare = bracketed ? text.slice(1, -1) : text
  if (!bracketed && isDottedQuad(bare))
    return Uint8Array.from(ipaddr.IPv4.parse(bare).toIPv4MappedAddress().toByteArray())
  const zoneless = bare.split("%")[0]!
  if (!isStrictIpv6(zoneless)) return undefined
  return Uint8Array.from(ipaddr.IPv6.parse(zoneless).toByteArray())
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

const hex = (ip: Uint8Array): string => Array.from(ip, (b) => b.toString(16).padStart(2, "0")).join("")

/**
 * The IP as a socket would take it: dotted IPv4 for mapped addresses, else compressed IPv6. An IP of the
 * wrong length (only a hand-built value can have one) prints as `invalid-ip:<hex>` instead of throwing,
 * since this runs in log lines.
 */
export const ipToString = (ip: Uint8Array): string => {
  if (ip.length !== IP_LEN) return `invalid-ip:${hex(ip)}`
  return isIpv4Mapped(ip) ? `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}` : ipaddr.fromByteArray(Array.from(ip)).toString()
}

/** The IP in IPv6 form, `::ffff:1.2.3.4` for mapped addresses: what a dual-stack socket sends to. */
export const ipToV6String = (ip: Uint8Array): string =>
  ip.length === IP_LEN && isIpv4Mapped(ip) ? `::ffff:${ipToString(ip)}` : ipToString(ip)

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
