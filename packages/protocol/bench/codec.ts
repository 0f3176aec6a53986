/**
 * Codec throughput: PUT encode (into a reused buffer and allocating) and decode at ~1,200 B and at the
 * 210-byte vector size, GET encode/decode, PING decode. Each case runs in batches until its time budget
 * or its batch limit is reached, so the whole run is bounded (~10 s).
 *
 * Run: node --conditions=source bench/codec.ts
 */
import { Codec, Constants, type Message } from "@dave/protocol"
import { Result } from "effect"

const WARMUP_MS = 150
const MEASURE_MS = 650
const BATCH_OPS = 5_000
const MAX_BATCHES = 4_000

const fill = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff)

const datOf = (keyBytes: number, valueBytes: number): Message.Dat => ({
  time: 1_700_000_000_000n,
  salt: fill(Constants.SALT_LEN, 1),
  work: fill(Constants.WORK_LEN, 2),
  sig: fill(Constants.SIG_LEN, 3),
  pubKey: fill(Constants.PUBKEY_LEN, 4),
  key: fill(keyBytes, 5),
  value: fill(valueBytes, 6)
})
const putOf = (keyBytes: number, valueBytes: number): Message.Message => ({
  _tag: "Put",
  entry: { replicas: [1n, 2n, 3n, 4n, 5n], dat: datOf(keyBytes, valueBytes) }
})

const encodeOk = (m: Message.Message): Uint8Array => {
  const r = Codec.encode(m)
  if (Result.isFailure(r)) throw new Error(`bench setup: ${r.failure.message}`)
  return r.success
}

// A ~1,200-byte PUT (32-byte key, 968-byte value) and the 210-byte PUT of the test vectors (key "hello", value "world").
const bigPut = putOf(32, 968)
const vectorPut = putOf(5, 5)
const get: Message.Message = { _tag: "Get", pubKey: fill(32, 4), key: fill(5, 5) }
const ping: Message.Message = { _tag: "Ping", challenge: fill(32, 7), used: 234n, capacity: 1n << 30n }
const bigPutBytes = encodeOk(bigPut)
const vectorPutBytes = encodeOk(vectorPut)
const getBytes = encodeOk(get)
const pingBytes = encodeOk(ping)
const out = new Uint8Array(Constants.MAX_MSG_LEN)

// Every op's result feeds this, so the JIT cannot drop the work.
let sink = 0

interface Rate {
  readonly wall: number
  readonly cpu: number
}

/** Process CPU time in ms: on a shared machine it counts only the time this process actually ran. */
const cpuMs = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

const runFor = (op: () => number, budgetMs: number): Rate => {
  const start = performance.now()
  const startCpu = cpuMs()
  let ops = 0
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    for (let i = 0; i < BATCH_OPS; i++) sink ^= op()
    ops += BATCH_OPS
    if (performance.now() - start >= budgetMs) break
  }
  return { wall: ops / ((performance.now() - start) / 1000), cpu: ops / ((cpuMs() - startCpu) / 1000) }
}

const opsPerSecond = (op: () => number): Rate => {
  runFor(op, WARMUP_MS)
  return runFor(op, MEASURE_MS)
}

const encodeIntoOp = (m: Message.Message) => () => {
  const r = Codec.encodeInto(m, out)
  return Result.isSuccess(r) ? r.success : -1
}
const encodeOp = (m: Message.Message) => () => {
  const r = Codec.encode(m)
  return Result.isSuccess(r) ? r.success.length : -1
}
const decodeOp = (bytes: Uint8Array) => () => {
  const r = Codec.decode(bytes)
  return Result.isSuccess(r) ? r.success._tag.length : -1
}

// Allocating cases run last: the many short-lived ArrayBuffers they leave keep V8's GC busy for a while
// afterwards, which would slow whatever case came next by up to 3x.
const cases: ReadonlyArray<readonly [name: string, op: () => number, goal: string]> = [
  [`PUT ${bigPutBytes.length} B encodeInto (reused buffer)`, encodeIntoOp(bigPut), "DESIGN.md hand-written: 9.9 M/s"],
  [`PUT ${bigPutBytes.length} B decode`, decodeOp(bigPutBytes), "DESIGN.md hand-written: 2.3 M/s"],
  [`PUT ${bigPutBytes.length} B decode (Buffer input)`, decodeOp(Buffer.from(bigPutBytes)), ""],
  [`PUT ${vectorPutBytes.length} B encodeInto (reused buffer)`, encodeIntoOp(vectorPut), ""],
  [`PUT ${vectorPutBytes.length} B decode`, decodeOp(vectorPutBytes), ""],
  [`GET ${getBytes.length} B encodeInto (reused buffer)`, encodeIntoOp(get), ""],
  [`GET ${getBytes.length} B decode`, decodeOp(getBytes), ""],
  [`PING ${pingBytes.length} B decode`, decodeOp(pingBytes), ""],
  [`GET ${getBytes.length} B encode (allocating)`, encodeOp(get), ""],
  [`PUT ${vectorPutBytes.length} B encode (allocating)`, encodeOp(vectorPut), ""],
  [`PUT ${bigPutBytes.length} B encode (allocating)`, encodeOp(bigPut), ""]
]

const millions = (x: number) => `${(x / 1e6).toFixed(2)} M ops/s`

console.log(`codec bench: ${WARMUP_MS} ms warm-up + ${MEASURE_MS} ms per case, node ${process.version}`)
console.log(`${"case".padEnd(44)} ${"per CPU second".padStart(16)} ${"per wall second".padStart(16)}`)
for (const [name, op, goal] of cases) {
  const rate = opsPerSecond(op)
  const figures = `${millions(rate.cpu).padStart(16)} ${millions(rate.wall).padStart(16)}`
  console.log(`${name.padEnd(44)} ${figures}${goal ? `   (${goal})` : ""}`)
}
console.log(`(sink ${sink & 1})`)
