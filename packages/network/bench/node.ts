/**
 * Throughput of one running node (issue 4): a real daemon process (apps/node/src/main.ts) on [::1],
 * driven from this process over UDP by a small verified client (a node:dgram socket that PINGs the
 * daemon and answers its PINGs with signed PONGs, so the daemon serves it data).
 *
 * 1. PUT ingest: pre-signed valid PUTs (distinct keys, 100-byte values, difficulty 8, a few authors),
 *    sent closed loop in batches; after each batch a GET of the batch's last key acts as a barrier
 *    (the daemon handles one socket's datagrams in order), so at most WINDOW_BATCHES batches are
 *    unconfirmed and the daemon's queues never overflow. Ingest = entries found stored by a GET of
 *    every key afterwards / time from the first send to the last barrier reply. Beside it: the raw
 *    Ed25519 verify rate of one core (the daemon's own default Verifier, 32-byte messages) and
 *    the full dat check (work + hash + verify), both measured in this run. Goal: ingest ≥ 70 % of verify.
 * 2. GET replies: closed loop with 1 and 64 in flight over the stored keys, against the same client
 *    loop talking to a plain node:dgram request/reply server in a child process (same request bytes,
 *    reply as long as the daemon's GET_ACK). Goal: daemon ≥ 50 % of the raw replies per second.
 *
 * Both ratios are also given by CPU time (the daemon's CPU per PUT or reply from /proc against this
 * process's CPU per verify, or the raw server's CPU per reply), which other load on a shared machine
 * disturbs much less than rates.
 *
 * Env: BENCH_PUTS (default 12000), BENCH_GET_MS (3000 per run), BENCH_VERIFY_WORKERS (the daemon's
 * --verify-workers, default auto), BENCH_PROFILE=1 (daemon under
 * --cpu-prof; prints where its time went in each phase, BENCH_PROFILE_TOP lines per list). The
 * profile samples wall-clock time: time spent descheduled (notably inside a loopback send, which
 * wakes the receiver) is charged to the function it happened in, so compare its busy µs per op with
 * the CPU µs per op.
 * Run: node --conditions=source bench/node.ts   (pnpm bench:node)
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as NodeCrypto from "node:crypto"
import * as Dgram from "node:dgram"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { Challenge, DatSigning, Hasher, Signer, Verifier, Work } from "@dave/crypto"
import { Address, Codec, Constants, Dat, type Message, NodeId } from "@dave/protocol"
import { Effect, Result } from "effect"

const HOST = "::1"
const SELF = fileURLToPath(import.meta.url)
const DAEMON_MAIN = Path.resolve(import.meta.dirname, "../../../apps/node/src/main.ts")

const AUTHORS = 4
const PUTS = Math.max(1_000, Number(process.env.BENCH_PUTS ?? 12_000))
const WARMUP_PUTS = Math.round(PUTS / 10)
const WORKER_LOAD_MS = 1_500
const VALUE_BYTES = 100
const KEY_PREFIX = new TextEncoder().encode("bench-key-")
const DIFFICULTY = 8
/** PUTs per barrier GET, and unconfirmed batches at once (400 datagrams, ~125 KB in flight). */
const BATCH = 50
const WINDOW_BATCHES = 8
const BARRIER_TIMEOUT_MS = 3_000
const INGEST_LIMIT_MS = 60_000
const SIGN_CHUNK = 64
const VERIFY_MS = 1_500
const GET_MS = Number(process.env.BENCH_GET_MS ?? 3_000)
const GET_WARMUP_MS = 300
const LOSS_TIMEOUT_MS = 500
const SWEEP_IN_FLIGHT = 64
const SWEEP_ATTEMPTS = 3
const SWEEP_LIMIT_MS = 30_000
const VERIFIED_WAIT_MS = 15_000
const MAX_SAMPLES = 1_000_000
/** The whole run is killed past this, whatever state it is in. */
const RUN_LIMIT_MS = 240_000
const PROFILE = process.env.BENCH_PROFILE === "1"
/** The daemon's --verify-workers: auto (one thread per core beyond the first) or a count; 0 = inline. */
const VERIFY_WORKERS = process.env.BENCH_VERIFY_WORKERS ?? "auto"
const PROFILE_TOP = Number(process.env.BENCH_PROFILE_TOP ?? 18)

// ---------------------------------------------------------------- small helpers

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "n/a"

const encode = (m: Message.Message): Buffer => {
  const r = Codec.encode(m)
  if (Result.isFailure(r)) throw new Error(`cannot encode ${m._tag}: ${r.failure.message}`)
  return Buffer.from(r.success.buffer, r.success.byteOffset, r.success.length)
}

/** Every key and value ends with the dat's index (u32 LE), so a GET_ACK's last 4 bytes name it either way. */
const indexBytes = (prefix: Uint8Array, length: number, index: number): Uint8Array => {
  const out = new Uint8Array(length)
  out.set(prefix.subarray(0, length - 4))
  new DataView(out.buffer).setUint32(length - 4, index, true)
  return out
}
const keyOf = (index: number): Uint8Array => indexBytes(KEY_PREFIX, KEY_PREFIX.length + 4, index)
const valueOf = (index: number): Uint8Array => indexBytes(new Uint8Array(VALUE_BYTES).fill(0x61), VALUE_BYTES, index)
/** The dat index of a GET_ACK, found or "not found": the last 4 bytes of its key (at offset 198). */
const KEY_AT = 3 + 40 + 2 + 152 + 1
const replyIndex = (reply: Buffer): number => {
  if (reply.length < KEY_AT) return -1
  const keyEnd = KEY_AT + reply[KEY_AT - 1]!
  return keyEnd >= KEY_AT + 4 && keyEnd <= reply.length ? reply.readUInt32LE(keyEnd - 4) : -1
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

const quantile = (samples: Float64Array, count: number, q: number): number => {
  if (count === 0) return Number.NaN
  const sorted = samples.subarray(0, count).sort()
  return sorted[Math.min(count - 1, Math.floor(q * count))]!
}

/** User + system CPU of another process in µs (Linux /proc; NaN elsewhere). */
const cpuOfPid = (pid: number | undefined): number => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100
  } catch {
    return Number.NaN
  }
}

// ---------------------------------------------------------------- child processes and cleanup

const children = new Set<ChildProcess>()
let tempDir: string | undefined
const cleanup = (): void => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  if (tempDir !== undefined) Fs.rmSync(tempDir, { recursive: true, force: true })
  tempDir = undefined
}
process.on("exit", cleanup)
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    cleanup()
    process.exit(130)
  })
}

interface Daemon {
  readonly child: ChildProcess
  readonly port: number
  readonly nodeId: bigint
  readonly exited: Promise<void>
}

const startDaemon = (dataDir: string, profileDir: string | undefined): Promise<Daemon> =>
  new Promise((resolve, reject) => {
    const profile = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]
    const args = ["--listen", `[${HOST}]:0`, "--data-dir", dataDir, "--no-backup", "--peer-limits", "loopback"]
    args.push("--admin", "off", "--verify-workers", VERIFY_WORKERS)
    const child = spawn(
      process.execPath,
      [...profile, "--conditions=source", DAEMON_MAIN, ...args, "--capacity", "1GiB"],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, DAVE_EDGES: "" } }
    )
    children.add(child)
    const exited = new Promise<void>((done) => child.on("exit", () => done()))
    const timer = setTimeout(() => reject(new Error("the daemon did not log 'listening' within 30 s")), 30_000)
    let buffered = ""
    child.stderr!.setEncoding("utf8")
    child.stderr!.on("data", (chunk: string) => {
      buffered += chunk
      const lines = buffered.split("\n")
      buffered = lines.pop()!
      for (const text of lines) {
        if (!text.startsWith("{")) continue
        const line = JSON.parse(text) as { message: string; level: string; annotations: Record<string, unknown> }
        if (line.level === "ERROR" || line.level === "FATAL") console.error(`daemon: ${text}`)
        if (line.message !== "listening") continue
        clearTimeout(timer)
        const address = Address.parse(String(line.annotations.address))
        if (address === undefined) return reject(new Error(`bad listening address ${line.annotations.address}`))
        resolve({ child, port: address.port, nodeId: BigInt(String(line.annotations.nodeId)), exited })
      }
    })
    child.on("exit", (code) => reject(new Error(`the daemon exited early (${code})`)))
  })

const startEcho = (replyBytes: number): Promise<{ child: ChildProcess; port: number }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=source", SELF, "echo", String(replyBytes)], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    children.add(child)
    const timer = setTimeout(() => reject(new Error("the echo server did not start within 10 s")), 10_000)
    child.stdout!.setEncoding("utf8")
    child.stdout!.once("data", (text: string) => {
      clearTimeout(timer)
      resolve({ child, port: Number(text.trim()) })
    })
    child.on("exit", (code) => reject(new Error(`the echo server exited early (${code})`)))
  })

/**
 * The raw server: each GET gets `replyBytes` bytes back shaped like a GET_ACK as far as the client
 * reads it (the op byte, and the request's key length and key where a GET_ACK carries them).
 */
const runEcho = (replyBytes: number): void => {
  const socket = Dgram.createSocket({ type: "udp6" })
  socket.on("message", (request, from) => {
    const reply = Buffer.alloc(replyBytes)
    reply[0] = Constants.Op.GetAck
    const keyLength = request[33] ?? 0
    reply[KEY_AT - 1] = keyLength
    request.copy(reply, KEY_AT, 34, 34 + keyLength)
    socket.send(reply, from.port, from.address)
  })
  socket.bind({ address: HOST, port: 0 }, () => {
    socket.setRecvBufferSize(4 << 20)
    process.stdout.write(`${socket.address().port}\n`)
  })
  // The parent holds our stdin: when it goes away, so do we.
  process.stdin.on("end", () => process.exit(0))
  process.stdin.resume()
}

// ---------------------------------------------------------------- signing

interface Author {
  readonly signer: Signer.Signer["Service"]
  readonly hasher: Hasher.Hasher["Service"]
  readonly work: Work.Work["Service"]
}

const makeAuthor = (seed: Uint8Array): Promise<Author> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const signer = yield* Effect.orDie(Signer.makeNative(seed))
      const hasher = yield* Hasher.makeWasm
      return { signer, hasher, work: Work.makeSingleThread(hasher) }
    })
  )

const signDat = (author: Author, index: number, timeMs: number): Effect.Effect<Message.Dat> =>
  DatSigning.signDat({ key: keyOf(index), value: valueOf(index), timeMs, difficulty: DIFFICULTY }).pipe(
    Effect.provideService(Signer.Signer, author.signer),
    Effect.provideService(Hasher.Hasher, author.hasher),
    Effect.provideService(Work.Work, author.work)
  )

/** Signs dats 0..count-1 round robin over the authors, yielding to the event loop between chunks (PONGs). */
const signAll = async (authors: ReadonlyArray<Author>, count: number): Promise<Array<Message.Dat>> => {
  const timeMs = Date.now() - 1_000
  const dats: Array<Message.Dat> = []
  for (let from = 0; from < count; from += SIGN_CHUNK) {
    const chunk = Array.from({ length: Math.min(SIGN_CHUNK, count - from) }, (_, i) => from + i)
    dats.push(
      ...(await Effect.runPromise(Effect.forEach(chunk, (i) => signDat(authors[i % authors.length]!, i, timeMs))))
    )
    await yieldToLoop()
  }
  return dats
}

// ---------------------------------------------------------------- raw verify rate

interface VerifyRates {
  readonly verifyPerSecond: number
  readonly checkPerSecond: number
  /** CPU time of this process per verify and per full check, robust to other load on the machine. */
  readonly verifyCpuUs: number
  readonly checkCpuUs: number
}

const measureVerify = (
  dats: ReadonlyArray<Message.Dat>,
  hasher: Hasher.Hasher["Service"],
  verifier: Verifier.Verifier["Service"]
): VerifyRates => {
  const messages = dats.map((d) => hasher.blake3(Dat.signedBytes(d.key, d.value, d.time)))
  const timed = (step: (i: number) => boolean): { perSecond: number; cpuUs: number } => {
    for (let i = 0; i < 200; i++) if (!step(i % dats.length)) throw new Error("a pre-signed dat does not verify")
    let n = 0
    const cpu = process.cpuUsage()
    const start = performance.now()
    while (performance.now() - start < VERIFY_MS && n < 10_000_000) {
      for (let j = 0; j < 20; j++, n++) if (!step(n % dats.length)) throw new Error("a pre-signed dat does not verify")
    }
    const perSecond = n / ((performance.now() - start) / 1000)
    const used = process.cpuUsage(cpu)
    return { perSecond, cpuUs: (used.user + used.system) / n }
  }
  const verify = timed((i) => verifier.verify(dats[i]!.pubKey, messages[i]!, dats[i]!.sig))
  const nowMs = Date.now()
  // Copies, as the daemon decodes them: a dat signed in this process would skip its verify.
  const received = dats.map((d) => ({ ...d }))
  const check = timed((i) => DatSigning.check({ hasher, verifier }, received[i]!, { nowMs }) === "Valid")
  return {
    verifyPerSecond: verify.perSecond,
    checkPerSecond: check.perSecond,
    verifyCpuUs: verify.cpuUs,
    checkCpuUs: check.cpuUs
  }
}

// ---------------------------------------------------------------- the verified client

interface Client {
  readonly port: number
  readonly send: (bytes: Buffer, port: number) => void
  /** Where GET_ACKs (and the echo server's replies) go. */
  onReply: (reply: Buffer) => void
  pingsAnswered: number
  readonly close: () => void
}

const openClient = (author: Author, daemonPort: number): Promise<Client> =>
  new Promise((resolve) => {
    const socket = Dgram.createSocket({ type: "udp6" })
    const client: Client = {
      port: 0,
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
      const answer = Challenge.answer(author, challenge, new Uint8Array(NodeCrypto.randomBytes(Constants.SALT_LEN)))
      client.send(encode({ _tag: "Pong", addrs: [], challenge, ...answer }), daemonPort)
      client.pingsAnswered++
    })
    socket.bind({ address: HOST, port: 0 }, () => {
      socket.setRecvBufferSize(4 << 20)
      socket.setSendBufferSize(4 << 20)
      resolve(Object.assign(client, { port: socket.address().port }))
      // Our PING makes the daemon add us, and challenge us in turn.
      const ping: Message.Ping = { _tag: "Ping", challenge: NodeCrypto.randomBytes(32), used: 0n, capacity: 0n }
      client.send(encode(ping), daemonPort)
    })
  })

// ---------------------------------------------------------------- PUT ingest

interface IngestResult {
  readonly sent: number
  readonly elapsedMs: number
  readonly barriersFound: number
  readonly barriersLost: number
  readonly daemonCpuUs: number
}

/** Sends puts[from..to) in batches, each followed by a GET of its last key; at most WINDOW_BATCHES unconfirmed. */
const ingest = (
  client: Client,
  daemon: Daemon,
  puts: ReadonlyArray<Buffer>,
  gets: ReadonlyArray<Buffer>,
  from: number,
  to: number
): Promise<IngestResult> =>
  new Promise((resolve) => {
    const batches = Math.ceil((to - from) / BATCH)
    const outstanding = new Map<number, number>()
    let nextBatch = 0
    let confirmed = 0
    let barriersFound = 0
    let barriersLost = 0
    let finished = false
    const cpuStart = cpuOfPid(daemon.child.pid)
    const start = performance.now()
    const finish = (): void => {
      if (finished) return
      finished = true
      clearInterval(sweep)
      clearTimeout(limit)
      client.onReply = () => {}
      const elapsedMs = performance.now() - start
      const daemonCpuUs = cpuOfPid(daemon.child.pid) - cpuStart
      resolve({ sent: Math.min(to - from, nextBatch * BATCH), elapsedMs, barriersFound, barriersLost, daemonCpuUs })
    }
    const sendBatch = (): void => {
      const first = from + nextBatch++ * BATCH
      const last = Math.min(to, first + BATCH) - 1
      for (let i = first; i <= last; i++) client.send(puts[i]!, daemon.port)
      outstanding.set(last, performance.now())
      client.send(gets[last]!, daemon.port)
    }
    const confirmOne = (): void => {
      confirmed++
      if (nextBatch < batches) sendBatch()
      else if (confirmed >= batches) finish()
    }
    client.onReply = (reply) => {
      const index = replyIndex(reply)
      if (!outstanding.has(index)) return
      // The node verifies PUTs off its event loop, so a barrier can overtake its batch: "not found"
      // means not stored yet, so ask again (bounded by the barrier timeout).
      if (reply.length !== puts[index]!.length) {
        setTimeout(() => outstanding.has(index) && client.send(gets[index]!, daemon.port), 5)
        return
      }
      outstanding.delete(index)
      barriersFound++
      confirmOne()
    }
    const sweep = setInterval(() => {
      const now = performance.now()
      for (const [index, sentAt] of outstanding) {
        if (now - sentAt < BARRIER_TIMEOUT_MS) continue
        outstanding.delete(index)
        barriersLost++
        confirmOne()
      }
    }, 100)
    const limit = setTimeout(finish, INGEST_LIMIT_MS)
    for (let i = 0; i < WINDOW_BATCHES && nextBatch < batches; i++) sendBatch()
  })

/** GETs `index` until the daemon serves its data (we are verified) or time runs out. */
const awaitVerified = async (client: Client, daemonPort: number, get: Buffer, foundBytes: number): Promise<boolean> => {
  let served = false
  client.onReply = (reply) => {
    if (reply.length === foundBytes) served = true
  }
  const deadline = Date.now() + VERIFIED_WAIT_MS
  while (!served && Date.now() < deadline) {
    client.send(get, daemonPort)
    await sleep(200)
  }
  client.onReply = () => {}
  return served
}

// ---------------------------------------------------------------- GET loops

interface SweepResult {
  readonly found: number
  readonly notFound: number
  readonly unanswered: number
  readonly wrongValue: number
  readonly elapsedMs: number
}

/** GETs every key in [from, to) once (retrying silent ones), decoding and checking each reply. */
const sweepStored = (
  client: Client,
  daemonPort: number,
  gets: ReadonlyArray<Buffer>,
  from: number,
  to: number
): Promise<SweepResult> =>
  new Promise((resolve) => {
    const outstanding = new Map<number, { sentAt: number; attempts: number }>()
    let next = from
    let found = 0
    let notFound = 0
    let unanswered = 0
    let wrongValue = 0
    const start = performance.now()
    const sendNext = (): void => {
      if (next >= to) return
      outstanding.set(next, { sentAt: performance.now(), attempts: 1 })
      client.send(gets[next++]!, daemonPort)
    }
    const settle = (): void => {
      sendNext()
      if (outstanding.size > 0) return
      clearInterval(sweep)
      clearTimeout(limit)
      client.onReply = () => {}
      resolve({ found, notFound, unanswered, wrongValue, elapsedMs: performance.now() - start })
    }
    client.onReply = (reply) => {
      const index = replyIndex(reply)
      if (!outstanding.delete(index)) return
      const decoded = Codec.decode(reply)
      if (Result.isFailure(decoded) || decoded.success._tag !== "GetAck" || Dat.isNotFound(decoded.success.entry.dat)) {
        notFound++
      } else if (Dat.bytesEqual(decoded.success.entry.dat.value, valueOf(index))) {
        found++
      } else {
        wrongValue++
      }
      settle()
    }
    const sweep = setInterval(() => {
      const now = performance.now()
      for (const [index, state] of outstanding) {
        if (now - state.sentAt < LOSS_TIMEOUT_MS * 2) continue
        if (state.attempts < SWEEP_ATTEMPTS) {
          outstanding.set(index, { sentAt: now, attempts: state.attempts + 1 })
          client.send(gets[index]!, daemonPort)
          continue
        }
        outstanding.delete(index)
        unanswered++
        settle()
      }
    }, 100)
    const limit = setTimeout(() => {
      unanswered += outstanding.size + (to - next)
      outstanding.clear()
      next = to
      settle()
    }, SWEEP_LIMIT_MS)
    for (let i = 0; i < SWEEP_IN_FLIGHT; i++) sendNext()
  })

interface LoopResult {
  readonly completed: number
  readonly seconds: number
  readonly p50Us: number
  readonly p99Us: number
  readonly lost: number
  /** Replies that carried data (as long as a found GET_ACK). */
  readonly full: number
  readonly serverCpuUs: number
  /** Every reply matched, warmup included. */
  readonly replies: number
}

/** Closed loop: `inFlight` requests outstanding, each reply (or loss) replaced by the next key's request. */
const timedLoop = (
  client: Client,
  server: { port: number; pid: number | undefined },
  gets: ReadonlyArray<Buffer>,
  keys: { from: number; to: number },
  fullBytes: number,
  inFlight: number
): Promise<LoopResult> =>
  new Promise((resolve) => {
    const outstanding = new Map<number, number>()
    const samples = new Float64Array(MAX_SAMPLES)
    let sampleCount = 0
    let completed = 0
    let replies = 0
    let lost = 0
    let full = 0
    let next = keys.from
    let measuring = false
    let measureStart = 0
    let cpuStart = 0
    const sendNext = (): void => {
      // Skip keys still outstanding (after a loss), so one reply never matches two requests.
      for (let tries = 0; tries < inFlight + 1 && outstanding.has(next); tries++) {
        next = next + 1 >= keys.to ? keys.from : next + 1
      }
      outstanding.set(next, performance.now())
      client.send(gets[next]!, server.port)
      next = next + 1 >= keys.to ? keys.from : next + 1
    }
    client.onReply = (reply) => {
      const index = replyIndex(reply)
      const sentAt = outstanding.get(index)
      if (sentAt === undefined) return
      outstanding.delete(index)
      replies++
      if (measuring) {
        completed++
        if (reply.length === fullBytes) full++
        if (sampleCount < MAX_SAMPLES) samples[sampleCount++] = (performance.now() - sentAt) * 1000
      }
      sendNext()
    }
    const sweep = setInterval(() => {
      const now = performance.now()
      for (const [index, sentAt] of outstanding) {
        if (now - sentAt < LOSS_TIMEOUT_MS) continue
        outstanding.delete(index)
        if (measuring) lost++
        sendNext()
      }
    }, 100)
    setTimeout(() => {
      measuring = true
      measureStart = performance.now()
      cpuStart = cpuOfPid(server.pid)
      setTimeout(() => {
        measuring = false
        const seconds = (performance.now() - measureStart) / 1000
        const serverCpuUs = cpuOfPid(server.pid) - cpuStart
        clearInterval(sweep)
        client.onReply = () => {}
        const p50Us = quantile(samples, sampleCount, 0.5)
        const p99Us = quantile(samples, sampleCount, 0.99)
        // Let stragglers arrive before the next run reuses the socket.
        setTimeout(() => resolve({ completed, seconds, p50Us, p99Us, lost, full, serverCpuUs, replies }), 200)
      }, GET_MS)
    }, GET_WARMUP_MS)
    for (let i = 0; i < inFlight; i++) sendNext()
  })

// ---------------------------------------------------------------- profile summary

interface ProfileNode {
  readonly id: number
  readonly callFrame: { functionName: string; url: string; lineNumber: number }
  readonly children?: ReadonlyArray<number>
}
interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const shortUrl = (rawUrl: string): string => {
  const url = rawUrl.replace(/^file:\/\//, "")
  for (const marker of ["/packages/", "/apps/"]) if (url.includes(marker)) return url.slice(url.indexOf(marker) + 1)
  return url.includes("node_modules/") ? url.slice(url.lastIndexOf("node_modules/") + 13) : url
}

/** Where a frame's code lives: its file, or for V8's pseudo frames and builtins their own name. */
const fileOf = (node: ProfileNode): string =>
  node.callFrame.url === "" ? `(native) ${node.callFrame.functionName}` : shortUrl(node.callFrame.url)

const frameName = (node: ProfileNode): string => {
  const f = node.callFrame
  const where = f.url === "" ? "" : ` ${shortUrl(f.url)}:${f.lineNumber + 1}`
  return `${f.functionName || "(anonymous)"}${where}`
}

/** Coarse areas for the summary, first match wins. */
const AREAS: ReadonlyArray<readonly [string, (file: string) => boolean]> = [
  ["Ed25519 verify (node:crypto)", (f) => f.startsWith("node:internal/crypto/sig")],
  ["dgram send/receive (node)", (f) => f.startsWith("node:dgram") || f.startsWith("node:internal/dgram")],
  [
    "async hooks, nextTick, timers (node)",
    (f) => /^node:(internal\/)?(async_hooks|process\/task_queues|timers)/.test(f)
  ],
  ["garbage collector", (f) => f === "(native) (garbage collector)"],
  ["effect Metric", (f) => f.startsWith("effect/dist/Metric")],
  ["effect DatagramSocket, NetAddress", (f) => /effect\/dist\/(socket|net)\//.test(f) || f.includes("platform-node")],
  ["effect runtime (fibers, Effect, Context, ...)", (f) => f.startsWith("effect/dist/")],
  ["@dave/network", (f) => f.startsWith("packages/network/")],
  ["@dave/peers", (f) => f.startsWith("packages/peers/")],
  ["@dave/store (+ xxhash)", (f) => f.startsWith("packages/store/") || f.includes("xxhash")],
  ["@dave/protocol (codec)", (f) => f.startsWith("packages/protocol/")],
  [
    "@dave/crypto (+ hash-wasm BLAKE3)",
    (f) => f.startsWith("packages/crypto/") || f.includes("hash-wasm") || f.startsWith("wasm:")
  ],
  ["other node internals", (f) => f.startsWith("node:")],
  ["other", () => true]
]

/**
 * Self and inclusive time per function, file and area over the samples taken in [fromUs, toUs] of the
 * monotonic clock. The samples are wall-clock: while the daemon is descheduled (e.g. inside a loopback
 * send that wakes the receiver) the time goes to the function it was in.
 */
const summarizeProfile = (
  profile: CpuProfile,
  window: { fromUs: number; toUs: number; ops: number },
  top: number
): Array<string> => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  let at = profile.startTime
  let busyUs = 0
  let sampledUs = 0
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0
    if (at < window.fromUs || at > window.toUs) continue
    const delta = profile.timeDeltas[i + 1] ?? 0
    const id = profile.samples[i]!
    sampledUs += delta
    if (byId.get(id)?.callFrame.functionName === "(idle)") continue
    busyUs += delta
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta)
  }
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const byFile = new Map<string, number>()
  const byArea = new Map<string, number>()
  const onStack = new Map<string, number>()
  const add = (m: Map<string, number>, key: string, us: number): void => {
    if (us > 0) m.set(key, (m.get(key) ?? 0) + us)
  }
  // Recursive walk; a name already on the stack (recursion) adds to its inclusive time only once.
  const visit = (node: ProfileNode, depth: number): number => {
    const name = frameName(node)
    const own = selfUs.get(node.id) ?? 0
    const file = fileOf(node)
    add(self, name, own)
    add(byFile, file, own)
    add(byArea, AREAS.find(([, test]) => test(file))![0], own)
    onStack.set(name, (onStack.get(name) ?? 0) + 1)
    let sum = own
    if (depth < 10_000) for (const child of node.children ?? []) sum += visit(byId.get(child)!, depth + 1)
    onStack.set(name, onStack.get(name)! - 1)
    if (onStack.get(name) === 0) add(inclusive, name, sum)
    return sum
  }
  visit(profile.nodes[0]!, 0)
  const line = ([name, us]: readonly [string, number]): string =>
    `    ${fmt((100 * us) / Math.max(1, busyUs), 1).padStart(5)} % ${fmt(us / Math.max(1, window.ops), 1).padStart(7)} µs/op  ${name}`
  const list = (m: Map<string, number>, filter: (name: string) => boolean, count: number): Array<string> =>
    [...m.entries()]
      .filter(([name]) => filter(name) && name !== "(root)" && !name.startsWith("(idle)"))
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(line)
  const ours = (name: string): boolean => name.includes(" packages/") || name.includes(" apps/")
  return [
    `  busy ${fmt(busyUs / 1000)} ms of ${fmt(sampledUs / 1000)} ms sampled, ${fmt(window.ops)} ops, ` +
      `${fmt(busyUs / Math.max(1, window.ops), 1)} µs busy per op (wall-clock samples; % of busy time)`,
    "  by area:",
    ...list(byArea, () => true, AREAS.length),
    "  self time by function:",
    ...list(self, () => true, top),
    "  self time by file:",
    ...list(byFile, () => true, top),
    "  inclusive time, project functions:",
    ...list(inclusive, ours, top)
  ]
}

/** Monotonic clock in µs: the time base of V8 CPU profiles on Linux. */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n)

// ---------------------------------------------------------------- driver

const main = async (): Promise<void> => {
  const killer = setTimeout(() => {
    console.error(`run exceeded ${RUN_LIMIT_MS} ms: aborting`)
    process.exit(2)
  }, RUN_LIMIT_MS)
  killer.unref()
  tempDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-bench-node-"))
  const profileDir = PROFILE ? Path.join(tempDir, "profile") : undefined
  const total = WARMUP_PUTS + PUTS
  console.log(
    `one daemon on [${HOST}] (${PROFILE ? "under --cpu-prof, " : ""}--no-backup, loopback peer limits, 1 GiB); ` +
      `${fmt(total)} PUTs (${fmt(WARMUP_PUTS)} warmup) by ${AUTHORS} authors, ${VALUE_BYTES}-byte values, difficulty ${DIFFICULTY}`
  )

  const daemon = await startDaemon(tempDir, profileDir)
  const clientAuthor = await makeAuthor(new Uint8Array(32).fill(0x42))
  const client = await openClient(clientAuthor, daemon.port)
  const authors = await Promise.all(
    Array.from({ length: AUTHORS }, (_, a) =>
      makeAuthor(Uint8Array.from({ length: 32 }, (_, i) => (a * 37 + i) & 0xff))
    )
  )

  const signStart = performance.now()
  const dats = await signAll(authors, total)
  const signMs = performance.now() - signStart
  console.log(`signed ${fmt(total)} dats in ${fmt(signMs / 1000, 1)} s (${fmt((signMs * 1000) / total)} µs each)`)
  // The replica list names both nodes, so the daemon forwards nothing to us and never re-replicates.
  const replicas = [daemon.nodeId, NodeId.fromPublicKey(clientAuthor.signer.publicKey), 0n, 0n, 0n]
  const puts = dats.map((dat) => encode({ _tag: "Put", entry: { replicas, dat } }))
  const gets = dats.map((dat) => encode({ _tag: "Get", pubKey: dat.pubKey, key: dat.key }))
  const putBytes = puts[0]!.length
  const getBytes = gets[0]!.length

  // The limit is the verifier the daemon runs (Verifier.makeDefault: sodium-native when it loads).
  const verifier = await Effect.runPromise(Verifier.makeDefault)
  const rates = measureVerify(dats.slice(0, 1_000), authors[0]!.hasher, verifier)
  console.log(
    `raw Ed25519 verify (the daemon's default verifier, 32-byte messages, 1 core): ${fmt(rates.verifyPerSecond)}/s ` +
      `(${fmt(rates.verifyCpuUs, 1)} µs CPU each); full dat check (work + BLAKE3 + verify): ` +
      `${fmt(rates.checkPerSecond)}/s (${fmt(rates.checkCpuUs, 1)} µs CPU each)`
  )

  // Warmup: also proves the daemon verified us (it serves data only to verified peers).
  const warm = await ingest(client, daemon, puts, gets, 0, WARMUP_PUTS)
  if (!(await awaitVerified(client, daemon.port, gets[WARMUP_PUTS - 1]!, putBytes))) {
    throw new Error(
      `the daemon never served us data (PINGs answered: ${client.pingsAnswered}, warmup ${JSON.stringify(warm)})`
    )
  }

  // The warm-up's backlog started the daemon's verification threads, which take about a second to
  // load (checking inline meanwhile): the ingest measures the daemon with them.
  await new Promise((resolve) => setTimeout(resolve, WORKER_LOAD_MS))

  const phases: Array<{ name: string; fromUs: number; toUs: number; ops: number }> = []
  let phaseStart = monotonicUs()
  const run = await ingest(client, daemon, puts, gets, WARMUP_PUTS, total)
  phases.push({ name: "PUT ingest", fromUs: phaseStart, toUs: monotonicUs(), ops: run.sent })
  const sweep = await sweepStored(client, daemon.port, gets, WARMUP_PUTS, total)
  const ingestPerSecond = sweep.found / (run.elapsedMs / 1000)
  const lossPct = (100 * (PUTS - sweep.found)) / PUTS
  const ingestRatio = ingestPerSecond / rates.verifyPerSecond
  console.log(
    `PUT ingest: ${fmt(run.sent)} sent in ${fmt(run.elapsedMs)} ms, ${fmt(sweep.found)} stored ` +
      `(${fmt(lossPct, 2)} % lost; barriers found ${run.barriersFound}, timed out ${run.barriersLost}) → ` +
      `${fmt(ingestPerSecond)} PUTs/s; daemon CPU ${fmt(run.daemonCpuUs / Math.max(1, run.sent), 1)} µs/PUT`
  )
  const putCpuUs = run.daemonCpuUs / Math.max(1, run.sent)
  // CPU per PUT against CPU per verify: the same ratio, unaffected by other load on the machine.
  const cpuRatio = rates.verifyCpuUs / putCpuUs
  console.log(
    `  ratio ingest / raw verify ${fmt(ingestRatio, 2)} (goal ≥ 0.70); by CPU time (verify µs / daemon µs per PUT) ` +
      `${fmt(cpuRatio, 2)}; ingest / full dat check ${fmt(ingestPerSecond / rates.checkPerSecond, 2)}`
  )
  console.log(
    `  stored-count sweep: ${fmt(sweep.found)} found, ${sweep.notFound} not found, ${sweep.unanswered} unanswered, ` +
      `${sweep.wrongValue} wrong value, ${fmt(((sweep.found + sweep.notFound) * 1000) / sweep.elapsedMs)} GETs/s`
  )

  // GETs: keys the daemon stores, daemon first, then the raw request/reply server.
  const keys = { from: WARMUP_PUTS, to: total }
  const daemonServer = { port: daemon.port, pid: daemon.child.pid }
  phaseStart = monotonicUs()
  const daemon1 = await timedLoop(client, daemonServer, gets, keys, putBytes, 1)
  const daemon64 = await timedLoop(client, daemonServer, gets, keys, putBytes, 64)
  phases.push({
    name: "GET serving",
    fromUs: phaseStart,
    toUs: monotonicUs(),
    ops: daemon1.replies + daemon64.replies
  })
  const echo = await startEcho(putBytes)
  const echoServer = { port: echo.port, pid: echo.child.pid }
  const echo1 = await timedLoop(client, echoServer, gets, keys, putBytes, 1)
  const echo64 = await timedLoop(client, echoServer, gets, keys, putBytes, 64)
  echo.child.stdin!.end()
  const getLine = (name: string, inFlight: number, r: LoopResult): string =>
    `${name.padEnd(6)} in flight ${String(inFlight).padStart(2)}: ${fmt(r.completed / r.seconds).padStart(7)} replies/s  ` +
    `p50 ${fmt(r.p50Us).padStart(6)} µs  p99 ${fmt(r.p99Us).padStart(6)} µs  lost ${r.lost}  ` +
    `with data ${fmt((100 * r.full) / Math.max(1, r.completed), 1)} %  server CPU ${fmt(r.serverCpuUs / Math.max(1, r.completed), 1)} µs/reply`
  console.log(
    `GET (${getBytes} B request, ${putBytes} B reply), ${GET_MS} ms per run after ${GET_WARMUP_MS} ms warmup:`
  )
  for (const [name, inFlight, r] of [
    ["daemon", 1, daemon1],
    ["daemon", 64, daemon64],
    ["raw", 1, echo1],
    ["raw", 64, echo64]
  ] as const) {
    console.log(`  ${getLine(name, inFlight, r)}`)
  }
  const rate = (r: LoopResult): number => r.completed / r.seconds
  const ratio1 = rate(daemon1) / rate(echo1)
  const ratio64 = rate(daemon64) / rate(echo64)
  const cpuPerReply = (r: LoopResult): number => r.serverCpuUs / Math.max(1, r.completed)

  client.close()
  if (profileDir !== undefined) {
    daemon.child.kill("SIGTERM")
    await Promise.race([daemon.exited, sleep(10_000)])
    const files = Fs.existsSync(profileDir) ? Fs.readdirSync(profileDir).filter((f) => f.endsWith(".cpuprofile")) : []
    if (files.length === 0) console.log("profile: the daemon wrote no .cpuprofile")
    for (const file of files) {
      const profile = JSON.parse(Fs.readFileSync(Path.join(profileDir, file), "utf8")) as CpuProfile
      for (const phase of phases) {
        console.log(`daemon profile, ${phase.name}:`)
        for (const line of summarizeProfile(profile, phase, PROFILE_TOP)) console.log(line)
      }
    }
  }

  const row = (figure: string, measured: string, goal = ""): string =>
    `  ${figure.padEnd(44)} ${measured.padStart(12)}  ${goal}`
  console.log("\nsummary")
  console.log(row("figure", "measured", "goal"))
  console.log(row("raw Ed25519 verify, 1 core (/s)", fmt(rates.verifyPerSecond)))
  console.log(row("full dat check, 1 core (/s)", fmt(rates.checkPerSecond)))
  console.log(row("PUT ingest, one daemon (stored/s)", fmt(ingestPerSecond)))
  console.log(row("  PUTs lost", `${fmt(lossPct, 2)} %`, "< 1 %"))
  console.log(row("  ingest / raw verify", fmt(ingestRatio, 2), "≥ 0.70"))
  console.log(row("  same ratio by CPU time", fmt(cpuRatio, 2), "≥ 0.70"))
  console.log(row("  CPU µs per PUT (daemon) / per verify", `${fmt(putCpuUs)} / ${fmt(rates.verifyCpuUs)}`))
  console.log(row("GET replies/s, 1 in flight (daemon / raw)", `${fmt(rate(daemon1))} / ${fmt(rate(echo1))}`))
  console.log(row("  ratio", fmt(ratio1, 2), "≥ 0.50"))
  console.log(row("GET replies/s, 64 in flight (daemon / raw)", `${fmt(rate(daemon64))} / ${fmt(rate(echo64))}`))
  console.log(row("  ratio", fmt(ratio64, 2), "≥ 0.50"))
  console.log(
    row("  server CPU µs per reply (daemon / raw)", `${fmt(cpuPerReply(daemon64))} / ${fmt(cpuPerReply(echo64))}`)
  )
  console.log(row("  same ratio by CPU time", fmt(cpuPerReply(echo64) / cpuPerReply(daemon64), 2), "≥ 0.50"))
  console.log(row("GET p50 / p99 µs, 1 in flight", `${fmt(daemon1.p50Us)} / ${fmt(daemon1.p99Us)}`))
  console.log(row("GET p50 / p99 µs, 64 in flight", `${fmt(daemon64.p50Us)} / ${fmt(daemon64.p99Us)}`))
  console.log(
    row(
      "raw p50 / p99 µs, 1 / 64 in flight",
      `${fmt(echo1.p50Us)}/${fmt(echo1.p99Us)} ${fmt(echo64.p50Us)}/${fmt(echo64.p99Us)}`
    )
  )
  clearTimeout(killer)
  cleanup()
}

if (process.argv[2] === "echo") {
  runEcho(Number(process.argv[3]))
} else {
  try {
    await main()
  } catch (error) {
    console.error(error)
    process.exitCode = 1
  } finally {
    cleanup()
    // Sockets and timers of a failed run must not keep the process alive.
    process.exit()
  }
}
