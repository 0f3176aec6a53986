import * as Dgram from "node:dgram"
import * as Dns from "node:dns"
import * as Net from "node:net"
import { Address, type AddrPort, Constants } from "@dave/protocol"
import { Effect, type Scope } from "effect"
import * as SourceGuard from "./SourceGuard.ts"
import { TransportError } from "./Transport.ts"
import type { Counters } from "./TransportStats.ts"

/**
 * The node's dual-stack UDP socket on node:dgram directly. We started on effect's DatagramSocket, and
 * bench/transport.ts and bench/node.ts showed it costing 1.7–2× the CPU of raw dgram per echoed
 * datagram (a fiber wake-up, a NetAddress per datagram, an Effect callback per send): the node's GET
 * serving could not reach half the raw request/reply rate through it. Here a datagram goes from the
 * socket's message event straight to the caller, and a send is one dgram call with a counting callback.
 * The message event first asks the SourceGuard: a datagram over its source's rate is counted and
 * dropped there, before any parsing, allocation of our own or queueing.
 */

export interface UdpSocket {
  readonly localAddress: AddrPort
  /** Sends one datagram; errors are counted in `counters.sendErrors`, never raised. */
  readonly send: (to: AddrPort, payload: Uint8Array) => void
}

/**
 * node:dgram passes every destination through dns.lookup, which for an address literal still defers
 * the send to a process.nextTick. Ours are literals (from received datagrams, or formatted from
 * 16-byte addresses), so they resolve to themselves at once; a name (a bind host) goes to dns.lookup.
 */
const literalLookup = (
  host: string,
  options: Dns.LookupOneOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void
): void => {
  const family = Net.isIP(host)
  if (family === 0) Dns.lookup(host, options, callback)
  else callback(null, host, family)
}

const bindError = (error: NodeJS.ErrnoException, host: string, port: number): TransportError =>
  new TransportError({
    reason: error.code === "EADDRINUSE" ? "AddressInUse" : "BindFailed",
    message: `UDP bind [${host}]:${port}: ${error.code ?? "error"}: ${error.message}`
  })

/** Binds the socket (closed with the scope) and delivers each datagram of at most 1424 bytes to `onDatagram`. */
export const open = (
  options: {
    readonly host: string
    readonly port: number
    readonly receiveBufferBytes: number
    readonly sourceLimits: SourceGuard.SourceLimits
  },
  counters: Counters,
  onDatagram: (payload: Uint8Array, from: AddrPort) => void
): Effect.Effect<UdpSocket, TransportError, Scope.Scope> =>
  Effect.gen(function* () {
    const socket = yield* Effect.acquireRelease(
      Effect.callback<Dgram.Socket, TransportError>((resume) => {
        const s = Dgram.createSocket({
          type: "udp6",
          ipv6Only: false,
          recvBufferSize: options.receiveBufferBytes,
          lookup: literalLookup
        })
        const onError = (error: Error) => {
          s.close()
          resume(Effect.fail(bindError(error as NodeJS.ErrnoException, options.host, options.port)))
        }
        s.once("error", onError)
        s.bind(options.port, options.host, () => {
          s.off("error", onError)
          // Later errors are reports about datagrams already gone (ICMP): count them.
          s.on("error", () => {
            counters.sendErrors++
          })
          resume(Effect.succeed(s))
        })
      }),
      (s) => Effect.sync(() => s.close())
    )

    const guard = SourceGuard.make(options.sourceLimits)
    // Replies usually go to the `from` of a received datagram: remember its host string.
    const hostOf = new WeakMap<AddrPort, string>()

    socket.on("message", (payload, rinfo) => {
      // node hands over whole datagrams, so a long one arrives long rather than cut to 1424 bytes
      if (payload.length > Constants.MAX_MSG_LEN) {
        counters.oversizeDropped++
        return
      }
      const nowMs = performance.now()
      const source = guard.source(rinfo.address, nowMs)
      if (source === undefined) {
        counters.badSourceDropped++
        return
      }
      const decision = guard.admit(source, nowMs)
      if (decision !== "ok") {
        if (decision === "ip") counters.rateLimitedIp++
        else counters.rateLimitedPrefix++
        return
      }
      counters.datagramsIn++
      counters.bytesIn += payload.length
      const from: AddrPort = { ip: source.ip, port: rinfo.port }
      hostOf.set(from, rinfo.address)
      onDatagram(payload, from)
    })

    const send = (to: AddrPort, payload: Uint8Array): void => {
      if (
        payload.length > Constants.MAX_MSG_LEN ||
        to.ip.length !== Constants.IP_LEN ||
        to.port <= 0 ||
        to.port > 0xffff
      ) {
        counters.sendErrors++
        return
      }
      const host = hostOf.get(to) ?? Address.ipToV6String(to.ip)
      socket.send(payload, to.port, host, (error) => {
        if (error) counters.sendErrors++
        else {
          counters.datagramsOut++
          counters.bytesOut += payload.length
        }
      })
    }

    const bound = socket.address()
    const localAddress: AddrPort = {
      ip: guard.source(bound.address, performance.now())?.ip ?? new Uint8Array(Constants.IP_LEN),
      port: bound.port
    }
    return { localAddress, send }
  })
