import * as Net from "node:net"
import type { AddrPort } from "@dave/protocol"
import { Effect, Result, type Scope } from "effect"
import * as AddressConversion from "./AddressConversion.ts"
import * as TcpFrame from "./TcpFrame.ts"
import { TransportError, type TransportErrorReason } from "./Transport.ts"
import type { Counters } from "./TransportStats.ts"

/**
 * The TCP side channel on UDP port + 1 (PROTOCOL 2.1), over node:net rather than effect's
 * NodeSocketServer: node:net's `maxConnections` refuses connections over the cap (with a `drop`
 * event to count them) before any per-connection work, a timer re-armed per frame gives the exact
 * read deadline of the reference, and the framing is byte-level anyway. The channel carries rare
 * PUTs, so a fiber and a stream per connection would buy nothing.
 */

export interface ServerOptions {
  /** A literal host from `AddressConversion.bindHostFor`. */
  readonly host: string
  readonly port: number
  readonly maxConnections: number
  /** Time allowed for each whole frame, counted from the connection's start or the previous frame. */
  readonly readDeadlineMs: number
}

const errorCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined

const reasonOf = (code: string | undefined): TransportErrorReason => {
  switch (code) {
    case "EADDRINUSE":
      return "AddressInUse"
    case "EADDRNOTAVAIL":
    case "EACCES":
    case "EPERM":
      return "BindFailed"
    case "ECONNREFUSED":
      return "ConnectionRefused"
    case "ECONNRESET":
    case "EPIPE":
      return "ConnectionReset"
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EHOSTDOWN":
    case "ENETDOWN":
      return "Unreachable"
    default:
      return "Failed"
  }
}

const errorFrom = (error: unknown, context: string): TransportError => {
  const code = errorCode(error)
  const detail = error instanceof Error ? error.message : String(error)
  return new TransportError({ reason: reasonOf(code), message: `${context}: ${detail}` })
}

/** Reads frames from one accepted connection until it ends, misbehaves or misses its deadline. */
const serveConnection = (
  socket: Net.Socket,
  options: ServerOptions,
  counters: Counters,
  deliver: (payload: Uint8Array, from: AddrPort) => void
): void => {
  counters.tcpConnectionsAccepted++
  const from =
    socket.remoteAddress === undefined || socket.remotePort === undefined
      ? undefined
      : AddressConversion.fromNativeHost(socket.remoteAddress, socket.remotePort)
  if (from === undefined) {
    // already reset by the peer: nothing to read
    socket.destroy()
    return
  }
  const decoder = TcpFrame.makeDecoder()
  const deadline = setTimeout(() => {
    counters.tcpDeadlineClosed++
    socket.destroy()
  }, options.readDeadlineMs)
  const emit = (frame: Uint8Array): void => {
    counters.tcpFramesIn++
    deadline.refresh()
    deliver(frame, from)
  }
  socket.on("data", (chunk: Buffer) => {
    if (decoder.push(chunk, emit) === undefined) return
    counters.tcpBadFrames++
    clearTimeout(deadline)
    socket.destroy()
  })
  socket.on("end", () => {
    if (decoder.midFrame()) counters.tcpBadFrames++
  })
  // resets and the like: the connection closes, there is nobody to report them to
  socket.on("error", () => {})
  socket.on("close", () => clearTimeout(deadline))
}

/**
 * Listens for side-channel connections and hands each frame to `deliver`. Closing the scope stops
 * listening and destroys open connections.
 */
export const listen = (
  options: ServerOptions,
  counters: Counters,
  deliver: (payload: Uint8Array, from: AddrPort) => void
): Effect.Effect<Net.Server, TransportError, Scope.Scope> => {
  const open = new Set<Net.Socket>()
  const acquire = Effect.callback<Net.Server, TransportError>((resume) => {
    const server = Net.createServer()
    server.maxConnections = options.maxConnections
    server.on("drop", () => {
      counters.tcpConnectionsRefused++
    })
    server.on("connection", (socket) => {
      open.add(socket)
      socket.on("close", () => open.delete(socket))
      serveConnection(socket, options, counters, deliver)
    })
    const onListenError = (error: Error): void => {
      server.close()
      resume(Effect.fail(errorFrom(error, `TCP listen on [${options.host}]:${options.port}`)))
    }
    server.once("error", onListenError)
    server.listen({ host: options.host, port: options.port, ipv6Only: false }, () => {
      server.off("error", onListenError)
      // errors after listening (e.g. EMFILE on accept) leave the server running
      server.on("error", () => {})
      resume(Effect.succeed(server))
    })
    return Effect.sync(() => server.close())
  })
  return Effect.acquireRelease(acquire, (server) =>
    Effect.callback<void>((resume) => {
      for (const socket of open) socket.destroy()
      server.close(() => resume(Effect.void))
    })
  )
}

export interface SendOptions {
  /** Bound on connect + write + the peer's close. */
  readonly timeoutMs: number
  readonly maxFrames: number
}

/**
 * Connects to `to.ip` port `to.port + 1`, writes the frames, ends, and succeeds once the peer has
 * closed cleanly (a reference node closes after reading to end of stream), so success means the
 * peer read every byte.
 */
export const sendFrames = (
  to: AddrPort,
  frames: ReadonlyArray<Uint8Array>,
  options: SendOptions,
  counters: Counters
): Effect.Effect<void, TransportError> =>
  Effect.suspend(() => {
    if (frames.length > options.maxFrames) {
      return Effect.fail(
        new TransportError({
          reason: "InvalidFrame",
          message: `${frames.length} frames in one call; at most ${options.maxFrames}`
        })
      )
    }
    if (frames.length === 0) return Effect.void
    const bytes = TcpFrame.encode(frames)
    if (Result.isFailure(bytes)) return Effect.fail(bytes.failure)
    const port = to.port + 1
    if (to.ip.length !== 16 || !Number.isInteger(to.port) || to.port < 1 || port > 0xffff) {
      return Effect.fail(
        new TransportError({
          reason: "InvalidAddress",
          message: `cannot reach a TCP side channel from UDP port ${to.port} (IP of ${to.ip.length} bytes)`
        })
      )
    }
    const host = AddressConversion.toNativeHost(to.ip)
    const target = `TCP [${host}]:${port}`
    return Effect.callback<void, TransportError>((resume) => {
      let settled = false
      let socket: Net.Socket | undefined
      const finish = (error: TransportError | undefined): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (error === undefined) {
          counters.tcpFramesOut += frames.length
          resume(Effect.void)
        } else {
          counters.tcpSendErrors++
          socket?.destroy()
          resume(Effect.fail(error))
        }
      }
      const timer = setTimeout(
        () =>
          finish(
            new TransportError({ reason: "Timeout", message: `${target}: no close within ${options.timeoutMs} ms` })
          ),
        options.timeoutMs
      )
      try {
        socket = Net.connect({ host, port, noDelay: true })
      } catch (error) {
        finish(errorFrom(error, target))
        return
      }
      const connection = socket
      connection.on("connect", () => connection.end(bytes.success))
      connection.on("error", (error) => finish(errorFrom(error, target)))
      connection.on("close", (hadError) => {
        if (hadError) return
        finish(
          connection.writableFinished
            ? undefined
            : new TransportError({
                reason: "ConnectionReset",
                message: `${target}: closed before all frames were written`
              })
        )
      })
      return Effect.sync(() => {
        settled = true
        clearTimeout(timer)
        connection.destroy()
      })
    })
  })
