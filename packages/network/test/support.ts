import * as Dgram from "node:dgram"
import * as Net from "node:net"
import type { Inbound, Transport } from "@dave/network"
import { Effect, type Scope } from "effect"

/** Collects inbound messages until `count` have arrived; fails with a timeout after `timeoutMs`. */
export const receiveCount = (
  transport: Transport.Transport["Service"],
  count: number,
  timeoutMs = 3000
): Effect.Effect<Array<Inbound>, Error> =>
  Effect.gen(function* () {
    const out: Array<Inbound> = []
    // bounded: each batch holds at least one message
    while (out.length < count) out.push(...(yield* transport.receive))
    return out
  }).pipe(
    Effect.timeoutOrElse({
      duration: timeoutMs,
      orElse: () => Effect.fail(new Error(`fewer than ${count} messages within ${timeoutMs} ms`))
    })
  )

/** Succeeds with nothing when no message arrives within `waitMs`. */
export const expectSilence = (transport: Transport.Transport["Service"], waitMs: number): Effect.Effect<void, Error> =>
  transport.receive.pipe(
    Effect.timeoutOrElse({ duration: waitMs, orElse: () => Effect.succeed(undefined) }),
    Effect.flatMap((batch) =>
      batch === undefined ? Effect.void : Effect.fail(new Error(`unexpected ${batch.length} message(s)`))
    )
  )

export interface RawUdp {
  readonly port: number
  readonly send: (payload: Uint8Array, port: number, host: string) => Effect.Effect<void, Error>
  /** The next datagram and its sender. */
  readonly next: (
    timeoutMs: number
  ) => Effect.Effect<{ readonly payload: Buffer; readonly address: string; readonly port: number }, Error>
}

/** A plain node:dgram socket, closed with the scope. */
export const rawUdp = (
  type: "udp4" | "udp6",
  host: string,
  options: { readonly ipv6Only?: boolean } = {}
): Effect.Effect<RawUdp, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<Dgram.Socket, Error>((resume) => {
      const socket = Dgram.createSocket({
        type,
        ...(options.ipv6Only === undefined ? {} : { ipv6Only: options.ipv6Only })
      })
      socket.once("error", (error) => resume(Effect.fail(error)))
      socket.bind({ address: host, port: 0 }, () => resume(Effect.succeed(socket)))
    }),
    (socket) => Effect.sync(() => socket.close())
  ).pipe(
    Effect.map((socket): RawUdp => {
      const inbox: Array<{ payload: Buffer; address: string; port: number }> = []
      let waiter: (() => void) | undefined
      socket.on("message", (payload, info) => {
        inbox.push({ payload, address: info.address, port: info.port })
        waiter?.()
      })
      const next: RawUdp["next"] = (timeoutMs) =>
        Effect.callback<{ payload: Buffer; address: string; port: number }, Error>((resume) => {
          const take = (): void => {
            const first = inbox.shift()
            if (first === undefined) return
            waiter = undefined
            clearTimeout(timer)
            resume(Effect.succeed(first))
          }
          const timer = setTimeout(() => {
            waiter = undefined
            resume(Effect.fail(new Error(`no datagram within ${timeoutMs} ms`)))
          }, timeoutMs)
          waiter = take
          take()
          return Effect.sync(() => {
            waiter = undefined
            clearTimeout(timer)
          })
        })
      return {
        port: socket.address().port,
        send: (payload, port, host) =>
          Effect.callback<void, Error>((resume) => {
            socket.send(payload, port, host, (error) => resume(error ? Effect.fail(error) : Effect.void))
          }),
        next
      }
    })
  )

export interface RawTcp {
  readonly write: (bytes: Uint8Array) => Effect.Effect<void>
  /** Milliseconds from connecting until the server closed the connection; fails after `timeoutMs`. */
  readonly closedAfterMs: (timeoutMs: number) => Effect.Effect<number, Error>
  readonly isOpen: () => boolean
}

/** A plain node:net client connected to [host]:port, destroyed with the scope. */
export const rawTcp = (host: string, port: number): Effect.Effect<RawTcp, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ socket: Net.Socket; connectedAt: number; closed: Promise<number> }, Error>((resume) => {
      const socket = Net.connect({ host, port })
      let connectedAt = 0
      const closed = new Promise<number>((done) => socket.on("close", () => done(performance.now())))
      socket.on("error", () => {})
      socket.once("connect", () => {
        connectedAt = performance.now()
        resume(Effect.succeed({ socket, connectedAt, closed }))
      })
      socket.once("error", (error) => resume(Effect.fail(error)))
    }),
    ({ socket }) => Effect.sync(() => socket.destroy())
  ).pipe(
    Effect.map(
      ({ socket, connectedAt, closed }): RawTcp => ({
        write: (bytes) => Effect.callback<void>((resume) => void socket.write(bytes, () => resume(Effect.void))),
        closedAfterMs: (timeoutMs) =>
          Effect.promise(() => closed).pipe(
            Effect.map((at) => at - connectedAt),
            Effect.timeoutOrElse({
              duration: timeoutMs,
              orElse: () => Effect.fail(new Error(`still open after ${timeoutMs} ms`))
            })
          ),
        isOpen: () => !socket.destroyed && socket.readyState === "open"
      })
    )
  )

/** A TCP server that accepts and never closes: for send timeouts. */
export const silentTcpServer = (host: string): Effect.Effect<number, Error, Scope.Scope> => {
  const accepted = new Set<Net.Socket>()
  return Effect.acquireRelease(
    Effect.callback<Net.Server, Error>((resume) => {
      const server = Net.createServer({ allowHalfOpen: true }, (socket) => {
        accepted.add(socket)
        socket.on("error", () => {})
      })
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen({ host, port: 0 }, () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.callback<void>((resume) => {
        for (const socket of accepted) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((server) => (server.address() as Net.AddressInfo).port))
}

/** A port on which nothing listens for TCP right now (a listener opened and closed). */
export const closedTcpPort = (host: string): Effect.Effect<number, Error> =>
  Effect.scoped(
    Effect.acquireRelease(
      Effect.callback<Net.Server, Error>((resume) => {
        const server = Net.createServer()
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen({ host, port: 0 }, () => resume(Effect.succeed(server)))
      }),
      (server) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
    ).pipe(Effect.map((server) => (server.address() as Net.AddressInfo).port))
  )
