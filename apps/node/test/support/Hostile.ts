import * as NodeCrypto from "node:crypto"
import * as Dgram from "node:dgram"
import * as Fs from "node:fs"
import * as Net from "node:net"
import { Challenge, Hasher, Signer } from "@dave/crypto"
import { Address, type AddrPort, Codec, Constants, Dat } from "@dave/protocol"
import { Effect, Result, type Scope } from "effect"
import fc from "fast-check"
import { encode, type RawSocket } from "./Client.ts"

/** Hostile input for a live daemon (malformed datagrams and TCP frames) and probes of its health. */

// ---------------------------------------------------------------- datagram families

/** Every proper prefix of `bytes`, from empty to one byte short. */
export const truncations = (bytes: Uint8Array): Array<Uint8Array> =>
  Array.from({ length: bytes.length }, (_, n) => bytes.slice(0, n))

/** `bytes` with each single bit flipped in turn (8 × length variants). */
export const bitFlips = (bytes: Uint8Array): Array<Uint8Array> =>
  Array.from({ length: bytes.length * 8 }, (_, bit) => {
    const copy = Uint8Array.from(bytes)
    const at = bit >> 3
    copy[at] = copy[at]! ^ (1 << (bit & 7))
    return copy
  })

/** A copy of `bytes` with the u16 LE at `offset` set to `value`. */
export const withU16 = (bytes: Uint8Array, offset: number, value: number): Uint8Array => {
  const copy = Uint8Array.from(bytes)
  copy[offset] = value & 0xff
  copy[offset + 1] = (value >>> 8) & 0xff
  return copy
}

/** `bytes` cut or zero-padded to exactly `lengthBytes`. */
export const resized = (bytes: Uint8Array, lengthBytes: number): Uint8Array => {
  const out = new Uint8Array(lengthBytes)
  out.set(bytes.subarray(0, lengthBytes))
  return out
}

export const concat = (...parts: ReadonlyArray<Uint8Array | ReadonlyArray<number>>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** 18-byte addr:port (PROTOCOL 2.2). */
export const addrBytes = (addr: AddrPort): Uint8Array => concat(addr.ip, [addr.port & 0xff, addr.port >>> 8])

/**
 * `count` datagrams of uniformly random length 0..maxBytes; half start with a defined op (0..7) so
 * they reach each decoder, the rest with any byte. The same every run for a given seed. The bytes
 * come from an AES-CTR keystream keyed by the seed rather than fast-check's byte arrays, which take
 * seconds for the ~7 MB this makes; fast-check still picks the lengths and first bytes.
 */
export const randomDatagrams = (count: number, seed: number, maxBytes: number): Array<Uint8Array> => {
  const shapes = fc.sample(
    fc.record({
      length: fc.integer({ min: 0, max: maxBytes }),
      op: fc.oneof(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 255 }))
    }),
    { seed, numRuns: count }
  )
  const stream = keystream(
    `random-${seed}`,
    shapes.reduce((n, s) => n + s.length, 0)
  )
  let offset = 0
  return shapes.map(({ length, op }) => {
    const bytes = stream.slice(offset, offset + length)
    offset += length
    if (length > 0) bytes[0] = op
    return bytes
  })
}

/**
 * `count` random datagrams whose length fields all agree with their size, so each one decodes and
 * reaches the daemon's handlers: PINGs with random status, PONGs with random addresses and
 * signatures, PUTs and GET_ACKs with random dats, GETs, GETMYADDRPORT and its ACK.
 */
export const wellFramedDatagrams = (count: number, seed: number): Array<Uint8Array> => {
  const ops = [0, 1, 2, 4, 5, 6, 7] as const
  const shapes = fc.sample(
    fc.record({
      op: fc.constantFrom(...ops),
      keyBytes: fc.integer({ min: 0, max: Constants.MAX_KEY_LEN }),
      valueBytes: fc.integer({ min: 0, max: Constants.MAX_KEY_VALUE_LEN - Constants.MAX_KEY_LEN }),
      addrs: fc.integer({ min: 0, max: Constants.NPEER_LIMIT })
    }),
    { seed, numRuns: count }
  )
  const sizeOf = (s: (typeof shapes)[number]): number => {
    switch (s.op) {
      case 0:
        return Constants.PING_LEN
      case 1:
        return Constants.PONG_MIN_LEN + s.addrs * Constants.ADDR_LEN
      case 2:
      case 5:
        return Constants.PUT_OVERHEAD + s.keyBytes + s.valueBytes
      case 4:
        return Constants.GET_MIN_LEN + s.keyBytes
      case 6:
        return 1
      case 7:
        return Constants.GETMYADDRPORT_ACK_LEN
    }
  }
  const stream = keystream(
    `framed-${seed}`,
    shapes.reduce((n, s) => n + sizeOf(s), 0)
  )
  let offset = 0
  return shapes.map((s) => {
    const size = sizeOf(s)
    let bytes: Uint8Array = stream.slice(offset, offset + size)
    offset += size
    bytes[0] = s.op
    if (s.op === 1) bytes[1] = s.addrs * Constants.ADDR_LEN
    if (s.op === 4) bytes[33] = s.keyBytes
    if (s.op === 2 || s.op === 5) {
      const dat = Constants.ENTRY_HEADER_LEN
      bytes = withU16(bytes, 1, size - 3)
      bytes = withU16(bytes, dat - 2, size - dat)
      bytes[dat + 152] = s.keyBytes
      bytes = withU16(bytes, dat + 153 + s.keyBytes, s.valueBytes)
    }
    return bytes
  })
}

/** Deterministic pseudo-random bytes for a label: an AES-CTR keystream, as fast as a copy. */
const keystream = (label: string, lengthBytes: number): Uint8Array => {
  const key = NodeCrypto.createHash("sha256").update(label).digest().subarray(0, 16)
  const cipher = NodeCrypto.createCipheriv("aes-128-ctr", key, Buffer.alloc(16))
  return new Uint8Array(cipher.update(Buffer.alloc(lengthBytes)))
}

export const pingBytes = (): Uint8Array =>
  encode({ _tag: "Ping", challenge: NodeCrypto.randomBytes(Constants.CHALLENGE_LEN), used: 0n, capacity: 0n })

/** A well-formed PONG listing `addrs`, answering `challenge`, signed with the key of `seed`. */
export const signedPong = (
  challenge: Uint8Array,
  seed: Uint8Array,
  addrs: ReadonlyArray<AddrPort>
): Effect.Effect<Uint8Array> =>
  Effect.gen(function* () {
    const signer = yield* Effect.orDie(Signer.makeNative(seed))
    const hasher = yield* Hasher.makeWasm
    const answer = Challenge.answer({ signer, hasher }, challenge, NodeCrypto.randomBytes(Constants.SALT_LEN))
    return encode({ _tag: "Pong", addrs, challenge, ...answer })
  })

// ---------------------------------------------------------------- a stand-in edge

/** A UDP socket on ::1 whose address the test knows, recording what it receives. */
export interface UdpPeer {
  readonly address: AddrPort
  readonly received: Array<{ readonly port: number; readonly payload: Buffer }>
  readonly send: (to: AddrPort, payload: Uint8Array) => Effect.Effect<void>
  readonly receivedBytes: () => number
}

export const udpPeer = (
  onMessage: (payload: Buffer, reply: (bytes: Uint8Array) => void) => void = () => {}
): Effect.Effect<UdpPeer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ socket: Dgram.Socket; peer: UdpPeer }>((resume) => {
      const socket = Dgram.createSocket({ type: "udp6" })
      const received: Array<{ port: number; payload: Buffer }> = []
      socket.on("message", (payload, rinfo) => {
        received.push({ port: rinfo.port, payload })
        onMessage(payload, (bytes) => socket.send(bytes, rinfo.port, rinfo.address))
      })
      socket.bind(0, "::1", () => {
        const address = Address.fromHostPort("::1", socket.address().port)!
        const send = (to: AddrPort, payload: Uint8Array) =>
          Effect.callback<void>((done) => {
            socket.send(payload, to.port, Address.ipToString(to.ip), () => done(Effect.void))
          })
        const receivedBytes = () => received.reduce((n, r) => n + r.payload.length, 0)
        resume(Effect.succeed({ socket, peer: { address, received, send, receivedBytes } }))
      })
    }),
    ({ socket }) => Effect.sync(() => socket.close())
  ).pipe(Effect.map(({ peer }) => peer))

/**
 * An edge for the daemon that answers its PINGs with valid PONGs, so that the daemon asks it for
 * its own address; it never answers those queries by itself (the test does, with `send`).
 */
export interface FakeEdge extends UdpPeer {
  /** GETMYADDRPORT queries received so far. */
  readonly addrQueries: () => number
}

export const fakeEdge = (seed: Uint8Array): Effect.Effect<FakeEdge, never, Scope.Scope> =>
  Effect.gen(function* () {
    const signer = yield* Effect.orDie(Signer.makeNative(seed))
    const hasher = yield* Hasher.makeWasm
    let queries = 0
    const peer = yield* udpPeer((payload, reply) => {
      if (payload.length === Constants.GETMYADDRPORT_LEN && payload[0] === Constants.Op.GetMyAddrPort) queries++
      if (payload.length !== Constants.PING_LEN || payload[0] !== Constants.Op.Ping) return
      const challenge = Uint8Array.from(payload.subarray(1, 1 + Constants.CHALLENGE_LEN))
      const salt = NodeCrypto.randomBytes(Constants.SALT_LEN)
      reply(encode({ _tag: "Pong", addrs: [], challenge, ...Challenge.answer({ signer, hasher }, challenge, salt) }))
    })
    return { ...peer, addrQueries: () => queries }
  })

/** The ACK a node sends to GETMYADDRPORT, naming `addr`. */
export const addrAckBytes = (addr: AddrPort): Uint8Array => concat([Constants.Op.GetMyAddrPortAck], addrBytes(addr))

// ---------------------------------------------------------------- sending

/**
 * Sends every datagram to `to`, pausing `pauseMs` after each burst of `perBurst`, so that the
 * daemon's own queues (4096 datagrams) are not what disposes of them.
 */
export const sendPaced = (
  raw: RawSocket,
  to: AddrPort,
  datagrams: ReadonlyArray<Uint8Array>,
  perBurst = 200,
  pauseMs = 4
): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let start = 0; start < datagrams.length; start += perBurst) {
      for (const d of datagrams.slice(start, start + perBurst)) yield* raw.send(to, d)
      yield* Effect.sleep(pauseMs)
    }
  })

/** Sends `next(i)` every `everyMs` for `durationMs` (at most durationMs / everyMs + 1 datagrams). */
export const sendFor = (
  raw: RawSocket,
  to: AddrPort,
  next: (i: number) => Uint8Array,
  durationMs: number,
  everyMs: number
): Effect.Effect<number> =>
  Effect.gen(function* () {
    const endMs = Date.now() + durationMs
    const most = Math.floor(durationMs / everyMs) + 1
    let sent = 0
    while (sent < most && Date.now() < endMs) {
      yield* raw.send(to, next(sent))
      sent++
      yield* Effect.sleep(everyMs)
    }
    return sent
  })

/** The 32-byte challenge of the first PING `raw` received from `from`, waiting up to `timeoutMs`. */
export const awaitChallenge = (raw: RawSocket, from: AddrPort, timeoutMs: number): Effect.Effect<Uint8Array, Error> =>
  Effect.gen(function* () {
    const endMs = Date.now() + timeoutMs
    while (Date.now() < endMs) {
      const ping = raw.received.find(
        (r) => r.port === from.port && r.payload.length >= Constants.PING_LEN && r.payload[0] === Constants.Op.Ping
      )
      if (ping !== undefined) return Uint8Array.from(ping.payload.subarray(1, 1 + Constants.CHALLENGE_LEN))
      yield* Effect.sleep(50)
    }
    return yield* Effect.fail(new Error(`no PING from ${Address.toString(from)} within ${timeoutMs} ms`))
  })

// ---------------------------------------------------------------- TCP side channel

/** One side-channel frame: u16 LE length, then the message (PROTOCOL 2.1). */
export const frame = (message: Uint8Array): Uint8Array => concat([message.length & 0xff, message.length >>> 8], message)

/** A length prefix alone, for lengths the daemon must refuse (0, over 1424). */
export const frameHeader = (lengthBytes: number): Uint8Array => Uint8Array.of(lengthBytes & 0xff, lengthBytes >>> 8)

export interface TcpOutcome {
  /** The daemon closed or reset the connection (rather than our wait running out). */
  readonly closedByPeer: boolean
  readonly elapsedMs: number
}

/**
 * Connects to the side channel of `to` (TCP, UDP port + 1), writes `bytes` (ending our side when
 * `end`), and waits up to `waitMs` for the daemon to close. Fails if the connection is refused.
 */
export const tcpSession = (
  to: AddrPort,
  bytes: Uint8Array,
  options: { readonly end: boolean; readonly waitMs: number }
): Effect.Effect<TcpOutcome, Error> =>
  Effect.callback<TcpOutcome, Error>((resume) => {
    const startMs = Date.now()
    let connected = false
    let settled = false
    const finish = (outcome: Result.Result<TcpOutcome, Error>): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resume(Result.isSuccess(outcome) ? Effect.succeed(outcome.success) : Effect.fail(outcome.failure))
    }
    const socket = Net.connect({ host: Address.ipToString(to.ip), port: to.port + 1 })
    const timer = setTimeout(
      () =>
        finish(
          connected
            ? Result.succeed({ closedByPeer: false, elapsedMs: Date.now() - startMs })
            : Result.fail(new Error(`no TCP connection to port ${to.port + 1} within ${options.waitMs} ms`))
        ),
      options.waitMs
    )
    socket.on("connect", () => {
      connected = true
      if (options.end) socket.end(bytes)
      else socket.write(bytes)
    })
    // After the connection, a reset is the daemon closing on us; before it, the channel is down.
    socket.on("error", (error) => {
      if (!connected) finish(Result.fail(new Error(`TCP port ${to.port + 1}: ${error.message}`)))
    })
    socket.on("close", () => finish(Result.succeed({ closedByPeer: true, elapsedMs: Date.now() - startMs })))
    socket.resume()
    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
      socket.destroy()
    })
  })

// ---------------------------------------------------------------- health and measurements

/** Resident memory of a live process, from /proc/PID/status (Linux). */
export const rssBytes = (pid: number): Effect.Effect<number, Error> =>
  Effect.try({
    try: () => {
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(Fs.readFileSync(`/proc/${pid}/status`, "utf8"))
      if (match === null) throw new Error("no VmRSS line")
      return Number(match[1]) * 1024
    },
    catch: (error) => new Error(`cannot read the memory of process ${pid}: ${String(error)}`)
  })

/** Bytes `peer` gets back from `to` within `waitMs` of sending it two PINGs. */
export const pingAnswerBytes = (peer: UdpPeer, to: AddrPort, waitMs: number): Effect.Effect<number> =>
  Effect.gen(function* () {
    const before = peer.receivedBytes()
    yield* peer.send(to, pingBytes())
    yield* Effect.sleep(100)
    yield* peer.send(to, pingBytes())
    const endMs = Date.now() + waitMs
    while (peer.receivedBytes() === before && Date.now() < endMs) yield* Effect.sleep(50)
    return peer.receivedBytes() - before
  })

/**
 * `pingAnswerBytes` from a fresh socket: toward a stranger the daemon answers with a bare PONG or
 * its own challenge PING, whichever its budget allows.
 */
export const freshPingAnswer = (to: AddrPort, waitMs: number): Effect.Effect<number, never, Scope.Scope> =>
  Effect.flatMap(udpPeer(), (peer) => pingAnswerBytes(peer, to, waitMs))

/**
 * The GET_ACKs among `received` that carry data (a non-zero signature), described; an undecodable
 * GET_ACK is listed too, since it cannot be shown to be a "not found".
 */
export const dataGetAcks = (received: ReadonlyArray<{ readonly payload: Uint8Array }>): Array<string> =>
  received.flatMap(({ payload }) => {
    if (payload[0] !== Constants.Op.GetAck) return []
    const decoded = Codec.decode(payload)
    if (Result.isFailure(decoded)) return [`undecodable GET_ACK of ${payload.length} bytes`]
    const m = decoded.success
    if (m._tag !== "GetAck" || Dat.isNotFound(m.entry.dat)) return []
    return [`GET_ACK with data for key ${Buffer.from(m.entry.dat.key).toString("hex")} (${payload.length} bytes)`]
  })

/** Received bytes per op name, for the printed report. */
export const bytesByOp = (received: ReadonlyArray<{ readonly payload: Uint8Array }>): Record<string, number> => {
  const names = Object.fromEntries(Object.entries(Constants.Op).map(([name, op]) => [op, name]))
  const out: Record<string, number> = {}
  for (const { payload } of received) {
    const name = names[payload[0] ?? -1] ?? `op${payload[0]}`
    out[name] = (out[name] ?? 0) + payload.length
  }
  return out
}
