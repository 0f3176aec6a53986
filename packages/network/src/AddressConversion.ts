import { Address, type AddrPort, Constants } from "@dave/protocol"
import { Result } from "effect"
import * as NetAddress from "effect/net/NetAddress"
import { TransportError } from "./Transport.ts"

/**
 * Conversions between the wire's AddrPort (16-byte IPv6, IPv4 as `::ffff:a.b.c.d`) and the forms
 * sockets use: effect's `InetAddress` for the UDP socket, host strings for node:net.
 */

const isPort = (port: number): boolean => Number.isInteger(port) && port >= 0 && port <= 0xffff

/** An IPv4 address becomes IPv4-mapped IPv6; an IPv6 scope ID is dropped (the wire has none). */
export const fromInetAddress = (address: NetAddress.InetAddress): AddrPort => {
  const ip = NetAddress.isInetAddressV4(address) ? NetAddress.toIpv4Mapped(address.address) : address.address
  return { ip: Uint8Array.from(NetAddress.ipv6ToOctets(ip)), port: address.port }
}

/**
 * The IPv6 `InetAddress` a dual-stack socket sends to: IPv4-mapped addresses stay mapped, which is
 * what a v6 socket needs to reach an IPv4 peer. `undefined` for an IP that is not 16 bytes or a bad port.
 */
export const toInetAddress = (addr: AddrPort): NetAddress.InetAddressV6 | undefined => {
  if (addr.ip.length !== Constants.IP_LEN || !isPort(addr.port)) return undefined
  return Result.getOrUndefined(NetAddress.inetAddressV6(NetAddress.ipv6FromBytesUnsafe(addr.ip), addr.port))
}

/** From a node:net host string (`::ffff:1.2.3.4`, `1.2.3.4`, `fe80::1%eth0`); the zone is dropped. */
export const fromNativeHost = (host: string, port: number): AddrPort | undefined => {
  const zoneless = host.split("%", 1)[0]!
  const parsed = NetAddress.inetAddressFromHostString(zoneless, port)
  return Result.isSuccess(parsed) ? fromInetAddress(parsed.success) : undefined
}

/** The host node:net connects to: dotted IPv4 for mapped addresses (works even on v6-only systems). */
export const toNativeHost = (ip: Uint8Array): string => Address.ipToString(ip)

/**
 * The host to bind the dual-stack socket (and the TCP listener) to. IPv6 literals are kept; an IPv4
 * literal becomes its mapped form (`127.0.0.1` → `::ffff:127.0.0.1`), because the node must be able
 * to send to `::ffff:` addresses (PROTOCOL 2.1): a plain IPv4 socket could never reply to a peer
 * keyed by its mapped address. Such a socket serves only IPv4 peers. Hostnames are refused.
 */
export const bindHostFor = (host: string): Result.Result<string, TransportError> => {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  const [address, zone] = bare.split("%", 2) as [string, string | undefined]
  const ip = NetAddress.ipFromString(address)
  if (Result.isFailure(ip)) {
    return Result.fail(
      new TransportError({ reason: "InvalidOption", message: `host must be an IPv4 or IPv6 literal, got "${host}"` })
    )
  }
  if (NetAddress.isIpv4Address(ip.success)) return Result.succeed(`::ffff:${address}`)
  return Result.succeed(zone === undefined ? address : `${address}%${zone}`)
}
