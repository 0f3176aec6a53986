import * as NodeCrypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { DaveNode } from "@dave/network"
import { Codec, Constants, Dat, type Message } from "@dave/protocol"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Option, Result } from "effect"
import {
  clientNode,
  encode,
  putMessage,
  type RawSocket,
  rawSocket,
  readFrom,
  seedOf,
  signedDat,
  valueOf
} from "./support/Client.ts"
import { type DaemonProcess, start, testArgs } from "./support/DaemonProcess.ts"
import {
  addrAckBytes,
  addrBytes,
  awaitChallenge,
  bitFlips,
  bytesByOp,
  concat,
  dataGetAcks,
  type FakeEdge,
  fakeEdge,
  frame,
  frameHeader,
  freshPingAnswer,
  pingAnswerBytes,
  pingBytes,
  randomDatagrams,
  resized,
  rssBytes,
  sendFor,
  sendPaced,
  signedPong,
  tcpSession,
  truncations,
  udpPeer,
  wellFramedDatagrams,
  withU16
} from "./support/Hostile.ts"

/**
 * Issue 4, second bullet: a live daemon process survives every datagram that crashed the reference
 * (PROTOCOL 10), random and mutated datagrams, and bad TCP side-channel frames, and still serves a
 * verified client, answers strangers, and keeps its memory; toward a never-verified address it
 * sends at most 3 bytes per byte received (PROTOCOL 13.9) and never a GET_ACK with data.
 */

const KEPT_VALUE = "safe and sound"
/** How much the daemon's resident memory may grow over its size after start-up. */
const MEMORY_HEADROOM_BYTES = 256 * 1024 * 1024
const MAX_AMPLIFICATION = 3

interface TargetShape {
  readonly daemon: DaemonProcess
  /** The daemon's only edge: it answers challenges, so the daemon asks it for its own address. */
  readonly edge: FakeEdge
  readonly client: DaveNode.DaveNodeShape
  /** An entry the daemon stores from the start; the client must read it after every batch. */
  readonly kept: Message.Dat
  readonly baselineRssBytes: number
}

class Target extends Context.Service<Target, TargetShape>()("@dave/node/test/Hostile/Target") {}

const TargetLive: Layer.Layer<Target, Error> = Layer.effect(
  Target,
  Effect.gen(function* () {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-hostile-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
    const edge = yield* fakeEdge(seedOf(11))
    const daemon = yield* start([...testArgs(dir, [edge.address]), "--no-backup"])
    const client = yield* clientNode([daemon.address])
    const raw = yield* rawSocket
    const kept = yield* signedDat(seedOf(5), "kept", KEPT_VALUE, Date.now() - 100)
    yield* raw.send(daemon.address, putMessage(kept))
    // Served once the daemon has verified the client (it answered the daemon's challenge).
    yield* readFrom(client, daemon.address, kept, (e) => valueOf(e) === KEPT_VALUE, 10_000)
    const baselineRssBytes = yield* rssBytes(daemon.child.pid!)
    console.log(`daemon up: rss ${mib(baselineRssBytes)} MiB`)
    return { daemon, edge, client, kept, baselineRssBytes }
  })
)

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)

/** The daemon is alive, serves the verified client, answers a stranger, and its memory is sane. */
const assertHealthy = (label: string) =>
  Effect.gen(function* () {
    const { daemon, client, kept, baselineRssBytes } = yield* Target
    expect(daemon.exited(), `${label}: the daemon exited`).toBe(false)
    const got = yield* readFrom(client, daemon.address, kept, (e) => valueOf(e) === KEPT_VALUE, 5_000)
    expect(valueOf(got)).toBe(KEPT_VALUE)
    const answeredBytes = yield* freshPingAnswer(daemon.address, 2_000)
    expect(answeredBytes, `${label}: a fresh socket got no answer to its PINGs`).toBeGreaterThan(0)
    const rss = yield* rssBytes(daemon.child.pid!)
    console.log(`${label}: alive, serves the client, answered a stranger with ${answeredBytes} B, rss ${mib(rss)} MiB`)
    expect(rss).toBeLessThan(baselineRssBytes + MEMORY_HEADROOM_BYTES)
    const errors = daemon.logs.filter((l) => l.level === "ERROR" || l.level === "FATAL")
    expect(
      errors.map((l) => JSON.stringify(l.message).slice(0, 300)),
      `${label}: error log lines`
    ).toEqual([])
    expect(daemon.exited()).toBe(false)
  })

/** Nothing the daemon sent to this never-verified socket was a GET_ACK with data. */
const assertNoDataTo = (raw: RawSocket, label: string): void => {
  expect(dataGetAcks(raw.received), `${label}: data sent to an unverified socket`).toEqual([])
}

const getBytes = (pubKey: Uint8Array, key: string): Uint8Array =>
  encode({ _tag: "Get", pubKey, key: new TextEncoder().encode(key) })

const randomBytes = (n: number): Uint8Array => Uint8Array.from(NodeCrypto.randomBytes(n))

/** A PONG datagram whose address-length byte is `a`, with the list and the 144-byte tail present. */
const pongWithLength = (a: number, tail: Uint8Array): Uint8Array => concat([Constants.Op.Pong, a], randomBytes(a), tail)

const bigDat = (key: string, valueBytes: number): Effect.Effect<Message.Dat> =>
  signedDat(seedOf(6), key, "v".repeat(valueBytes), Date.now() - 100)

layer(TargetLive, { excludeTestServices: true, timeout: "40 seconds" })(
  "a daemon process under hostile input",
  (it) => {
    it.effect(
      "survives every datagram of PROTOCOL 10 that crashed the reference, and still takes a 1424-byte PUT",
      () =>
        Effect.gen(function* () {
          const { daemon, client, kept } = yield* Target
          const hostile = yield* rawSocket
          const to = daemon.address
          const put = putMessage(kept)
          const notFound = encode({
            _tag: "GetAck",
            entry: Dat.notFound(kept.pubKey, new TextEncoder().encode("nope"))
          })
          const tail = randomBytes(Constants.PONG_TAIL_LEN)
          const largest = yield* bigDat("largest", Constants.MAX_KEY_VALUE_LEN - "largest".length)
          const largestPut = putMessage(largest)
          expect(largestPut.length).toBe(Constants.MAX_MSG_LEN)
          // 1225..4096 bytes: a valid dat with trailing bytes, its entry length claiming them all.
          const oversize = yield* bigDat("oversize", Constants.MAX_KEY_VALUE_LEN - "oversize".length - 2)
          const oversizePuts = [1425, 1500, 2048, 4096].map((n) =>
            withU16(resized(putMessage(oversize), n), 1, Math.min(n - 3, 0xffff))
          )
          // Offsets in a PUT: the dat starts after the 45-byte entry header; its key length is at 152.
          const keyOffset = Constants.ENTRY_HEADER_LEN + 152
          const valueLengthOffset = keyOffset + 1 + kept.key.length

          const catalogue: ReadonlyArray<readonly [string, ReadonlyArray<Uint8Array>]> = [
            ["empty datagram", [new Uint8Array(0)]],
            ["PING < 49 bytes", [1, 2, 9, 17, 33, 41, 48].map((n) => concat([Constants.Op.Ping], randomBytes(n - 1)))],
            ["PUT < 3 bytes", [Uint8Array.of(2), Uint8Array.of(2, 0xff)]],
            ["PUT entry length 0", [withU16(put, 1, 0), Uint8Array.of(2, 0, 0)]],
            [
              "PUT entry length > bytes present",
              [withU16(put, 1, 0xffff), withU16(put, 1, put.length - 2), Uint8Array.of(2, 0xff, 0xff, 1, 2, 3)]
            ],
            ["PUT dat length 0 or too long", [withU16(put, 43, 0), withU16(put, 43, 0xffff), withU16(put, 43, 1)]],
            [
              "PUT key or value length past the end",
              [
                Uint8Array.from(put).fill(255, keyOffset, keyOffset + 1),
                withU16(put, valueLengthOffset, 0xffff),
                withU16(put, valueLengthOffset, kept.value.length + 1)
              ]
            ],
            ["PUT of 1425..4096 bytes", oversizePuts],
            [
              "PONG address length past the datagram",
              [
                Uint8Array.of(1),
                Uint8Array.of(1, 0),
                Uint8Array.of(1, 255),
                concat([1, 200], randomBytes(10)),
                concat([1, 36], randomBytes(40))
              ]
            ],
            [
              "PONG address length not a multiple of 18, or over 12 addresses",
              [1, 17, 19, 35, 234, 252].map((a) => pongWithLength(a, tail))
            ],
            [
              "short GET_ACK",
              [
                Uint8Array.of(5),
                Uint8Array.of(5, 0xcc, 0),
                notFound.slice(0, 100),
                withU16(notFound, 1, 0),
                notFound.slice(0, -1)
              ]
            ],
            ["short GET", [Uint8Array.of(4), concat([4], kept.pubKey), concat([4], kept.pubKey, [10, 1, 2, 3])]],
            ["PUT_ACK (op 3)", [Uint8Array.of(3), concat([3], new Uint8Array(48)), concat([3], put.subarray(1))]],
            [
              "unknown ops 8..255",
              Array.from({ length: 248 }, (_, i) => [
                Uint8Array.of(i + 8),
                concat([i + 8], randomBytes(48)),
                concat([i + 8], put.subarray(1))
              ]).flat()
            ],
            ["GETMYADDRPORT with trailing bytes", [Uint8Array.of(6, 1, 2, 3)]],
            [
              "GETMYADDRPORT_ACK from a non-edge",
              [
                concat([7], addrBytes(client.localAddress)),
                concat([7], addrBytes(to)),
                Uint8Array.of(7, 1, 2),
                concat([7], addrBytes(client.localAddress), randomBytes(20))
              ]
            ]
          ]
          for (const [name, datagrams] of catalogue) {
            yield* sendPaced(hostile, to, datagrams)
            yield* Effect.sleep(20)
            expect(daemon.exited(), `the daemon exited after: ${name}`).toBe(false)
          }

          // The same malformed PONGs from an address the daemon has challenged, echoing its challenge.
          yield* hostile.send(to, pingBytes())
          const challenge = yield* awaitChallenge(hostile, to, 3_000)
          const echoTail = concat(challenge, randomBytes(Constants.PONG_TAIL_LEN - Constants.CHALLENGE_LEN))
          const answer = yield* signedPong(challenge, seedOf(8), [])
          yield* sendPaced(hostile, to, [
            ...[1, 17, 19, 234, 252].map((a) => pongWithLength(a, echoTail)),
            concat([1, 200], challenge),
            answer.slice(0, -1),
            // every bit flip of a correct answer: none may verify the sender
            ...bitFlips(answer)
          ])

          // The largest legal PUT is stored and served; the oversize ones are not.
          yield* hostile.send(to, largestPut)
          const served = yield* readFrom(client, to, largest, Option.isSome, 5_000)
          expect(Option.isSome(served) && served.value.dat.value.length).toBe(largest.value.length)
          const absent = yield* client.get(oversize.pubKey, oversize.key, { targets: [to], timeoutMs: 1_000 })
          expect(Option.isNone(absent)).toBe(true)

          yield* hostile.send(to, getBytes(kept.pubKey, "kept"))
          yield* Effect.sleep(300)
          assertNoDataTo(hostile, "section 10")
          yield* assertHealthy("section 10")
        }),
      30_000
    )

    it.effect(
      "survives 10,000 seeded random datagrams of 0..1500 bytes",
      () =>
        Effect.gen(function* () {
          const { daemon } = yield* Target
          const hostile = yield* rawSocket
          const datagrams = randomDatagrams(10_000, 4242, 1_500)
          const startedMs = Date.now()
          yield* sendPaced(hostile, daemon.address, datagrams)
          console.log(
            `random: sent ${datagrams.length} datagrams, ${hostile.sentBytes()} B in ${Date.now() - startedMs} ms; ` +
              `got back ${hostile.receivedBytes()} B ${JSON.stringify(bytesByOp(hostile.received))}`
          )
          // Random contents in exact frames: every one decodes and reaches a handler.
          const framed = wellFramedDatagrams(3_000, 4343)
          expect(framed.filter((d) => Result.isFailure(Codec.decode(d))).length).toBe(0)
          const before = hostile.receivedBytes()
          yield* sendPaced(hostile, daemon.address, framed)
          yield* Effect.sleep(200)
          console.log(
            `well-framed random: sent ${framed.length} datagrams; got back ${hostile.receivedBytes() - before} B ` +
              JSON.stringify(bytesByOp(hostile.received))
          )
          assertNoDataTo(hostile, "random")
          yield* assertHealthy("random datagrams")
        }),
      30_000
    )

    it.effect(
      "survives every truncation and single-bit flip of a valid PUT, PONG and GET",
      () =>
        Effect.gen(function* () {
          const { daemon, client, kept } = yield* Target
          const hostile = yield* rawSocket
          const put = putMessage(kept)
          const pong = yield* signedPong(randomBytes(Constants.CHALLENGE_LEN), seedOf(9), [
            daemon.address,
            client.localAddress
          ])
          const get = getBytes(kept.pubKey, "kept")
          for (const [name, valid] of [
            ["PUT", put],
            ["PONG", pong],
            ["GET", get]
          ] as const) {
            const mutants = [...truncations(valid), ...bitFlips(valid)]
            yield* sendPaced(hostile, daemon.address, mutants)
            yield* Effect.sleep(20)
            expect(daemon.exited(), `the daemon exited after mutants of ${name}`).toBe(false)
            console.log(`mutants of ${name} (${valid.length} B): ${mutants.length} sent`)
          }
          yield* Effect.sleep(200)
          assertNoDataTo(hostile, "mutants")
          // No flipped copy of the kept entry replaced it (assertHealthy reads its value).
          yield* assertHealthy("mutants")
        }),
      30_000
    )

    it.effect(
      "survives bad frames on the TCP side channel and still takes a PUT there",
      () =>
        Effect.gen(function* () {
          const { daemon, client, kept } = yield* Target
          const to = daemon.address
          const put = putMessage(kept)
          const ended = { end: true, waitMs: 3_000 }
          const open = { end: false, waitMs: 3_000 }

          // Bad lengths: the daemon closes at once, well before its 1 s read deadline.
          for (const length of [0, Constants.MAX_MSG_LEN + 1, 4096, 0xffff]) {
            const outcome = yield* tcpSession(to, concat(frameHeader(length), randomBytes(64)), open)
            console.log(
              `TCP frame length ${length}: closed by the daemon ${outcome.closedByPeer} after ${outcome.elapsedMs} ms`
            )
            expect(outcome.closedByPeer, `frame length ${length}`).toBe(true)
            expect(outcome.elapsedMs, `frame length ${length}`).toBeLessThan(800)
          }
          // A bad length after good frames, and a frame cut short: closed too.
          const afterGood = yield* tcpSession(to, concat(frame(put), frame(randomBytes(20)), frameHeader(0)), open)
          expect(afterGood.closedByPeer).toBe(true)
          const stalled = yield* tcpSession(to, concat(frameHeader(300), randomBytes(100)), open)
          console.log(`TCP frame cut short: closed by the daemon ${stalled.closedByPeer} after ${stalled.elapsedMs} ms`)
          expect(stalled.closedByPeer).toBe(true)
          expect(stalled.elapsedMs).toBeGreaterThanOrEqual(900)

          // Well-framed garbage: random messages, every truncation and bit flip of a PUT, section 10's PUTs.
          const random = randomDatagrams(600, 77, Constants.MAX_MSG_LEN).filter((d) => d.length > 0)
          const mutants = [...truncations(put).slice(1), ...bitFlips(put)]
          const malformedPuts = [
            Uint8Array.of(2),
            withU16(put, 1, 0),
            withU16(put, 1, 0xffff),
            concat(put, randomBytes(10)),
            withU16(concat(put, randomBytes(10)), 1, put.length + 7),
            Uint8Array.of(0),
            Uint8Array.of(3)
          ]
          for (const [name, frames] of [
            ["random", random],
            ["PUT mutants", mutants],
            ["malformed PUTs", malformedPuts]
          ] as const) {
            const outcome = yield* tcpSession(to, concat(...frames.map(frame)), ended)
            expect(outcome.closedByPeer, `TCP ${name}`).toBe(true)
            expect(daemon.exited(), `the daemon exited after TCP ${name}`).toBe(false)
          }

          // More idle connections than the daemon's cap (64): every one is closed or refused in time.
          const many = yield* Effect.forEach(
            Array.from({ length: 80 }, (_, i) => i),
            (i) => Effect.result(tcpSession(to, frameHeader(10 + i), open)),
            { concurrency: "unbounded" }
          )
          const hung = many.filter((r) => Result.isSuccess(r) && !r.success.closedByPeer)
          const slowestMs = Math.max(...many.map((r) => (Result.isSuccess(r) ? r.success.elapsedMs : 0)))
          console.log(
            `TCP ${many.length} idle connections: ${many.filter(Result.isFailure).length} refused, ` +
              `${hung.length} still open after 3 s, last closed after ${slowestMs} ms`
          )
          expect(hung.length).toBe(0)

          // The channel still works: a valid PUT over TCP is stored and served.
          const fresh = yield* signedDat(seedOf(5), "after-tcp", "arrived", Date.now() - 100)
          const delivered = yield* tcpSession(to, frame(putMessage(fresh)), ended)
          expect(delivered.closedByPeer).toBe(true)
          const got = yield* readFrom(client, to, fresh, (e) => valueOf(e) === "arrived", 5_000)
          expect(valueOf(got)).toBe("arrived")
          yield* assertHealthy("TCP side channel")
        }),
      30_000
    )

    it.effect(
      "sends a never-verified address at most 3 bytes per byte received, and never data",
      () =>
        Effect.gen(function* () {
          const { daemon, kept } = yield* Target
          const to = daemon.address
          const garbage = randomDatagrams(2_000, 99, Constants.MAX_MSG_LEN)
          const kinds: ReadonlyArray<{ readonly name: string; readonly next: (i: number) => Uint8Array }> = [
            { name: "PING", next: () => pingBytes() },
            { name: "GET stored key", next: () => getBytes(kept.pubKey, "kept") },
            { name: "GET missing key", next: (i) => getBytes(kept.pubKey, `missing-${i}`) },
            { name: "GETMYADDRPORT", next: () => Uint8Array.of(Constants.Op.GetMyAddrPort) },
            { name: "garbage", next: (i) => garbage[i % garbage.length]! }
          ]
          const sockets = yield* Effect.forEach(kinds, () => rawSocket)
          yield* Effect.forEach(kinds, (kind, i) => sendFor(sockets[i]!, to, kind.next, 2_500, 4), {
            concurrency: "unbounded"
          })
          // Late replies (the daemon's own challenge PINGs) count too.
          yield* Effect.sleep(1_500)

          let sentTotal = 0
          let receivedTotal = 0
          for (const [i, kind] of kinds.entries()) {
            const raw = sockets[i]!
            const sent = raw.sentBytes()
            const received = raw.receivedBytes()
            sentTotal += sent
            receivedTotal += received
            console.log(
              `amplification ${kind.name}: sent ${sent} B, received ${received} B, ratio ${(received / sent).toFixed(3)} ` +
                `(limit ${MAX_AMPLIFICATION}) ${JSON.stringify(bytesByOp(raw.received))}`
            )
            expect(sent).toBeGreaterThan(0)
            expect(received / sent, `${kind.name}: bytes back per byte sent`).toBeLessThanOrEqual(MAX_AMPLIFICATION)
            assertNoDataTo(raw, kind.name)
            // Toward a stranger a PONG is bare: no address list (13.9).
            const pongs = raw.received.filter((r) => r.payload[0] === Constants.Op.Pong)
            expect(pongs.every((r) => r.payload.length === Constants.PONG_MIN_LEN && r.payload[1] === 0)).toBe(true)
            // The rest of every answer is well-formed.
            for (const r of raw.received) expect(Result.isSuccess(Codec.decode(r.payload))).toBe(true)
          }
          console.log(
            `amplification total: sent ${sentTotal} B, received ${receivedTotal} B, ratio ${(receivedTotal / sentTotal).toFixed(3)}`
          )
          expect(receivedTotal / sentTotal).toBeLessThanOrEqual(MAX_AMPLIFICATION)
          // The daemon does answer strangers within the budget: PONGs, "not found" GET_ACKs, ACKs.
          const answered = (i: number, op: number) => sockets[i]!.received.some((r) => r.payload[0] === op)
          expect(answered(0, Constants.Op.Pong)).toBe(true)
          expect(answered(1, Constants.Op.GetAck)).toBe(true)
          expect(answered(2, Constants.Op.GetAck)).toBe(true)
          expect(answered(3, Constants.Op.GetMyAddrPortAck)).toBe(true)
          yield* assertHealthy("amplification")
        }),
      30_000
    )

    // Last: its control sets the daemon's own address, which would skew later tests.
    it.effect(
      "refuses GETMYADDRPORT_ACK from a non-edge while its query to the edge is open",
      () =>
        Effect.gen(function* () {
          const { daemon, edge, client, kept } = yield* Target
          const to = daemon.address
          const bystander = yield* udpPeer()
          expect(yield* pingAnswerBytes(bystander, to, 2_000)).toBeGreaterThan(0)

          // Just after the daemon asked its edge, a non-edge claims to know the daemon's address.
          const asked = edge.addrQueries()
          const deadline = Date.now() + 12_000
          while (edge.addrQueries() === asked && Date.now() < deadline) yield* Effect.sleep(50)
          expect(edge.addrQueries(), "the daemon never asked its edge for its address").toBeGreaterThan(asked)
          const hostile = yield* rawSocket
          yield* sendPaced(hostile, to, [
            addrAckBytes(client.localAddress),
            addrAckBytes(bystander.address),
            addrAckBytes(to),
            addrAckBytes(edge.address)
          ])
          yield* Effect.sleep(200)
          // Had it been believed, the daemon would drop what the client and the bystander send.
          const got = yield* readFrom(client, to, kept, (e) => valueOf(e) === KEPT_VALUE, 3_000)
          expect(valueOf(got)).toBe(KEPT_VALUE)
          expect(yield* pingAnswerBytes(bystander, to, 2_000)).toBeGreaterThan(0)

          // Control: the same claim from the edge, within the same query, is believed.
          yield* edge.send(to, addrAckBytes(bystander.address))
          yield* Effect.sleep(300)
          expect(yield* pingAnswerBytes(bystander, to, 1_500)).toBe(0)
          expect(daemon.exited()).toBe(false)
        }),
      30_000
    )
  }
)
