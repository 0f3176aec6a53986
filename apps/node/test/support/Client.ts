import * as Dgram from "node:dgram"
import { DatSigning, Hasher, KeyFile, Signer, Work } from "@dave/crypto"
import { DaveNode, NodeStack } from "@dave/network"
import { PeerOptions } from "@dave/peers"
import { Address, type AddrPort, Codec, type Entry, type Message } from "@dave/protocol"
import { Context, Effect, Layer, Option, Result, type Scope } from "effect"

/** The test's side of the network: an in-process node that peers with the daemons, and raw UDP. */

export const seedOf = (n: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (n * 31 + i * 7) & 0xff)

/** A full node in this process with the daemons as its edges, so they verify it and serve it data. */
export const clientNode = (
  edges: ReadonlyArray<AddrPort>,
  seed = seedOf(99)
): Effect.Effect<DaveNode.DaveNodeShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const keyPair = yield* Effect.orDie(KeyFile.fromSeed(seed))
    const stack = NodeStack.layer({
      keyPair,
      host: "::1",
      port: 0,
      edges,
      capacityBytes: 16 * 1024 * 1024,
      // A light client: the daemons never pick it as a replica, so they stay the only five.
      node: { light: true },
      peers: { ...PeerOptions.loopback, activateAfterMs: 0 }
    })
    const context = yield* Layer.build(Layer.fresh(stack)).pipe(Effect.orDie)
    return Context.get(context, DaveNode.DaveNode)
  })

export const signedDat = (seed: Uint8Array, key: string, value: string, timeMs: number): Effect.Effect<Message.Dat> =>
  DatSigning.signDat({
    key: new TextEncoder().encode(key),
    value: new TextEncoder().encode(value),
    timeMs,
    difficulty: 8
  }).pipe(
    Effect.provide(
      Layer.mergeAll(Signer.layerNative(seed), Work.layerSingleThread).pipe(Layer.provideMerge(Hasher.layer))
    ),
    Effect.orDie
  )

export const encode = (m: Message.Message): Uint8Array => {
  const r = Codec.encode(m)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}

export const putMessage = (dat: Message.Dat): Uint8Array =>
  encode({ _tag: "Put", entry: { replicas: [0n, 0n, 0n, 0n, 0n], dat } })

/** A plain UDP socket on ::1 that records the bytes it sends and receives per peer port. */
export interface RawSocket {
  readonly send: (to: AddrPort, payload: Uint8Array) => Effect.Effect<void>
  readonly received: Array<{ readonly port: number; readonly payload: Buffer }>
  readonly sentBytes: () => number
  readonly receivedBytes: () => number
}

export const rawSocket: Effect.Effect<RawSocket, never, Scope.Scope> = Effect.acquireRelease(
  Effect.callback<{ socket: Dgram.Socket; raw: RawSocket }>((resume) => {
    const socket = Dgram.createSocket({ type: "udp6" })
    const received: Array<{ port: number; payload: Buffer }> = []
    let sent = 0
    socket.on("message", (payload, rinfo) => received.push({ port: rinfo.port, payload }))
    socket.bind(0, "::1", () =>
      resume(
        Effect.succeed({
          socket,
          raw: {
            send: (to, payload) =>
              Effect.callback<void>((done) => {
                sent += payload.length
                socket.send(payload, to.port, Address.ipToString(to.ip), () => done(Effect.void))
              }),
            received,
            sentBytes: () => sent,
            receivedBytes: () => received.reduce((n, r) => n + r.payload.length, 0)
          }
        })
      )
    )
  }),
  ({ socket }) => Effect.sync(() => socket.close())
).pipe(Effect.map(({ raw }) => raw))

/** Reads `key` of `author` from exactly `target`, retrying until `check` holds or time runs out. */
export const readFrom = (
  client: DaveNode.DaveNodeShape,
  target: AddrPort,
  dat: Message.Dat,
  check: (entry: Option.Option<Entry>) => boolean,
  timeoutMs: number
): Effect.Effect<Option.Option<Entry>, Error> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    let last: Option.Option<Entry> = Option.none()
    while (Date.now() < deadline) {
      last = yield* client
        .get(dat.pubKey, dat.key, { targets: [target], timeoutMs: 500 })
        .pipe(Effect.orElseSucceed(() => Option.none<Entry>()))
      if (check(last)) return last
      yield* Effect.sleep(200)
    }
    return yield* Effect.fail(
      new Error(
        `${Address.toString(target)} did not serve the expected entry of ${text(dat.key)} in ${timeoutMs} ms (last: ${valueOf(last) ?? "none"})`
      )
    )
  })

export const text = (b: Uint8Array): string => new TextDecoder().decode(b)
export const valueOf = (e: Option.Option<Entry>): string | undefined =>
  Option.isSome(e) ? text(e.value.dat.value) : undefined
