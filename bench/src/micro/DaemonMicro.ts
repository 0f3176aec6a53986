import { type ChildProcess, spawn } from "node:child_process"
import * as NodeCrypto from "node:crypto"
import * as Dgram from "node:dgram"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Challenge, DatSigning, Hasher, Signer, Work } from "@dave/crypto"
import { Codec, Constants, type Message, NodeId } from "@dave/protocol"
import { Effect, Result } from "effect"
import * as Daemons from "../Daemons.ts"
import { cpuMsOfPid } from "../Rss.ts"
import { quantile, sleep } from "../Stats.ts"
import { type MicroRow, row } from "./MicroRow.ts"

/**
 * One daemon process, driven over UDP from here by a raw dgram client that answers the daemon's
 * PINGs (a node serves data only to peers that answered its challenge):
 * - PUT ingest: pre-signed PUTs (110-byte values, difficulty 8) sent at once, timed until the last
 *   is served back; stored count from a GET of every key. Next to the raw Ed25519 verify rate of
 *   one core measured in this run: the daemon verifies on a worker thread.
 * - GET serving: closed loops with 1 and 64 in flight, against a raw node:dgram request/reply server
 *   in another process (same request bytes, replies as long as the daemon's GET_ACK).
 */

const HOST = "127.0.0.1"
const AUTHORS = 4
const VALUE_BYTES = 110
const LOSS_TIMEOUT_MS = 500
const SETTLE_LIMIT_MS = 60_000
const SWEEP_IN_FLIGHT = 64
const MAX_SAMPLES = 2_000_000

const encode = (m: Message.Message): Buffer => {
  const r = Codec.encode(m)
  if (Result.isFailure(r)) throw new Error(`cannot encode ${m._tag}: ${r.failure.message}`)
  return Buffer.from(r.success.buffer, r.success.byteOffset, r.success.length)
}

/** Keys end with the dat's index (u32 LE); a GET_ACK's key (found or not) is at offset KEY_AT. */
const keyOf = (index: number): Uint8Array => {
  const key = new Uint8Array(12)
  key.set(new TextEncoder().encode("micro-ke"))
  new DataView(key.buffer).setUint32(8, index, true)
  return key
}
const KEY_AT = 3 + 40 + 2 + 152 + 1
const replyIndex = (reply: Buffer): number => {
  if (reply.length < KEY_AT) return -1
  const keyEnd = KEY_AT + reply[KEY_AT - 1]!
  return keyEnd >= KEY_AT + 4 && keyEnd <= reply.length ? reply.readUInt32LE(keyEnd - 4) : -1
}
/** A GET_ACK with data carries the 110-byte value; "not found" carries none. */
const hasValue = (reply: Buffer): boolean => reply.length >= KEY_AT + 12 + VALUE_BYTES

/** The raw request/reply server (run in its own process): replies `replyBytes` bytes ending with the request's last 4. */
export const runEcho = (replyBytes: number): void => {
  const socket = Dgram.createSocket({ type: "udp4" })
  socket.on("message", (request, from) => {
    const reply = Buffer.alloc(replyBytes)
    reply[0] = Constants.Op.GetAck
    request.copy(reply, replyBytes - 4, request.length - 4)
    socket.send(reply, from.port, from.address)
  })
  socket.bind({ address: HOST, port: 0 }, () => {
    socket.setRecvBufferSize(4 << 20)
    process.stdout.write(`${socket.address().port}\n`)
  })
  process.stdin.on("end", () => process.exit(0))
  process.stdin.resume()
}

const startEcho = (self: string, replyBytes: number): Promise<{ child: ChildProcess; port: number }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=source", self, "--echo", String(replyBytes)], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    const timer = setTimeout(() => reject(new Error("the echo server did not start in 30 s")), 30_000)
    child.stdout!.setEncoding("utf8")
    child.stdout!.once("data", (text: string) => {
      clearTimeout(timer)
      resolve({ child, port: Number(text.trim()) })
    })
    child.on("exit", (code) => reject(new Error(`the echo server exited (${code})`)))
  })

interface Client {
  readonly send: (bytes: Buffer, port: number) => void
  onReply: (reply: Buffer) => void
  pingsAnswered: number
  readonly close: () => void
}

const openClient = (
  crypto: { signer: Signer.Signer["Service"]; hasher: Hasher.Hasher["Service"] },
  daemonPort: number
) =>
  new Promise<Client>((resolve) => {
    const socket = Dgram.createSocket({ type: "udp4" })
    const client: Client = {
      send: (bytes, port) => socket.send(bytes, port, HOST),
      onReply: () => {},
      pingsAnswered: 0,
      close: () => socket.close()
    }
    socket.on("message", (message, from) => {
      if (message[0] === Constants.Op.GetAck) return client.onReply(message)
      if (message[0] !== Constants.Op.Ping || from.port !== daemonPort) return
      const decoded = Codec.decode(message)
      if (Result.isFailure(decoded) || decoded.success._tag !== "Ping") return
      const challenge = decoded.success.challenge
      const answer = Challenge.answer(crypto, challenge, new Uint8Array(NodeCrypto.randomBytes(Constants.SALT_LEN)))
      client.send(encode({ _tag: "Pong", addrs: [], challenge, ...answer }), daemonPort)
      client.pingsAnswered++
    })
    socket.bind({ address: HOST, port: 0 }, () => {
      socket.setRecvBufferSize(4 << 20)
      socket.setSendBufferSize(4 << 20)
      resolve(client)
      client.send(encode({ _tag: "Ping", challenge: NodeCrypto.randomBytes(32), used: 0n, capacity: 0n }), daemonPort)
    })
  })

interface LoopResult {
  readonly perSecond: number
  readonly p50Us: number
  readonly p99Us: number
  /** Replies that carried a stored value (daemon) or any reply (raw). */
  readonly withData: number
  readonly completed: number
}

/** The raw server's replies end with the request's last 4 bytes: the key's index. */
const rawReplyIndex = (reply: Buffer): number => (reply.length >= 4 ? reply.readUInt32LE(reply.length - 4) : -1)

/** Closed loop over `gets` with `inFlight` outstanding for `ms`; a request unanswered LOSS_TIMEOUT_MS is replaced. */
const timedLoop = (
  client: Client,
  server: { readonly port: number; readonly indexOf: (reply: Buffer) => number },
  gets: ReadonlyArray<Buffer>,
  inFlight: number,
  ms: number
) =>
  new Promise<LoopResult>((resolve) => {
    const samples = new Float64Array(MAX_SAMPLES)
    let count = 0
    let completed = 0
    let withData = 0
    let next = 0
    let measuring = false
    let done = false
    const sentAt = new Map<number, number>()
    const sendNext = () => {
      const index = next++ % gets.length
      sentAt.set(index, performance.now())
      client.send(gets[index]!, server.port)
    }
    client.onReply = (reply) => {
      const index = server.indexOf(reply)
      const at = sentAt.get(index)
      if (at === undefined || done) return
      sentAt.delete(index)
      if (measuring) {
        completed++
        if (hasValue(reply)) withData++
        if (count < MAX_SAMPLES) samples[count++] = (performance.now() - at) * 1000
      }
      sendNext()
    }
    const sweeper = setInterval(() => {
      const now = performance.now()
      for (const [index, at] of sentAt) {
        if (now - at < LOSS_TIMEOUT_MS) continue
        sentAt.delete(index)
        sendNext()
      }
    }, 100)
    let start = 0
    setTimeout(() => {
      measuring = true
      start = performance.now()
      setTimeout(() => {
        done = true
        clearInterval(sweeper)
        const seconds = (performance.now() - start) / 1000
        const sorted = samples.subarray(0, count)
        client.onReply = () => {}
        const p50Us = quantile(Array.from(sorted), 0.5)
        const p99Us = quantile(Array.from(sorted), 0.99)
        setTimeout(() => resolve({ perSecond: completed / seconds, p50Us, p99Us, withData, completed }), 200)
      }, ms)
    }, 300)
    for (let i = 0; i < Math.min(inFlight, gets.length); i++) sendNext()
  })

/** GETs every key (SWEEP_IN_FLIGHT at once, each retried after a loss); returns how many had data. */
const sweepStored = (client: Client, port: number, gets: ReadonlyArray<Buffer>) =>
  new Promise<number>((resolve) => {
    const pending = new Map<number, { at: number; tries: number }>()
    let next = 0
    let found = 0
    let finished = 0
    const launch = () => {
      while (pending.size < SWEEP_IN_FLIGHT && next < gets.length) {
        pending.set(next, { at: performance.now(), tries: 1 })
        client.send(gets[next++]!, port)
      }
      if (finished === gets.length) {
        clearInterval(retry)
        resolve(found)
      }
    }
    client.onReply = (reply) => {
      const index = replyIndex(reply)
      if (!pending.delete(index)) return
      finished++
      if (hasValue(reply)) found++
      launch()
    }
    const retry = setInterval(() => {
      const now = performance.now()
      for (const [index, p] of pending) {
        if (now - p.at < LOSS_TIMEOUT_MS) continue
        if (p.tries >= 3) {
          pending.delete(index)
          finished++
        } else {
          pending.set(index, { at: now, tries: p.tries + 1 })
          client.send(gets[index]!, port)
        }
      }
      launch()
    }, 100)
    launch()
  })

/** Polls a GET of `get` until the daemon serves it with data; returns whether it did within `limitMs`. */
const awaitStored = async (client: Client, port: number, get: Buffer, limitMs: number): Promise<boolean> => {
  let seen = false
  client.onReply = (reply) => {
    if (hasValue(reply)) seen = true
  }
  const deadline = performance.now() + limitMs
  for (let i = 0; i < Math.ceil(limitMs / 10) + 1 && !seen && performance.now() < deadline; i++) {
    client.send(get, port)
    await sleep(10)
  }
  client.onReply = () => {}
  return seen
}

export interface DaemonMicroOptions {
  readonly puts: number
  readonly getMs: number
  readonly difficulty: number
  /** Raw Ed25519 verifies per second of one core, measured earlier in this run. */
  readonly rawVerifyPerSecond: number
  /** This script, run again as the echo server. */
  readonly self: string
}

export const run = async (options: DaemonMicroOptions, log: (line: string) => void): Promise<Array<MicroRow>> => {
  const tempDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-bench-micro-"))
  const started: Array<Daemons.Daemon> = []
  let echo: ChildProcess | undefined
  let client: Client | undefined
  try {
    const daemon = await Daemons.start({ dataDir: tempDir, admin: "off", capacity: "1GiB" })
    started.push(daemon)
    const hasher = await Effect.runPromise(Hasher.makeWasm)
    const work = Work.makeSingleThread(hasher)
    const clientSigner = await Effect.runPromise(Effect.orDie(Signer.makeNative(new Uint8Array(32).fill(0x42))))
    client = await openClient({ signer: clientSigner, hasher }, daemon.address.port)
    const authors = await Effect.runPromise(
      Effect.forEach(
        Array.from({ length: AUTHORS }, (_, a) => a),
        (a) => Effect.orDie(Signer.makeNative(Uint8Array.from({ length: 32 }, (_, i) => (a * 37 + i + 1) & 0xff)))
      )
    )
    const timeMs = Date.now() - 1_000
    const dats: Array<Message.Dat> = []
    for (let i = 0; i < options.puts; i++) {
      dats.push(
        await Effect.runPromise(
          DatSigning.signDat({
            key: keyOf(i),
            value: new Uint8Array(VALUE_BYTES).fill(i & 0xff),
            timeMs,
            difficulty: options.difficulty
          }).pipe(
            Effect.provideService(Signer.Signer, authors[i % AUTHORS]!),
            Effect.provideService(Hasher.Hasher, hasher),
            Effect.provideService(Work.Work, work)
          )
        )
      )
      if (i % 64 === 63) await sleep(0)
    }
    // The replica list names the daemon and us: it forwards nothing.
    const replicas = [daemon.nodeId, NodeId.fromPublicKey(clientSigner.publicKey), 0n, 0n, 0n]
    const puts = dats.map((dat) => encode({ _tag: "Put", entry: { replicas, dat } }))
    const gets = dats.map((dat) => encode({ _tag: "Get", pubKey: dat.pubKey, key: dat.key }))
    const verified = await awaitStoredAfter(client, daemon.address.port, puts[0]!, gets[0]!)
    if (!verified) throw new Error(`the daemon never served us data (PINGs answered: ${client.pingsAnswered})`)

    const cpuBefore = cpuMsOfPid(daemon.child.pid)
    const ingestStart = performance.now()
    for (let i = 1; i < puts.length; i++) {
      client.send(puts[i]!, daemon.address.port)
      if (i % 64 === 0) await sleep(0)
    }
    const last = await awaitStored(client, daemon.address.port, gets[gets.length - 1]!, SETTLE_LIMIT_MS)
    const ingestMs = performance.now() - ingestStart
    const ingestCpuMs = cpuMsOfPid(daemon.child.pid) - cpuBefore
    const stored = (await sweepStored(client, daemon.address.port, gets.slice(1))) + 1
    const ingestPerSecond = (stored - 1) / (ingestMs / 1000)
    const cpuUsPerPut = (ingestCpuMs * 1000) / (puts.length - 1)
    log(
      `  PUT ingest: ${stored}/${puts.length} stored${last ? "" : " (last never served)"} in ${Math.round(ingestMs)} ms, ` +
        `${Math.round(ingestPerSecond)}/s, daemon CPU ${cpuUsPerPut.toFixed(0)} µs/PUT`
    )

    const started2 = await startEcho(options.self, puts[0]!.length)
    echo = started2.child
    const rows: Array<MicroRow> = [
      row("daemon", `PUT ingest, one daemon, stored/s (${stored}/${puts.length} stored)`, ingestPerSecond, "/s", {
        figure: "raw node:crypto verify, 1 core",
        value: options.rawVerifyPerSecond,
        goal: "≥ 0.70"
      }),
      // CPU time is much less disturbed by other load on a shared machine than rates are.
      row("daemon", "PUT ingest, daemon CPU per PUT (all threads)", cpuUsPerPut, "µs", {
        figure: "raw verify CPU, µs",
        value: 1e6 / options.rawVerifyPerSecond,
        lowerIsBetter: true
      })
    ]
    for (const inFlight of [1, 64]) {
      const ours = await timedLoop(
        client,
        { port: daemon.address.port, indexOf: replyIndex },
        gets,
        inFlight,
        options.getMs
      )
      const raw = await timedLoop(
        client,
        { port: started2.port, indexOf: rawReplyIndex },
        gets,
        inFlight,
        options.getMs
      )
      log(
        `  GET x${inFlight}: daemon ${Math.round(ours.perSecond)}/s (p50 ${Math.round(ours.p50Us)} µs, ${ours.withData}/${ours.completed} with data), ` +
          `raw ${Math.round(raw.perSecond)}/s (p50 ${Math.round(raw.p50Us)} µs)`
      )
      rows.push(
        row("daemon", `GET replies/s, ${inFlight} in flight`, ours.perSecond, "/s", {
          figure: "raw dgram request/reply",
          value: raw.perSecond,
          goal: "≥ 0.50"
        }),
        row("daemon", `GET p99, ${inFlight} in flight`, ours.p99Us, "µs", {
          figure: "raw dgram p99",
          value: raw.p99Us,
          lowerIsBetter: true
        })
      )
    }
    return rows
  } finally {
    client?.close()
    echo?.stdin?.end()
    await Daemons.stop(started)
    Fs.rmSync(tempDir, { recursive: true, force: true })
  }
}

/** Sends the first PUT and polls its GET until the daemon both stored it and verified us. */
const awaitStoredAfter = async (client: Client, port: number, put: Buffer, get: Buffer): Promise<boolean> => {
  client.send(put, port)
  return awaitStored(client, port, get, SETTLE_LIMIT_MS)
}
