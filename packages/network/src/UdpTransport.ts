import type { AddrPort } from "@dave/protocol"
import { Effect, Exit, Layer, Queue, Random, Result, Schedule, Scope } from "effect"
import * as AddressConversion from "./AddressConversion.ts"
import * as SourceGuard from "./SourceGuard.ts"
import * as TcpSideChannel from "./TcpSideChannel.ts"
import { type Inbound, Transport, TransportError } from "./Transport.ts"
import { type Counters, emptyCounters, makeMetricsFlush, type TransportStats } from "./TransportStats.ts"
import * as UdpSocket from "./UdpSocket.ts"

/**
 * The live Transport: one dual-stack UDP socket (UdpSocket.ts: node:dgram, family ipv6 with
 * ipv6Only false, so IPv4 peers appear as `::ffff:a.b.c.d`) and the TCP side channel on
 * the UDP port + 1. Dual stack relies on the OS default `net.ipv6.bindv6only = 0` (Linux's default).
 */

export interface Options {
  /** IP literal to bind; default `::` (every address, IPv4 and IPv6). IPv4 literals bind as `::ffff:a.b.c.d`. */
  readonly host?: string
  /** UDP port; 0 = ephemeral (retried until UDP port + 1 is free for TCP too). */
  readonly port: number
  /** Kernel SO_RCVBUF in bytes; default 4 MiB (Linux doubles it and caps it at rmem_max). */
  readonly receiveBufferBytes?: number
  /**
   * Per-source rates over which UDP datagrams are dropped on arrival (SourceGuard); default
   * `SourceGuard.internet`, 4× the peer table's internet limits. `SourceGuard.unlimited` for many
   * nodes or benchmark clients on one address.
   */
  readonly sourceLimits?: SourceGuard.SourceLimits
  /**
   * Inbound messages held between `receive` calls while no handler listens; default 4096. Over it,
   * arrivals are dropped and counted.
   */
  readonly receiveQueueCapacity?: number
  /** Serve the TCP side channel on port + 1; default true. */
  readonly tcp?: boolean
  /** Open side-channel connections at once; default 64. */
  readonly maxTcpConnections?: number
  /** Time for each side-channel frame to arrive; default 1000 ms, as the reference. */
  readonly tcpReadDeadlineMs?: number
  /** Bound on one `sendFrames` call (connect, write, peer close); default 2000 ms. */
  readonly tcpSendTimeoutMs?: number
  /** Most frames one `sendFrames` call may carry; default 256. */
  readonly maxFramesPerSend?: number
  /** How often counters are pushed to the `dave_transport_*` metrics; default 1000 ms. */
  readonly metricsIntervalMs?: number
}

interface Settings {
  readonly bindHost: string
  readonly port: number
  readonly receiveBufferBytes: number
  readonly sourceLimits: SourceGuard.SourceLimits
  readonly receiveQueueCapacity: number
  readonly tcp: boolean
  readonly maxTcpConnections: number
  readonly tcpReadDeadlineMs: number
  readonly tcpSendTimeoutMs: number
  readonly maxFramesPerSend: number
  readonly metricsIntervalMs: number
}

/** Attempts at an ephemeral UDP port whose port + 1 is also free for TCP. */
const EPHEMERAL_ATTEMPTS = 16

const invalid = (message: string): TransportError => new TransportError({ reason: "InvalidOption", message })

const positiveInt = (
  name: string,
  value: number | undefined,
  fallback: number
): Result.Result<number, TransportError> => {
  const v = value ?? fallback
  return Number.isSafeInteger(v) && v > 0
    ? Result.succeed(v)
    : Result.fail(invalid(`${name} must be a positive integer, got ${v}`))
}

const checkLimits = (limits: SourceGuard.SourceLimits): Result.Result<SourceGuard.SourceLimits, TransportError> => {
  const rates = [limits.perIpPerSecond, limits.perIpBurst, limits.perPrefixPerSecond, limits.perPrefixBurst]
  if (!rates.every((r) => r > 0)) return Result.fail(invalid(`sourceLimits rates and bursts must be > 0, got ${rates}`))
  if (!Number.isSafeInteger(limits.maxTracked) || limits.maxTracked < 1) {
    return Result.fail(invalid(`sourceLimits.maxTracked must be a positive integer, got ${limits.maxTracked}`))
  }
  return Result.succeed(limits)
}

const settingsOf = (options: Options): Effect.Effect<Settings, TransportError> =>
  Effect.gen(function* () {
    const bindHost = yield* Effect.fromResult(AddressConversion.bindHostFor(options.host ?? "::"))
    const port = options.port
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) return yield* invalid(`port out of range: ${port}`)
    if ((options.tcp ?? true) && port === 0xffff) return yield* invalid("port 65535 leaves no port + 1 for TCP")
    return {
      bindHost,
      port,
      receiveBufferBytes: yield* Effect.fromResult(
        positiveInt("receiveBufferBytes", options.receiveBufferBytes, 4 << 20)
      ),
      sourceLimits: yield* Effect.fromResult(checkLimits(options.sourceLimits ?? SourceGuard.internet)),
      receiveQueueCapacity: yield* Effect.fromResult(
        positiveInt("receiveQueueCapacity", options.receiveQueueCapacity, 4096)
      ),
      tcp: options.tcp ?? true,
      maxTcpConnections: yield* Effect.fromResult(positiveInt("maxTcpConnections", options.maxTcpConnections, 64)),
      tcpReadDeadlineMs: yield* Effect.fromResult(positiveInt("tcpReadDeadlineMs", options.tcpReadDeadlineMs, 1000)),
      tcpSendTimeoutMs: yield* Effect.fromResult(positiveInt("tcpSendTimeoutMs", options.tcpSendTimeoutMs, 2000)),
      maxFramesPerSend: yield* Effect.fromResult(positiveInt("maxFramesPerSend", options.maxFramesPerSend, 256)),
      metricsIntervalMs: yield* Effect.fromResult(positiveInt("metricsIntervalMs", options.metricsIntervalMs, 1000))
    }
  })

interface Sockets {
  readonly udp: UdpSocket.UdpSocket
  readonly localAddress: AddrPort
}

/** Binds UDP, then TCP on the bound port + 1, in the current scope. */
const openSockets = (
  settings: Settings,
  counters: Counters,
  deliverUdp: (payload: Uint8Array, from: AddrPort) => void,
  deliverTcp: (payload: Uint8Array, from: AddrPort) => void
): Effect.Effect<Sockets, TransportError, Scope.Scope> =>
  Effect.gen(function* () {
    const udp = yield* UdpSocket.open(
      {
        host: settings.bindHost,
        port: settings.port,
        receiveBufferBytes: settings.receiveBufferBytes,
        sourceLimits: settings.sourceLimits
      },
      counters,
      deliverUdp
    )
    const localAddress = udp.localAddress
    if (settings.tcp) {
      if (localAddress.port === 0xffff) {
        return yield* new TransportError({
          reason: "AddressInUse",
          message: "UDP port 65535 leaves no port + 1 for TCP"
        })
      }
      yield* TcpSideChannel.listen(
        {
          host: settings.bindHost,
          port: localAddress.port + 1,
          maxConnections: settings.maxTcpConnections,
          readDeadlineMs: settings.tcpReadDeadlineMs
        },
        counters,
        deliverTcp
      )
    }
    return { udp, localAddress }
  })

/** Each attempt gets its own scope, closed if the attempt fails, so a retry rebinds from scratch. */
const openInChildScope = (
  settings: Settings,
  counters: Counters,
  deliverUdp: (payload: Uint8Array, from: AddrPort) => void,
  deliverTcp: (payload: Uint8Array, from: AddrPort) => void
): Effect.Effect<Sockets, TransportError, Scope.Scope> =>
  Effect.gen(function* () {
    const child = yield* Scope.fork(yield* Scope.Scope)
    return yield* openSockets(settings, counters, deliverUdp, deliverTcp).pipe(
      Scope.provide(child),
      Effect.onError((cause) => Scope.close(child, Exit.failCause(cause)))
    )
  })

/** Builds the transport; its sockets, listener and fibers live until the surrounding scope closes. */
export const make = (options: Options): Effect.Effect<Transport["Service"], TransportError, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = yield* settingsOf(options)
    const counters = emptyCounters()
    const inbox = yield* Queue.bounded<Inbound>(settings.receiveQueueCapacity)
    yield* Effect.addFinalizer(() => Queue.shutdown(inbox))
    let handler: ((inbound: Inbound) => void) | undefined
    const enqueue = (message: Inbound): void => {
      if (handler !== undefined) handler(message)
      else if (!Queue.offerUnsafe(inbox, message)) counters.receiveQueueDropped++
    }
    const deliverTcp = (payload: Uint8Array, from: AddrPort): void => enqueue({ payload, from, via: "tcp" })
    const deliverUdp = (payload: Uint8Array, from: AddrPort): void => enqueue({ payload, from, via: "udp" })
    const { udp, localAddress } = yield* openInChildScope(settings, counters, deliverUdp, deliverTcp).pipe(
      Effect.retry({
        times: EPHEMERAL_ATTEMPTS - 1,
        while: (error) => settings.port === 0 && error.reason === "AddressInUse"
      })
    )

    const snapshot = (): TransportStats => ({ ...counters })
    const flushMetrics = makeMetricsFlush(snapshot)
    // At a random phase of the interval, so transports started together do not flush together.
    const phaseMs = yield* Random.nextIntBetween(0, Math.max(1, settings.metricsIntervalMs))
    yield* Effect.forkScoped(
      Effect.delay(Effect.repeat(flushMetrics, Schedule.spaced(settings.metricsIntervalMs)), phaseMs)
    )
    yield* Effect.addFinalizer(() => flushMetrics)

    return Transport.of({
      localAddress,
      receive: Queue.takeAll(inbox),
      listen: (listener) =>
        Effect.acquireRelease(
          Effect.flatMap(Queue.clear(inbox), (queued) =>
            Effect.sync(() => {
              if (handler !== undefined) throw new Error("bug: a second handler listens to one transport")
              handler = listener
              for (const message of queued) listener(message)
            })
          ),
          () =>
            Effect.sync(() => {
              handler = undefined
            })
        ),
      send: udp.send,
      sendFrames: (to, frames) =>
        TcpSideChannel.sendFrames(
          to,
          frames,
          { timeoutMs: settings.tcpSendTimeoutMs, maxFrames: settings.maxFramesPerSend },
          counters
        ),
      stats: Effect.map(flushMetrics, () => snapshot())
    })
  })

export const layer = (options: Options): Layer.Layer<Transport, TransportError> =>
  Layer.effect(Transport, make(options))
