import * as Fs from "node:fs"
import * as Url from "node:url"
import { TcpFrame } from "@dave/network"
import { Codec, Constants, DecodeError, type DecodeReason, type Message } from "@dave/protocol"
import { Result } from "effect"
import type { Block, Coverage } from "./Coverage.ts"
import * as In from "./FuzzInput.ts"

/**
 * Issue 8.1, in-process part: a coverage-guided mutation fuzzer of the decoders (Codec.decode,
 * Codec.decodeEntry and the TCP frame decoder). Inputs are mutated from a corpus of valid messages;
 * each batch is run, V8's block coverage read (Coverage.ts), and a batch that reached new blocks
 * is split until the inputs that did it are found, which join the corpus. Every input is checked:
 * the decoder never throws; a decoded message encodes back to exactly the input; a refusal is a
 * DecodeError with a known reason and an offset inside the input; the frame decoder gives the same
 * frames however the stream is cut, each 1..1424 bytes.
 */

export interface DecoderFuzzOptions {
  readonly execs: number
  readonly timeLimitMs: number
  readonly seed: number
  /** Most inputs run between two coverage reads. */
  readonly batch: number
}

export interface Unreached {
  readonly functionName: string
  readonly line: number
  readonly text: string
}

export interface DecoderFuzzReport {
  readonly execs: number
  readonly elapsedMs: number
  readonly seeds: number
  readonly corpus: number
  readonly blocksReached: number
  readonly blocksKnown: number
  /** The same, counting only the blocks of decoding functions (not the encoder's error paths). */
  readonly decodingBlocksReached: number
  readonly decodingBlocksKnown: number
  readonly unreached: ReadonlyArray<Unreached>
  readonly problems: ReadonlyArray<{ readonly problem: string; readonly inputHex: string }>
}

/** The files whose blocks guide the search. */
export const isTarget = (url: string): boolean =>
  url.endsWith("/protocol/src/Codec.ts") || url.endsWith("/network/src/TcpFrame.ts")

const MAX_CORPUS = 4_096
const MIN_BATCH = 32
const MAX_PROBLEMS = 20

const REASONS: ReadonlySet<DecodeReason> = new Set<DecodeReason>([
  "Empty",
  "TooLong",
  "UnknownOp",
  "ReservedOp",
  "Truncated",
  "TrailingBytes",
  "BadLength",
  "TooManyAddrs"
])

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.length)
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && asBuffer(a).equals(asBuffer(b))

const refusalProblem = (e: unknown, input: Uint8Array): string | undefined => {
  if (!(e instanceof DecodeError)) return "the failure is not a DecodeError"
  if (!REASONS.has(e.reason)) return `unknown reason ${e.reason}`
  if (e.field.length === 0) return `${e.reason}: no field named`
  if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset > input.length) {
    return `${e.reason} at ${e.field}: offset ${e.offset} outside [0, ${input.length}]`
  }
  return undefined
}

export const decodeProblem = (input: Uint8Array): string | undefined => {
  let r: Result.Result<Message.Message, DecodeError>
  try {
    r = Codec.decode(input)
  } catch (e) {
    return `decode threw ${String(e)}`
  }
  if (Result.isFailure(r)) return refusalProblem(r.failure, input)
  const back = Codec.encode(r.success)
  if (Result.isFailure(back)) return `decoded ${r.success._tag} does not encode: ${back.failure.message}`
  if (!sameBytes(back.success, input)) return `decoded ${r.success._tag} encodes to other bytes`
  return undefined
}

export const entryProblem = (record: Uint8Array): string | undefined => {
  let r: Result.Result<Message.Entry, DecodeError>
  try {
    r = Codec.decodeEntry(record)
  } catch (e) {
    return `decodeEntry threw ${String(e)}`
  }
  if (Result.isFailure(r)) return refusalProblem(r.failure, record)
  const back = Codec.encodeEntry(r.success)
  if (Result.isFailure(back)) return `decoded entry does not encode: ${back.failure.message}`
  if (!sameBytes(back.success, record)) return "decoded entry encodes to other bytes"
  return undefined
}

const feed = (
  chunks: ReadonlyArray<Uint8Array>
): { readonly frames: Array<Uint8Array>; readonly bad: number | undefined } => {
  const decoder = TcpFrame.makeDecoder()
  const frames: Array<Uint8Array> = []
  for (const chunk of chunks) {
    const bad = decoder.push(chunk, (f) => frames.push(f))
    if (bad === undefined) continue
    // Once refused, the decoder stays refused and emits nothing more.
    const again = decoder.push(Uint8Array.of(1, 0, 0), (f) => frames.push(f))
    return { frames, bad: again?.length === bad.length ? bad.length : -1 }
  }
  return { frames, bad: undefined }
}

/** The stream whole and cut at up to 8 random places must give the same frames and the same refusal. */
export const framingProblem = (stream: Uint8Array, next: () => number): string | undefined => {
  try {
    const whole = feed([stream])
    const cuts = Array.from({ length: In.below(next, 9) }, () => In.below(next, stream.length + 1)).sort(
      (a, b) => a - b
    )
    const ends = [...cuts, stream.length]
    const cut = feed(ends.map((end, i) => stream.subarray(i === 0 ? 0 : ends[i - 1], end)))
    if (whole.bad !== cut.bad) return `frame decoder: refusal ${whole.bad} whole, ${cut.bad} when cut`
    if (whole.frames.length !== cut.frames.length) return "frame decoder: frame count depends on the cuts"
    for (let i = 0; i < whole.frames.length; i++) {
      const f = whole.frames[i]!
      if (!sameBytes(f, cut.frames[i]!)) return `frame decoder: frame ${i} differs when cut`
      if (f.length < 1 || f.length > Constants.MAX_MSG_LEN) return `frame decoder: emitted a frame of ${f.length} bytes`
    }
    return undefined
  } catch (e) {
    return `frame decoder threw ${String(e)}`
  }
}

/** The input as two frames in a row: a stream the frame decoder must split exactly. */
const framedTwice = (message: Uint8Array): Uint8Array => {
  const out = new Uint8Array(2 * (message.length + 2))
  for (const at of [0, message.length + 2]) {
    out[at] = message.length & 0xff
    out[at + 1] = message.length >>> 8
    out.set(message, at + 2)
  }
  return out
}

/** Every check on one input; the first problem found. */
export const problemOf = (input: Uint8Array, next: () => number): string | undefined =>
  decodeProblem(input) ??
  (input.length >= 3 ? entryProblem(input.subarray(3)) : undefined) ??
  framingProblem(input, next) ??
  (input.length >= 1 && input.length <= Constants.MAX_MSG_LEN ? framingProblem(framedTwice(input), next) : undefined)

/** Valid messages of every kind, with lengths at their edges, as the corpus to start from. */
export const seeds = (seed: number): Array<Uint8Array> => {
  const next = In.prng(seed)
  const bytes = (n: number) => In.fillRandom(new Uint8Array(n), next)
  const addr = () => ({ ip: bytes(16), port: next() & 0xffff })
  const dat = (keyBytes: number, valueBytes: number): Message.Dat => ({
    time: BigInt(next()) * 1000n,
    salt: bytes(16),
    work: bytes(32),
    sig: bytes(64),
    pubKey: bytes(32),
    key: bytes(keyBytes),
    value: bytes(valueBytes)
  })
  const entry = (k: number, v: number): Message.Entry => ({
    replicas: [1n, 2n, 3n, 4n, 2n ** 64n - 1n],
    dat: dat(k, v)
  })
  const messages: Array<Message.Message> = [
    { _tag: "Ping", challenge: bytes(32), used: 0n, capacity: -1n },
    ...[0, 1, 12].map(
      (n): Message.Message => ({
        _tag: "Pong",
        addrs: Array.from({ length: n }, addr),
        challenge: bytes(32),
        salt: bytes(16),
        pubKey: bytes(32),
        sig: bytes(64)
      })
    ),
    ...[
      [0, 0],
      [1, 1],
      [255, 969],
      [10, 1214]
    ].flatMap(
      ([k, v]): Array<Message.Message> => [
        { _tag: "Put", entry: entry(k!, v!) },
        { _tag: "GetAck", entry: entry(k!, v!) }
      ]
    ),
    { _tag: "Get", pubKey: bytes(32), key: bytes(0) },
    { _tag: "Get", pubKey: bytes(32), key: bytes(255) },
    { _tag: "GetMyAddrPort" },
    { _tag: "GetMyAddrPortAck", addr: addr() }
  ]
  return messages.map((m) => {
    const r = Codec.encode(m)
    if (Result.isFailure(r)) throw new Error(`seed ${m._tag} does not encode: ${r.failure.message}`)
    return r.success
  })
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex")

export const run = (coverage: Coverage, options: DecoderFuzzOptions): DecoderFuzzReport => {
  const next = In.prng(options.seed)
  const corpus = seeds(options.seed)
  const seedCount = corpus.length
  const reached = new Set<string>()
  const problems: Array<{ problem: string; inputHex: string }> = []
  let execs = 0
  const check = (input: Uint8Array): void => {
    const problem = problemOf(input, next)
    if (problem !== undefined && problems.length < MAX_PROBLEMS) problems.push({ problem, inputHex: hex(input) })
  }
  const fresh = (run: Set<string>): Array<string> => [...run].filter((k) => !reached.has(k))
  /**
   * `inputs` (just run) reached the new blocks `found`: runs them again in halves until the inputs
   * that did it are found, which join the corpus. A half is run only while some block is unexplained.
   */
  const attribute = (inputs: ReadonlyArray<Uint8Array>, found: ReadonlyArray<string>): void => {
    if (inputs.length === 1) {
      for (const k of found) reached.add(k)
      if (corpus.length < MAX_CORPUS) corpus.push(inputs[0]!)
      return
    }
    const half = Math.ceil(inputs.length / 2)
    for (const part of [inputs.slice(0, half), inputs.slice(half)]) {
      if (found.every((k) => reached.has(k))) return
      for (const input of part) check(input)
      const byPart = fresh(coverage.take())
      if (byPart.length > 0) attribute(part, byPart)
    }
  }

  coverage.take()
  const startedMs = Date.now()
  for (const input of corpus) check(input)
  for (const k of coverage.take()) reached.add(k)
  // Batches start small and double while they find nothing: a find costs re-running its batch in
  // halves, so big batches pay only once finds are rare.
  let batchSize = MIN_BATCH
  while (execs < options.execs && Date.now() - startedMs < options.timeLimitMs) {
    const batch = Array.from({ length: Math.min(batchSize, options.execs - execs) }, () => In.mutate(corpus, next))
    for (const input of batch) check(input)
    execs += batch.length
    const found = fresh(coverage.take())
    if (found.length > 0) attribute(batch, found)
    batchSize = found.length > 0 ? MIN_BATCH : Math.min(options.batch, batchSize * 2)
  }
  const known = coverage.known()
  const decoding = [...known.entries()].filter(([, b]) => isDecoding(b))
  return {
    execs,
    elapsedMs: Date.now() - startedMs,
    seeds: seedCount,
    corpus: corpus.length,
    blocksReached: [...known.keys()].filter((k) => reached.has(k)).length,
    blocksKnown: known.size,
    decodingBlocksReached: decoding.filter(([k]) => reached.has(k)).length,
    decodingBlocksKnown: decoding.length,
    unreached: decoding.filter(([k]) => !reached.has(k)).map(([, b]) => describe(b)),
    problems
  }
}

/** Functions of the decoding side: the decoders, their helpers, and the whole frame decoder. */
const isDecoding = (b: Block): boolean =>
  (b.url.endsWith("TcpFrame.ts") && /^(makeDecoder|push|isValidLength)$/.test(b.functionName)) ||
  /^(decode|decodePing|decodePong|decodeEntryMessage|decodeEntryAt|decodeGet|decodeEntry|truncated|trailing|failDecode|readAddr|readU64|readI64|u16|bytesAt|loadScratch)$/.test(
    b.functionName
  )

const sources = new Map<string, string>()

const describe = (b: Block): Unreached => {
  let text = sources.get(b.url)
  if (text === undefined) {
    text = Fs.readFileSync(Url.fileURLToPath(b.url), "utf8")
    sources.set(b.url, text)
  }
  const line = text.slice(0, b.startOffset).split("\n").length
  const file = b.url.slice(b.url.lastIndexOf("/") + 1)
  return {
    functionName: `${file} ${b.functionName}`,
    line,
    text: text.slice(b.startOffset, b.endOffset).replace(/\s+/g, " ").slice(0, 90)
  }
}

export const lines = (r: DecoderFuzzReport, options: DecoderFuzzOptions): Array<string> => [
  `fuzz-decoder: execs ${r.execs} in ${(r.elapsedMs / 1000).toFixed(1)} s, ${((r.execs / Math.max(1, r.elapsedMs)) * 1000).toFixed(0)}/s  (goal: ${options.execs})`,
  `fuzz-decoder: corpus ${r.seeds} seeds -> ${r.corpus} inputs; blocks reached: decoding functions ` +
    `${r.decodingBlocksReached} of ${r.decodingBlocksKnown}, all of Codec.ts and TcpFrame.ts ${r.blocksReached} of ${r.blocksKnown}`,
  ...r.unreached.slice(0, 15).map((u) => `  unreached decoding block: ${u.functionName} line ${u.line}: ${u.text}`),
  `fuzz-decoder: problems ${r.problems.length}  (goal: 0)`,
  ...r.problems.slice(0, 10).map((p) => `  problem: ${p.problem} on ${p.inputHex.slice(0, 200)}`)
]

export const shortfalls = (r: DecoderFuzzReport, options: DecoderFuzzOptions): Array<string> => [
  ...r.problems.map((p) => `decoder problem: ${p.problem} (input ${p.inputHex.slice(0, 120)})`),
  ...(r.execs < options.execs ? [`ran ${r.execs} of ${options.execs} inputs before the time limit`] : [])
]
