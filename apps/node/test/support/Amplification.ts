import * as NodeCrypto from "node:crypto"
import { Constants, Dat, type Message } from "@dave/protocol"
import { Effect, type Scope } from "effect"
import { encode, seedOf } from "./Client.ts"
import * as In from "./FuzzInput.ts"
import { makeAuthor, putBytes, senders, startDaemon, tempDir } from "./HardenDaemon.ts"
import { addrAckBytes, bytesByOp, dataGetAcks, signedPong } from "./Hostile.ts"
import { probe } from "./Probe.ts"

/**
 * Issue 8.3: for every request type, the bytes a daemon sends toward a source that never answered
 * its challenges (a spoofed address: it cannot, since the real owner never sent anything) divided
 * by the bytes that source sent, which PROTOCOL 13.9 bounds by 3. Each type comes from its own
 * socket, plus one socket sending every type in turn; late answers (the daemon's own challenge
 * PINGs) count too. Every GET_ACK toward these sources must be a "not found".
 */

export const MAX_RATIO = 3

export interface AmplificationOptions {
  readonly durationMs: number
  /** Time between two datagrams of one source. */
  readonly everyMs: number
}

export interface KindFigures {
  readonly name: string
  readonly datagrams: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly ratio: number
  readonly repliesByOp: Record<string, number>
  readonly dataSent: ReadonlyArray<string>
}

export interface AmplificationReport {
  readonly kinds: ReadonlyArray<KindFigures>
  readonly totalIn: number
  readonly totalOut: number
}

interface Kind {
  readonly name: string
  readonly next: (i: number) => Uint8Array
}

/** The request types a spoofer can send, each as a generator of datagrams. */
const kindsOf = (stored: Message.Dat, puts: ReadonlyArray<Uint8Array>, pongs: ReadonlyArray<Uint8Array>) => {
  const get = (key: Uint8Array) => encode({ _tag: "Get", pubKey: stored.pubKey, key })
  const keyOf = (i: number) => new TextEncoder().encode(`missing-${i}`)
  const garbage = In.randomEveryLength(1, 77)
  const kinds: Array<Kind> = [
    {
      name: "PING",
      next: () => encode({ _tag: "Ping", challenge: NodeCrypto.randomBytes(32), used: 0n, capacity: 1n << 30n })
    },
    { name: "PONG (unsolicited)", next: (i) => pongs[i % pongs.length]! },
    { name: "PUT (valid, signed)", next: (i) => puts[i % puts.length]! },
    {
      name: "PUT (bad signature)",
      next: (i) => {
        const bytes = puts[i % puts.length]!.slice()
        bytes[Constants.ENTRY_HEADER_LEN + 60] = bytes[Constants.ENTRY_HEADER_LEN + 60]! ^ 0xff
        return bytes
      }
    },
    { name: "GET (stored key)", next: () => get(stored.key) },
    { name: "GET (missing key)", next: (i) => get(keyOf(i)) },
    {
      name: "GET_ACK (unsolicited, with data)",
      next: () => encode({ _tag: "GetAck", entry: { replicas: [0n, 0n, 0n, 0n, 0n], dat: stored } })
    },
    {
      name: "GET_ACK (unsolicited, not found)",
      next: (i) => encode({ _tag: "GetAck", entry: Dat.notFound(stored.pubKey, keyOf(i)) })
    },
    { name: "GETMYADDRPORT", next: () => Uint8Array.of(Constants.Op.GetMyAddrPort) },
    {
      name: "GETMYADDRPORT_ACK",
      next: (i) => addrAckBytes({ ip: new Uint8Array(16).fill(i & 0xff), port: 1 + (i % 60_000) })
    },
    { name: "PUT_ACK (reserved op 3)", next: (i) => Uint8Array.of(Constants.Op.PutAck, i & 0xff, 0) },
    { name: "garbage (every length)", next: (i) => garbage.at((i * 37) % garbage.count) }
  ]
  const mixed: Kind = { name: "all types from one source", next: (i) => kinds[i % kinds.length]!.next(i) }
  return [...kinds, mixed]
}

export const run = (options: AmplificationOptions): Effect.Effect<AmplificationReport, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* tempDir("dave-amp-")
    const daemon = yield* startDaemon({ listen: "[::1]:0", peerLimits: "loopback", dataDir: dir, backup: false })
    const author = yield* makeAuthor(seedOf(51))
    const stored = yield* author.sign("stored", "a value worth amplifying ".repeat(40), Date.now() - 1_000)
    const honest = yield* probe("::1", seedOf(52))
    yield* honest.awaitVerifiedBy(daemon.address, 10_000)
    honest.send(daemon.address, putBytes(stored))
    const puts = yield* Effect.forEach(
      Array.from({ length: 8 }, (_, i) => i),
      (i) => Effect.map(author.sign(`spoofed-${i}`, "v".repeat(i * 150), Date.now() - 1_000), putBytes)
    )
    const pongs = yield* Effect.forEach(
      Array.from({ length: 4 }, (_, i) => i),
      (i) => signedPong(NodeCrypto.randomBytes(32), seedOf(60 + i), [daemon.address])
    )
    // Until the daemon serves the honest peer the entry: stored, so that "GET (stored key)" is one.
    for (let i = 0; i < 50; i++) {
      const reply = yield* Effect.promise(() => honest.get(daemon.address, stored.pubKey, stored.key, 500))
      if (reply.entry !== "timeout" && reply.entry !== undefined) break
      yield* Effect.sleep(100)
    }
    const kinds = kindsOf(stored, puts, pongs)
    const received: Array<Array<{ payload: Buffer }>> = kinds.map(() => [])
    const out = yield* senders("::1", kinds.length, (i, payload) => received[i]!.push({ payload }))
    const counts = kinds.map(() => 0)
    const endMs = Date.now() + options.durationMs
    const most = Math.ceil(options.durationMs / options.everyMs) + 1
    for (let round = 0; round < most && Date.now() < endMs; round++) {
      kinds.forEach((kind, k) => {
        out.send(k, daemon.address, kind.next(round))
        counts[k]!++
      })
      yield* Effect.sleep(options.everyMs)
    }
    // The daemon's own challenge PINGs come up to a second later; they count too.
    yield* Effect.sleep(1_500)
    const figures = kinds.map(
      (kind, k): KindFigures => ({
        name: kind.name,
        datagrams: counts[k]!,
        bytesIn: out.sentBytes[k]!,
        bytesOut: out.receivedBytes[k]!,
        ratio: out.receivedBytes[k]! / Math.max(1, out.sentBytes[k]!),
        repliesByOp: bytesByOp(received[k]!),
        dataSent: dataGetAcks(received[k]!)
      })
    )
    return {
      kinds: figures,
      totalIn: figures.reduce((n, f) => n + f.bytesIn, 0),
      totalOut: figures.reduce((n, f) => n + f.bytesOut, 0)
    }
  })

export const shortfalls = (r: AmplificationReport): Array<string> =>
  r.kinds.flatMap((k) => [
    ...(k.ratio > MAX_RATIO ? [`${k.name}: ${k.ratio.toFixed(3)} bytes out per byte in (limit ${MAX_RATIO})`] : []),
    ...k.dataSent.map((d) => `${k.name}: data toward an unverified source: ${d}`)
  ])

export const lines = (r: AmplificationReport): Array<string> => [
  ...r.kinds.map(
    (k) =>
      `amplification ${k.name}: ${k.datagrams} datagrams, in ${k.bytesIn} B, out ${k.bytesOut} B, ratio ` +
      `${k.ratio.toFixed(3)}  (goal: <= ${MAX_RATIO}); replies ${JSON.stringify(k.repliesByOp)}` +
      (k.dataSent.length > 0 ? `; DATA SENT ${k.dataSent.length}` : "")
  ),
  `amplification all sources: in ${r.totalIn} B, out ${r.totalOut} B, ratio ${(r.totalOut / Math.max(1, r.totalIn)).toFixed(3)}`
]
