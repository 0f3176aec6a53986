import type { AddrPort } from "@dave/protocol"
import { Context, Data, type Effect, type Scope } from "effect"
import type { TransportStats } from "./TransportStats.ts"

/**
 * One message received: a UDP datagram, or one frame of the TCP side channel (see PROTOCOL 2.1).
 *
 * `from` means different things for the two:
 * - `via: "udp"`: the sender's UDP addr:port (IPv4 as `::ffff:a.b.c.d`). Replies go there.
 * - `via: "tcp"`: the TCP peer's IP and its TCP source port. That port is an ephemeral TCP port, not
 *   the peer's UDP address: never reply to it or add it to a peer table. Only the IP is meaningful
 *   (rate limiting, logging). The reference processes only PUTs from TCP and never answers on it;
 *   the transport delivers every frame whose length is valid and leaves that filtering to the node.
 */
export interface Inbound {
  readonly payload: Uint8Array
  readonly from: AddrPort
  readonly via: "udp" | "tcp"
}

export type TransportErrorReason =
  /** A host that is not an IP literal, or an option out of range. */
  | "InvalidOption"
  /** The UDP port, or the TCP port (UDP port + 1), is taken. */
  | "AddressInUse"
  /** Binding or listening failed for another reason (address not local, permission...). */
  | "BindFailed"
  /** A destination this transport cannot send to (bad IP length, port 0 or 65535 for TCP). */
  | "InvalidAddress"
  /** An empty frame, a frame over 1424 bytes, or more frames than one call may send. */
  | "InvalidFrame"
  | "ConnectionRefused"
  /** The peer closed or reset the connection before all frames were read. */
  | "ConnectionReset"
  | "Unreachable"
  /** Connect, write and close did not finish within the send timeout. */
  | "Timeout"
  | "Failed"

export class TransportError extends Data.TaggedError("TransportError")<{
  readonly reason: TransportErrorReason
  readonly message: string
}> {}

/**
 * The node's network: one dual-stack UDP socket plus the TCP PUT side channel on UDP port + 1.
 * Implemented over real sockets by `UdpTransport`; an in-memory network can implement it too.
 */
export class Transport extends Context.Service<
  Transport,
  {
    /** The bound UDP address in IPv6 form (`::` when bound to every address). */
    readonly localAddress: AddrPort
    /**
     * Waits for the next non-empty batch of inbound messages, oldest first, while no handler listens
     * (the queue between is bounded: over it, arrivals are dropped and counted).
     */
    readonly receive: Effect.Effect<ReadonlyArray<Inbound>>
    /**
     * Hands each inbound message to `handler` as it arrives, in order, from the socket's own callback:
     * no queue and no fiber between, for a consumer that handles a message at once (a node). Messages
     * queued before go to it first. Until the scope closes; one handler at a time (a second one is a
     * defect). `handler` must not throw.
     */
    readonly listen: (handler: (inbound: Inbound) => void) => Effect.Effect<void, never, Scope.Scope>
    /**
     * Sends one datagram, best effort: a failure (unreachable, oversize payload, bad address) is
     * counted in `stats.sendErrors`, never raised. A plain call, not an Effect: nothing to wait for
     * or fail, and a node sends several per message it handles.
     */
    readonly send: (to: AddrPort, payload: Uint8Array) => void
    /**
     * Opens a TCP connection to `to.ip` port `to.port + 1`, writes each frame as a u16 LE length and
     * the bytes, closes, and waits for the peer to close, all within a bounded timeout.
     */
    readonly sendFrames: (to: AddrPort, frames: ReadonlyArray<Uint8Array>) => Effect.Effect<void, TransportError>
    readonly stats: Effect.Effect<TransportStats>
  }
>()("@dave/network/Transport") {}
