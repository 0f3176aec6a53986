import * as NodeCrypto from "node:crypto"
import * as Dgram from "node:dgram"
import { Challenge, Hasher, Signer } from "@dave/crypto"
import { Address, type AddrPort, Codec, Constants, Dat, type Entry } from "@dave/protocol"
import { Effect, Result, type Scope } from "effect"
import { encode } from "./Client.ts"

/**
 * A peer made of one raw UDP socket: it answers the daemon's challenges with signed PONGs (so the
 * daemon verifies it and serves it data), reports capacity 0 (so it is never picked as a replica),
 * and sends GETs and PUTs without any Effect per datagram, so that it can time a GET to the
 * microsecond and check thousands of keys a second. It binds any loopback address (127.x.y.z or
 * ::1), which lets a test put an honest peer on another IP than an attacker.
 */

export interface GetReply {
  /** The entry served, `undefined` for "not found", or "timeout" when nothing came back in time. */
  readonly entry: Entry | undefined | "timeout"
  readonly rttMs: number
}

export interface Probe {
  readonly address: AddrPort
  readonly publicKey: Uint8Array
  /** Challenges (PINGs) this probe has answered, from anyone. */
  readonly challengesAnswered: () => number
  readonly datagramsReceived: () => number
  readonly send: (to: AddrPort, bytes: Uint8Array) => void
  readonly ping: (to: AddrPort) => void
  /** One GET; resolves with the first GET_ACK for that key from `to`, or "timeout". */
  readonly get: (to: AddrPort, pubKey: Uint8Array, key: Uint8Array, timeoutMs: number) => Promise<GetReply>
  /**
   * Pings `to` until it has challenged this probe and been answered (it then holds our key), or
   * fails after `timeoutMs`.
   */
  readonly awaitVerifiedBy: (to: AddrPort, timeoutMs: number) => Effect.Effect<void, Error>
}

/** Most GETs waiting for an answer at once; `get` beyond it answers "timeout" at once. */
const MAX_WAITING = 65_536

const lookupKey = (pubKey: Uint8Array, key: Uint8Array): string =>
  `${Buffer.from(pubKey).toString("hex")}:${Buffer.from(key).toString("hex")}`

const pingBytes = (): Uint8Array =>
  encode({ _tag: "Ping", challenge: NodeCrypto.randomBytes(Constants.CHALLENGE_LEN), used: 0n, capacity: 0n })

export const isV4 = (host: string): boolean => /^\d+\.\d+\.\d+\.\d+$/.test(host)

/** The host a socket sends to for `addr`: dotted for IPv4-mapped addresses. */
export const hostOf = (addr: AddrPort): string => Address.ipToString(addr.ip)

interface Waiter {
  readonly from: string
  readonly sentMs: number
  readonly resolve: (reply: GetReply) => void
  readonly timer: NodeJS.Timeout
}

/** A probe bound to `host` (an ephemeral port), signing with the key of `seed`; closed with the scope. */
export const probe = (host: string, seed: Uint8Array): Effect.Effect<Probe, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const signer = yield* Effect.mapError(Signer.makeNative(seed), (e) => new Error(String(e)))
    const hasher = yield* Hasher.makeWasm
    const socket = yield* Effect.acquireRelease(
      Effect.callback<Dgram.Socket, Error>((resume) => {
        const s = Dgram.createSocket({ type: isV4(host) ? "udp4" : "udp6" })
        s.once("error", (e) => resume(Effect.fail(new Error(`probe bind ${host}: ${e.message}`))))
        s.bind(0, host, () => resume(Effect.succeed(s)))
      }),
      (s) => Effect.sync(() => s.close())
    )
    // ICMP "port unreachable" after a daemon was killed arrives as an error: not ours to act on.
    socket.on("error", () => {})
    const address = Address.fromHostPort(host, socket.address().port)!
    const waiting = new Map<string, Array<Waiter>>()
    let waitingCount = 0
    let answered = 0
    let received = 0
    const answeredBy = new Map<string, number>()

    const send = (to: AddrPort, bytes: Uint8Array): void => {
      socket.send(bytes, to.port, hostOf(to))
    }

    const takeWaiter = (k: string, from: string): Waiter | undefined => {
      const list = waiting.get(k)
      if (list === undefined) return undefined
      const at = list.findIndex((w) => w.from === from)
      if (at < 0) return undefined
      const [w] = list.splice(at, 1)
      if (list.length === 0) waiting.delete(k)
      waitingCount--
      return w
    }

    socket.on("message", (payload, rinfo) => {
      received++
      const fromHost = rinfo.address
      if (payload.length === Constants.PING_LEN && payload[0] === Constants.Op.Ping) {
        const challenge = Uint8Array.from(payload.subarray(1, 1 + Constants.CHALLENGE_LEN))
        const salt = NodeCrypto.randomBytes(Constants.SALT_LEN)
        const answer = Challenge.answer({ signer, hasher }, challenge, salt)
        socket.send(encode({ _tag: "Pong", addrs: [], challenge, ...answer }), rinfo.port, fromHost)
        answered++
        const who = `${fromHost}|${rinfo.port}`
        answeredBy.set(who, (answeredBy.get(who) ?? 0) + 1)
        return
      }
      if (payload[0] !== Constants.Op.GetAck) return
      const decoded = Codec.decode(payload)
      if (Result.isFailure(decoded) || decoded.success._tag !== "GetAck") return
      const entry = decoded.success.entry
      const w = takeWaiter(lookupKey(entry.dat.pubKey, entry.dat.key), `${fromHost}|${rinfo.port}`)
      if (w === undefined) return
      clearTimeout(w.timer)
      w.resolve({ entry: Dat.isNotFound(entry.dat) ? undefined : entry, rttMs: performance.now() - w.sentMs })
    })

    const get = (to: AddrPort, pubKey: Uint8Array, key: Uint8Array, timeoutMs: number): Promise<GetReply> =>
      new Promise((resolve) => {
        if (waitingCount >= MAX_WAITING) return resolve({ entry: "timeout", rttMs: 0 })
        const k = lookupKey(pubKey, key)
        const from = `${hostOf(to)}|${to.port}`
        const sentMs = performance.now()
        const waiter: Waiter = {
          from,
          sentMs,
          resolve,
          timer: setTimeout(() => {
            const list = waiting.get(k)
            const at = list?.indexOf(waiter) ?? -1
            if (list !== undefined && at >= 0) {
              list.splice(at, 1)
              if (list.length === 0) waiting.delete(k)
              waitingCount--
            }
            resolve({ entry: "timeout", rttMs: performance.now() - sentMs })
          }, timeoutMs)
        }
        const list = waiting.get(k) ?? []
        list.push(waiter)
        waiting.set(k, list)
        waitingCount++
        send(to, encode({ _tag: "Get", pubKey, key }))
      })

    const awaitVerifiedBy = (to: AddrPort, timeoutMs: number): Effect.Effect<void, Error> =>
      Effect.gen(function* () {
        const who = `${hostOf(to)}|${to.port}`
        const before = answeredBy.get(who) ?? 0
        const endMs = Date.now() + timeoutMs
        let nextPingMs = 0
        while (Date.now() < endMs) {
          if ((answeredBy.get(who) ?? 0) > before) {
            // The daemon checks a PONG as it arrives; a moment covers its trip through the queue.
            yield* Effect.sleep(50)
            return
          }
          if (Date.now() >= nextPingMs) {
            send(to, pingBytes())
            nextPingMs = Date.now() + 500
          }
          yield* Effect.sleep(20)
        }
        return yield* Effect.fail(
          new Error(`${Address.toString(to)} did not challenge the probe within ${timeoutMs} ms`)
        )
      })

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const list of waiting.values()) for (const w of list) clearTimeout(w.timer)
        waiting.clear()
      })
    )

    return {
      address,
      publicKey: signer.publicKey,
      challengesAnswered: () => answered,
      datagramsReceived: () => received,
      send,
      ping: (to) => send(to, pingBytes()),
      get,
      awaitVerifiedBy
    }
  })

/**
 * GETs every key of `keys` from `to`, at most `window` at a time, retrying a timeout up to
 * `attempts` times; returns the replies in the order of `keys`.
 */
export const getMany = (
  p: Probe,
  to: AddrPort,
  keys: ReadonlyArray<{ readonly pubKey: Uint8Array; readonly key: Uint8Array }>,
  options: { readonly window: number; readonly timeoutMs: number; readonly attempts: number }
): Effect.Effect<Array<GetReply>> =>
  Effect.promise(async () => {
    const out: Array<GetReply> = new Array(keys.length)
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const i = next++
        const k = keys[i]!
        let reply: GetReply = { entry: "timeout", rttMs: 0 }
        for (let attempt = 0; attempt < options.attempts && reply.entry === "timeout"; attempt++) {
          reply = await p.get(to, k.pubKey, k.key, options.timeoutMs)
        }
        out[i] = reply
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.window, keys.length)) }, worker))
    return out
  })
