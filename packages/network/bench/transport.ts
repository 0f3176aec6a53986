/**
 * UDP echo throughput and latency: an echo server built on this package's Transport (effect's
 * DatagramSocket over node:dgram) against a raw node:dgram echo server, both in this process on
 * [::1]. The same raw-dgram client runs in a child process: closed loop with 1 or 64 datagrams in
 * flight, 1,200-byte and 40-byte payloads. Prints requests/s, p50/p99 round trip, the server's CPU
 * time per echo, and the Transport/raw ratios. Loopback only; every run is bounded in time.
 *
 * Run: node --conditions=source bench/transport.ts   (BENCH_MEASURE_MS=1000 for a quick pass)
 */
import { spawn } from "node:child_process"
import * as Dgram from "node:dgram"
import { fileURLToPath } from "node:url"
import { SourceGuard, UdpTransport } from "@dave/network"
import * as NodeDatagramSocket from "@effect/platform-node/NodeDatagramSocket"
import { Deferred, Effect, Fiber } from "effect"

const WARMUP_MS = 500
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 3000)
/** A datagram unanswered this long is counted lost and replaced, so the window never shrinks. */
const LOSS_TIMEOUT_MS = 500
const MAX_SAMPLES = 2_000_000
const HOST = "::1"

interface ClientResult {
  readonly completed: number
  readonly seconds: number
  readonly p50Us: number
  readonly p99Us: number
  readonly lost: number
}

// ---------------------------------------------------------------- client (child process)

const runClient = (port: number, payloadBytes: number, inFlight: number): void => {
  const socket = Dgram.createSocket({ type: "udp6" })
  const template = Buffer.alloc(payloadBytes, 0x5a)
  const outstanding = new Map<number, number>()
  const samples = new Float64Array(MAX_SAMPLES)
  let sampleCount = 0
  let completed = 0
  let lost = 0
  let seq = 0
  let measuring = false
  let stopped = false
  const sendNext = (): void => {
    const buffer = Buffer.allocUnsafe(payloadBytes)
    template.copy(buffer)
    buffer.writeUInt32LE(seq >>> 0, 0)
    outstanding.set(seq >>> 0, performance.now())
    seq++
    socket.send(buffer, port, HOST)
  }
  socket.on("message", (message) => {
    if (stopped || message.length < 4) return
    const sentAt = outstanding.get(message.readUInt32LE(0))
    if (sentAt === undefined) return
    outstanding.delete(message.readUInt32LE(0))
    if (measuring) {
      completed++
      if (sampleCount < MAX_SAMPLES) samples[sampleCount++] = (performance.now() - sentAt) * 1000
    }
    sendNext()
  })
  const sweep = setInterval(() => {
    const now = performance.now()
    for (const [key, sentAt] of outstanding) {
      if (now - sentAt < LOSS_TIMEOUT_MS) continue
      outstanding.delete(key)
      if (measuring) lost++
      sendNext()
    }
  }, 100)
  socket.bind({ address: HOST, port: 0 }, () => {
    for (let i = 0; i < inFlight; i++) sendNext()
    setTimeout(() => {
      measuring = true
      process.stdout.write("measuring\n")
      const start = performance.now()
      setTimeout(() => {
        stopped = true
        const seconds = (performance.now() - start) / 1000
        clearInterval(sweep)
        socket.close()
        const sorted = samples.subarray(0, sampleCount).sort()
        const at = (q: number): number =>
          sampleCount === 0 ? Number.NaN : sorted[Math.min(sampleCount - 1, Math.floor(q * sampleCount))]!
        const result: ClientResult = { completed, seconds, p50Us: at(0.5), p99Us: at(0.99), lost }
        process.stdout.write(`${JSON.stringify(result)}\n`)
      }, MEASURE_MS)
    }, WARMUP_MS)
  })
}

// ---------------------------------------------------------------- servers (this process)

interface Server {
  readonly port: number
  readonly stop: () => Promise<void>
}

const startRawServer = (): Promise<Server> =>
  new Promise((resolve) => {
    const socket = Dgram.createSocket({ type: "udp6", ipv6Only: false })
    socket.on("message", (message, from) => socket.send(message, from.port, from.address))
    socket.bind({ address: HOST, port: 0 }, () => {
      socket.setRecvBufferSize(4 << 20)
      resolve({ port: socket.address().port, stop: () => new Promise((done) => socket.close(() => done())) })
    })
  })

/** effect's DatagramSocket used directly: isolates the cost of the Transport's own layer. */
const startSocketServer = async (): Promise<Server> => {
  const ready = Deferred.makeUnsafe<number>()
  const server = Effect.gen(function* () {
    const socket = yield* NodeDatagramSocket.make({
      family: "ipv6",
      bind: { address: HOST },
      kernelReceiveBufferSize: 4 << 20
    })
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    yield* Deferred.succeed(ready, reader.address.port)
    return yield* Effect.forever(
      Effect.flatMap(reader.pull, (batch) =>
        Effect.forEach(batch, (datagram) => writer.write({ payload: datagram.payload, address: datagram }), {
          discard: true
        })
      )
    )
  }).pipe(Effect.scoped)
  const fiber = Effect.runFork(server)
  const port = await Effect.runPromise(Deferred.await(ready))
  return { port, stop: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined) }
}

const startTransportServer = async (): Promise<Server> => {
  const ready = Deferred.makeUnsafe<number>()
  const server = Effect.gen(function* () {
    // One client address at full speed: the per-source guard would cap it at the internet limits.
    const transport = yield* UdpTransport.make({ host: HOST, port: 0, tcp: false, sourceLimits: SourceGuard.unlimited })
    yield* Deferred.succeed(ready, transport.localAddress.port)
    return yield* Effect.forever(
      Effect.flatMap(transport.receive, (batch) =>
        Effect.sync(() => {
          for (const message of batch) transport.send(message.from, message.payload)
        })
      )
    )
  }).pipe(Effect.scoped)
  const fiber = Effect.runFork(server)
  const port = await Effect.runPromise(Deferred.await(ready))
  return { port, stop: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined) }
}

// ---------------------------------------------------------------- driver

interface Measured extends ClientResult {
  readonly cpuUsPerEcho: number
}

const runCase = async (server: Server, payloadBytes: number, inFlight: number): Promise<Measured> => {
  const self = fileURLToPath(import.meta.url)
  const child = spawn(
    process.execPath,
    ["--conditions=source", self, "client", String(server.port), String(payloadBytes), String(inFlight)],
    { stdio: ["ignore", "pipe", "inherit"] }
  )
  let cpuStart: NodeJS.CpuUsage | undefined
  let cpuEnd: NodeJS.CpuUsage | undefined
  let output = ""
  const killer = setTimeout(() => child.kill("SIGKILL"), WARMUP_MS + MEASURE_MS + 10_000)
  const result = await new Promise<ClientResult>((resolve, reject) => {
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (text: string) => {
      output += text
      if (cpuStart === undefined && output.includes("measuring\n")) cpuStart = process.cpuUsage()
      const last = output.trimEnd().split("\n").at(-1) ?? ""
      if (last.startsWith("{") && cpuEnd === undefined) {
        cpuEnd = process.cpuUsage()
        resolve(JSON.parse(last) as ClientResult)
      }
    })
    child.on("exit", (code) => reject(new Error(`client exited (${code}) without a result`)))
  })
  clearTimeout(killer)
  const cpu = cpuStart !== undefined && cpuEnd !== undefined ? process.cpuUsage(cpuStart) : undefined
  const cpuUs = cpu === undefined ? Number.NaN : cpu.user + cpu.system
  return { ...result, cpuUsPerEcho: cpuUs / Math.max(1, result.completed) }
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })

const line = (name: string, payloadBytes: number, inFlight: number, m: Measured): string =>
  `${name.padEnd(9)} ${String(payloadBytes).padStart(4)} B  in flight ${String(inFlight).padStart(2)}: ` +
  `${fmt(m.completed / m.seconds).padStart(7)} req/s  p50 ${fmt(m.p50Us).padStart(5)} µs  p99 ${fmt(m.p99Us).padStart(6)} µs  ` +
  `server CPU ${fmt(m.cpuUsPerEcho, 1).padStart(5)} µs/echo  lost ${m.lost}`

const main = async (): Promise<void> => {
  console.log(
    `UDP echo on [${HOST}], client in a child process; warmup ${WARMUP_MS} ms, measure ${MEASURE_MS} ms per run`
  )
  const goal = "goal: keep the Transport unless it shows a real loss against raw dgram"
  const ratios: Array<string> = []
  for (const payloadBytes of [1200, 40]) {
    for (const inFlight of [1, 64]) {
      const raw = await startRawServer()
      const rawResult = await runCase(raw, payloadBytes, inFlight)
      await raw.stop()
      const socket = await startSocketServer()
      const socketResult = await runCase(socket, payloadBytes, inFlight)
      await socket.stop()
      const transport = await startTransportServer()
      const transportResult = await runCase(transport, payloadBytes, inFlight)
      await transport.stop()
      console.log(line("raw", payloadBytes, inFlight, rawResult))
      console.log(line("socket", payloadBytes, inFlight, socketResult))
      console.log(line("transport", payloadBytes, inFlight, transportResult))
      const throughput = transportResult.completed / transportResult.seconds / (rawResult.completed / rawResult.seconds)
      const cpu = transportResult.cpuUsPerEcho / rawResult.cpuUsPerEcho
      const latency = transportResult.p50Us / rawResult.p50Us
      ratios.push(
        `ratio transport/raw ${String(payloadBytes).padStart(4)} B in flight ${String(inFlight).padStart(2)}: ` +
          `throughput ${fmt(throughput, 2)}  p50 ${fmt(latency, 2)}  server CPU/echo ${fmt(cpu, 2)}`
      )
    }
  }
  for (const r of ratios) console.log(r)
  console.log(goal)
}

if (process.argv[2] === "client") {
  runClient(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]))
} else {
  await main()
}
