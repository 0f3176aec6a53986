import { type AddrPort, Codec, Constants, DecodeError, type DecodeReason, Message } from "@dave/protocol"
import * as V from "@dave/protocol/vectors"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"

// ---------------------------------------------------------------------------------------------------
// Arbitraries: every message kind with valid field sizes, numbers biased toward their edge values.

const U64_MAX = (1n << 64n) - 1n
const I64_MIN = -(1n << 63n)
const I64_MAX = (1n << 63n) - 1n

const bytes = (size: number) => fc.uint8Array({ minLength: size, maxLength: size })
const withEdges = <A>(edges: ReadonlyArray<A>, rest: fc.Arbitrary<A>) =>
  fc.oneof({ arbitrary: fc.constantFrom(...edges), weight: 1 }, { arbitrary: rest, weight: 3 })

const u64 = withEdges(
  [0n, 1n, 0xffff_ffffn, 1n << 32n, I64_MAX, 1n << 63n, U64_MAX - 1n, U64_MAX],
  fc.bigInt(0n, U64_MAX)
)
const i64 = withEdges([I64_MIN, I64_MIN + 1n, -1n, 0n, 1n, I64_MAX - 1n, I64_MAX], fc.bigInt(I64_MIN, I64_MAX))
const port = withEdges([0, 1, 0xfffe, 0xffff], fc.integer({ min: 0, max: 0xffff }))
const ipv4Mapped = bytes(4).map((v4) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]))
const addr: fc.Arbitrary<AddrPort> = fc.record({
  ip: fc.oneof(bytes(Constants.IP_LEN), ipv4Mapped),
  port
})

/** A length in [0, max], with 0 and max themselves drawn often. */
const lengthUpTo = (max: number) => withEdges([0, max], fc.integer({ min: 0, max }))

/** Key and value with key <= 255 and key + value <= 1224, including both maxima. */
const keyValue = lengthUpTo(Constants.MAX_KEY_LEN).chain((keyLen) =>
  lengthUpTo(Constants.MAX_KEY_VALUE_LEN - keyLen).chain((valueLen) => fc.tuple(bytes(keyLen), bytes(valueLen)))
)

const dat: fc.Arbitrary<Message.Dat> = fc
  .record({
    time: u64,
    salt: bytes(Constants.SALT_LEN),
    work: bytes(Constants.WORK_LEN),
    sig: bytes(Constants.SIG_LEN),
    pubKey: bytes(Constants.PUBKEY_LEN),
    keyValue
  })
  .map(({ keyValue: [key, value], ...rest }) => ({ ...rest, key, value }))

const entry: fc.Arbitrary<Message.Entry> = fc.record({
  replicas: fc.array(u64, { minLength: Constants.FANOUT, maxLength: Constants.FANOUT }),
  dat
})

const ping = fc.record({ _tag: fc.constant("Ping" as const), challenge: bytes(32), used: i64, capacity: i64 })
const pong = fc.record({
  _tag: fc.constant("Pong" as const),
  addrs: lengthUpTo(Constants.NPEER_LIMIT).chain((n) => fc.array(addr, { minLength: n, maxLength: n })),
  challenge: bytes(32),
  salt: bytes(16),
  pubKey: bytes(32),
  sig: bytes(64)
})
const put = fc.record({ _tag: fc.constant("Put" as const), entry })
const getAck = fc.record({ _tag: fc.constant("GetAck" as const), entry })
const get = fc.record({
  _tag: fc.constant("Get" as const),
  pubKey: bytes(32),
  key: lengthUpTo(Constants.MAX_KEY_LEN).chain(bytes)
})
const getMyAddrPort = fc.constant({ _tag: "GetMyAddrPort" as const })
const getMyAddrPortAck = fc.record({ _tag: fc.constant("GetMyAddrPortAck" as const), addr })

const message: fc.Arbitrary<Message.Message> = fc.oneof(ping, pong, put, getAck, get, getMyAddrPort, getMyAddrPortAck)

// ---------------------------------------------------------------------------------------------------
// Helpers

const encodeOk = (m: Message.Message): Uint8Array => {
  const r = Codec.encode(m)
  if (Result.isFailure(r)) throw new Error(`encode failed: ${r.failure.message}`)
  return r.success
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

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

/**
 * Decodes `input` and returns what is wrong with the outcome, or undefined. A decoded message must
 * encode back to exactly `input` and pass `Message.validate`; an error must be a DecodeError with a
 * known reason, a field name, and an offset within the input.
 */
const decodeProblem = (input: Uint8Array): string | undefined => {
  let r: Result.Result<Message.Message, DecodeError>
  try {
    r = Codec.decode(input)
  } catch (e) {
    return `decode threw ${String(e)}`
  }
  if (Result.isSuccess(r)) {
    const back = Codec.encode(r.success)
    if (Result.isFailure(back)) return `decoded ${r.success._tag} does not encode: ${back.failure.message}`
    if (!sameBytes(back.success, input)) return `decoded ${r.success._tag} encodes to other bytes`
    if (Result.isFailure(Codec.decode(back.success))) return "re-encoded message does not decode"
    return undefined
  }
  const e = r.failure
  if (!(e instanceof DecodeError)) return "failure is not a DecodeError"
  if (!REASONS.has(e.reason)) return `unknown reason ${e.reason}`
  if (e.field.length === 0) return `${e.reason}: empty field`
  if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset > input.length) {
    return `${e.reason} at ${e.field}: offset ${e.offset} outside [0, ${input.length}]`
  }
  if (typeof e.message !== "string" || e.message.length === 0) return "error without a message"
  return undefined
}

/** Runs `decodeProblem` over many inputs and reports the first few problems with their inputs. */
const problemsOf = (inputs: Iterable<readonly [label: string, input: Uint8Array]>): Array<string> => {
  const problems: Array<string> = []
  for (const [label, input] of inputs) {
    const p = decodeProblem(input)
    if (p !== undefined && problems.length < 5) problems.push(`${label}: ${p}`)
  }
  return problems
}

/** mulberry32: a tiny seeded PRNG of 32-bit words, so the bulk fuzz loops are reproducible and cheap. */
const prng = (seed: number) => {
  let s = seed >>> 0
  return (): number => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

/** An integer in [0, n) from a 32-bit word. */
const below = (word: number, n: number) => Math.floor((word / 4294967296) * n)

/** Fills `b` with random bytes, four per PRNG word. */
const fillRandom = (b: Uint8Array, next: () => number) => {
  for (let j = 0; j < b.length; j += 4) {
    const w = next()
    b[j] = w
    b[j + 1] = w >>> 8
    b[j + 2] = w >>> 16
    b[j + 3] = w >>> 24
  }
}

const setU16 = (b: Uint8Array, o: number, x: number) => {
  b[o] = x & 0xff
  b[o + 1] = (x >>> 8) & 0xff
}
const getU16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8)
const withU16 = (b: Uint8Array, o: number, x: number) => {
  const c = Uint8Array.from(b)
  setU16(c, o, x)
  return c
}
const withU8 = (b: Uint8Array, o: number, x: number) => {
  const c = Uint8Array.from(b)
  c[o] = x
  return c
}

// ---------------------------------------------------------------------------------------------------

describe("round trips", () => {
  it("encode → decode gives back equal fields, for every message kind", () => {
    fc.assert(
      fc.property(message, (m) => {
        const r = Codec.decode(encodeOk(m))
        expect(Result.isSuccess(r) && r.success).toEqual(m)
      }),
      { numRuns: 1500 }
    )
  })

  it("decode → encode gives back the same bytes; encodeInto, encodedLength and encode agree", () => {
    const out = new Uint8Array(Constants.MAX_MSG_LEN + 7)
    fc.assert(
      fc.property(message, (m) => {
        const bytes = encodeOk(m)
        expect(bytes.length).toBeLessThanOrEqual(Constants.MAX_MSG_LEN)
        expect(Codec.encodedLength(m)).toEqual(Result.succeed(bytes.length))
        expect(Codec.encodeInto(m, out)).toEqual(Result.succeed(bytes.length))
        expect(sameBytes(out.subarray(0, bytes.length), bytes)).toBe(true)
        const decoded = Codec.decode(bytes)
        if (Result.isFailure(decoded)) throw new Error(decoded.failure.message)
        expect(sameBytes(encodeOk(decoded.success), bytes)).toBe(true)
      }),
      { numRuns: 1500 }
    )
  })

  it("an entry record (encodeEntry/decodeEntry) round-trips and is a PUT without its 3-byte header", () => {
    fc.assert(
      fc.property(entry, (e) => {
        const record = Codec.encodeEntry(e)
        if (Result.isFailure(record)) throw new Error(record.failure.message)
        expect(sameBytes(record.success, encodeOk({ _tag: "Put", entry: e }).subarray(3))).toBe(true)
        const back = Codec.decodeEntry(record.success)
        expect(Result.isSuccess(back) && back.success).toEqual(e)
      }),
      { numRuns: 500 }
    )
  })

  it("Message.validate accepts every generated message and every decoded one", () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(Result.isSuccess(Message.validate(m))).toBe(true)
        const decoded = Codec.decode(encodeOk(m))
        expect(Result.isSuccess(decoded) && Result.isSuccess(Message.validate(decoded.success))).toBe(true)
      }),
      { numRuns: 500 }
    )
  })

  it("a PUT with key + value of exactly 1224 bytes is 1424 bytes and round-trips", () => {
    fc.assert(
      fc.property(entry, lengthUpTo(Constants.MAX_KEY_LEN), (e, keyLen) => {
        const full = {
          ...e,
          dat: {
            ...e.dat,
            key: new Uint8Array(keyLen).fill(1),
            value: new Uint8Array(Constants.MAX_KEY_VALUE_LEN - keyLen).fill(2)
          }
        }
        const bytes = encodeOk({ _tag: "Put", entry: full })
        expect(bytes.length).toBe(Constants.MAX_MSG_LEN)
        expect(decodeProblem(bytes)).toBeUndefined()
      }),
      { numRuns: 50 }
    )
  })
})

describe("decode is total", () => {
  it("10⁵ seeded random inputs of 0..1500 bytes: a message or a well-formed DecodeError, never a throw", () => {
    const next = prng(0x5eed)
    const inputs = function* (): Generator<readonly [string, Uint8Array]> {
      for (let i = 0; i < 100_000; i++) {
        const b = new Uint8Array(below(next(), 1501))
        fillRandom(b, next)
        // Most inputs start with a defined op (0..7) or the first undefined one, so they reach the message parsers.
        if (b.length > 0 && below(next(), 10) < 9) b[0] = below(next(), 9)
        yield [`random #${i} (${b.length} B)`, b]
      }
    }
    expect(problemsOf(inputs())).toEqual([])
  }, 30_000)

  it("5·10⁴ seeded mutations of valid messages (byte edits, cuts, extensions) decode totally", () => {
    const next = prng(0xc0dec)
    const samples = fc.sample(message, { numRuns: 500, seed: 0xc0dec }).map(encodeOk)
    const inputs = function* (): Generator<readonly [string, Uint8Array]> {
      for (let i = 0; i < 50_000; i++) {
        const base = samples[i % samples.length]!
        const cut = below(next(), 10) < 3 ? below(next(), base.length + 1) : base.length
        const extra = below(next(), 10) < 3 ? below(next(), 40) : 0
        const b = new Uint8Array(cut + extra)
        fillRandom(b, next)
        b.set(base.subarray(0, cut))
        const edits = below(next(), 4)
        for (let k = 0; k < edits && b.length > 0; k++) b[below(next(), b.length)] = next()
        yield [`mutation #${i} (${b.length} B)`, b]
      }
    }
    expect(problemsOf(inputs())).toEqual([])
  }, 30_000)

  it("fast-check: arbitrary bytes up to 1500, and a valid op followed by arbitrary bytes", () => {
    const withOp = fc
      .tuple(fc.integer({ min: 0, max: 8 }), fc.uint8Array({ maxLength: 1499 }))
      .map(([op, rest]) => Uint8Array.from([op, ...rest]))
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 1500 }), withOp), (b) => {
        expect(decodeProblem(b)).toBeUndefined()
      }),
      { numRuns: 3000 }
    )
  })

  it("every truncation of every generated message is a well-formed DecodeError", () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = encodeOk(m)
        const cuts = function* (): Generator<readonly [string, Uint8Array]> {
          for (let n = 0; n < bytes.length; n++) yield [`${m._tag} cut to ${n}`, bytes.subarray(0, n)]
        }
        expect(problemsOf(cuts())).toEqual([])
        let accepted = 0
        for (let n = 0; n < bytes.length; n++) if (Result.isSuccess(Codec.decode(bytes.subarray(0, n)))) accepted++
        expect(accepted).toBe(0)
      }),
      { numRuns: 150 }
    )
  })

  it("every single-bit flip of every vector decodes totally; an accepted flip re-encodes to itself", () => {
    const inputs = function* (): Generator<readonly [string, Uint8Array]> {
      for (const [name, v] of Object.entries(V.all)) {
        for (let bit = 0; bit < v.length * 8; bit++) {
          const b = Uint8Array.from(v)
          b[bit >>> 3]! ^= 1 << (bit & 7)
          yield [`${name} bit ${bit}`, b]
        }
      }
    }
    expect(problemsOf(inputs())).toEqual([])
    // Flipping a bit of a length field must never be accepted: lengths are strict.
    for (const bit of [8, 15, 16, 23]) {
      const b = Uint8Array.from(V.put)
      b[bit >>> 3]! ^= 1 << (bit & 7)
      expect(Result.isFailure(Codec.decode(b)), `put entryLen bit ${bit}`).toBe(true)
    }
  })

  it("decoding a view at an offset into a larger buffer reads only the view", () => {
    fc.assert(
      fc.property(message, fc.integer({ min: 1, max: 64 }), (m, offset) => {
        const bytes = encodeOk(m)
        // Guard bytes on both sides: a read outside the view would show up as a changed field.
        const big = new Uint8Array(offset + bytes.length + 64).fill(0xee)
        big.set(bytes, offset)
        const inView = Codec.decode(big.subarray(offset, offset + bytes.length))
        expect(Result.isSuccess(inView) && inView.success).toEqual(m)
        const inBuffer = Codec.decode(Buffer.from(big.buffer, offset, bytes.length))
        expect(Result.isSuccess(inBuffer) && inBuffer.success).toEqual(m)
      }),
      { numRuns: 300 }
    )
  })

  it("inputs longer than 1424 bytes are TooLong, whatever their content", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: Constants.MAX_MSG_LEN + 1, maxLength: 3000 }), (b) => {
        const r = Codec.decode(b)
        expect(Result.isFailure(r) && r.failure.reason).toBe("TooLong")
      }),
      { numRuns: 200 }
    )
  })
})

describe("Message.validate and the encoder agree on field sizes", () => {
  // Messages whose every size sits on or next to its limit: each field may be one byte short or long,
  // numbers one past their range, lists one element too many or too few.
  const near = (size: number) => fc.integer({ min: Math.max(0, size - 1), max: size + 1 }).chain(bytes)
  const nearMax = (max: number) => withEdges([max, max + 1], fc.integer({ min: 0, max: max + 1 }))
  const sloppyU64 = withEdges([-1n, 0n, U64_MAX, U64_MAX + 1n], fc.bigInt(-1n, U64_MAX + 1n))
  const sloppyI64 = withEdges([I64_MIN - 1n, I64_MIN, I64_MAX, I64_MAX + 1n], fc.bigInt(I64_MIN - 1n, I64_MAX + 1n))
  const sloppyPort = fc.oneof(fc.constantFrom(-1, 0, 0xffff, 0x10000, 1.5), fc.integer({ min: 0, max: 0xffff }))
  const sloppyAddr = fc.record({ ip: near(Constants.IP_LEN), port: sloppyPort })
  const sloppyDat = fc
    .record({
      time: sloppyU64,
      salt: near(16),
      work: near(32),
      sig: near(64),
      pubKey: near(32),
      keyLen: nearMax(Constants.MAX_KEY_LEN)
    })
    .chain(({ keyLen, ...rest }) =>
      nearMax(Math.max(0, Constants.MAX_KEY_VALUE_LEN - keyLen)).map((valueLen) => ({
        ...rest,
        key: new Uint8Array(keyLen),
        value: new Uint8Array(valueLen)
      }))
    )
  const sloppyEntry = fc.record({
    replicas: fc.array(sloppyU64, { minLength: Constants.FANOUT - 1, maxLength: Constants.FANOUT + 1 }),
    dat: sloppyDat
  })
  const sloppy: fc.Arbitrary<Message.Message> = fc.oneof(
    fc.record({ _tag: fc.constant("Ping" as const), challenge: near(32), used: sloppyI64, capacity: sloppyI64 }),
    fc.record({
      _tag: fc.constant("Pong" as const),
      addrs: fc.array(sloppyAddr, { maxLength: Constants.NPEER_LIMIT + 1 }),
      challenge: near(32),
      salt: near(16),
      pubKey: near(32),
      sig: near(64)
    }),
    fc.record({ _tag: fc.constantFrom("Put" as const, "GetAck" as const), entry: sloppyEntry }),
    fc.record({ _tag: fc.constant("Get" as const), pubKey: near(32), key: nearMax(255).map((n) => new Uint8Array(n)) }),
    fc.record({ _tag: fc.constant("GetMyAddrPortAck" as const), addr: sloppyAddr })
  )

  it("validate accepts exactly the messages encode accepts", () => {
    const seen = { valid: 0, invalid: 0 }
    fc.assert(
      fc.property(sloppy, (m) => {
        const valid = Result.isSuccess(Message.validate(m))
        expect(Result.isSuccess(Codec.encode(m))).toBe(valid)
        seen[valid ? "valid" : "invalid"]++
      }),
      { numRuns: 1500 }
    )
    // Both sides of the agreement were exercised.
    expect(seen.valid).toBeGreaterThan(20)
    expect(seen.invalid).toBeGreaterThan(20)
  })

  it("validate rejects each wrong size of each field", () => {
    const z = (n: number) => new Uint8Array(n)
    const okDat = { time: 1n, salt: z(16), work: z(32), sig: z(64), pubKey: z(32), key: z(5), value: z(5) }
    const okEntry = { replicas: [0n, 0n, 0n, 0n, 0n], dat: okDat }
    const okAddr = { ip: z(16), port: 1 }
    const okPong = { _tag: "Pong", addrs: [okAddr], challenge: z(32), salt: z(16), pubKey: z(32), sig: z(64) } as const
    const okPing = { _tag: "Ping", challenge: z(32), used: 0n, capacity: 0n } as const
    const cases: ReadonlyArray<readonly [string, unknown]> = [
      ["ping challenge 31", { ...okPing, challenge: z(31) }],
      ["ping challenge 33", { ...okPing, challenge: z(33) }],
      ["ping used over i64", { ...okPing, used: I64_MAX + 1n }],
      ["ping capacity under i64", { ...okPing, capacity: I64_MIN - 1n }],
      ["ping used as number", { ...okPing, used: 1 }],
      ["pong 13 addresses", { ...okPong, addrs: Array(13).fill(okAddr) }],
      ["pong ip 15", { ...okPong, addrs: [{ ip: z(15), port: 1 }] }],
      ["pong port 65536", { ...okPong, addrs: [{ ip: z(16), port: 0x10000 }] }],
      ["pong port -1", { ...okPong, addrs: [{ ip: z(16), port: -1 }] }],
      ["pong port 1.5", { ...okPong, addrs: [{ ip: z(16), port: 1.5 }] }],
      ["pong salt 17", { ...okPong, salt: z(17) }],
      ["pong sig 63", { ...okPong, sig: z(63) }],
      ["pong pubKey 33", { ...okPong, pubKey: z(33) }],
      ["put 4 replicas", { _tag: "Put", entry: { ...okEntry, replicas: [0n, 0n, 0n, 0n] } }],
      ["put 6 replicas", { _tag: "Put", entry: { ...okEntry, replicas: [0n, 0n, 0n, 0n, 0n, 0n] } }],
      ["put replica -1", { _tag: "Put", entry: { ...okEntry, replicas: [0n, 0n, -1n, 0n, 0n] } }],
      ["put replica 2^64", { _tag: "Put", entry: { ...okEntry, replicas: [0n, 0n, 1n << 64n, 0n, 0n] } }],
      ["put time -1", { _tag: "Put", entry: { ...okEntry, dat: { ...okDat, time: -1n } } }],
      ["put time 2^64", { _tag: "Put", entry: { ...okEntry, dat: { ...okDat, time: 1n << 64n } } }],
      ["put salt 15", { _tag: "Put", entry: { ...okEntry, dat: { ...okDat, salt: z(15) } } }],
      ["put work 33", { _tag: "Put", entry: { ...okEntry, dat: { ...okDat, work: z(33) } } }],
      ["put sig 65", { _tag: "Put", entry: { ...okEntry, dat: { ...okDat, sig: z(65) } } }],
      ["put pubKey 31", { _tag: "Put", entry: { ...okEntry, dat: { ...okDat, pubKey: z(31) } } }],
      ["put key 256", { _tag: "Put", entry: { ...okEntry, dat: { ...okDat, key: z(256), value: z(0) } } }],
      ["put value 1225", { _tag: "Put", entry: { ...okEntry, dat: { ...okDat, key: z(0), value: z(1225) } } }],
      [
        "get-ack key+value 1225",
        { _tag: "GetAck", entry: { ...okEntry, dat: { ...okDat, key: z(255), value: z(970) } } }
      ],
      ["get pubKey 31", { _tag: "Get", pubKey: z(31), key: z(1) }],
      ["get key 256", { _tag: "Get", pubKey: z(32), key: z(256) }],
      ["ack ip 17", { _tag: "GetMyAddrPortAck", addr: { ip: z(17), port: 1 } }],
      ["unknown tag", { _tag: "PutAck" }],
      ["bytes as an array", { ...okPing, challenge: Array(32).fill(0) }]
    ]
    for (const [name, m] of cases) expect(Result.isFailure(Message.validate(m)), name).toBe(true)
    for (const m of [okPing, okPong, { _tag: "Put", entry: okEntry }, { _tag: "GetMyAddrPortAck", addr: okAddr }]) {
      expect(Result.isSuccess(Message.validate(m)), m._tag).toBe(true)
    }
  })
})

describe("hostile length fields on valid headers", () => {
  const failure = (b: Uint8Array) => {
    const r = Codec.decode(b)
    expect(decodeProblem(b)).toBeUndefined()
    if (Result.isSuccess(r)) throw new Error(`accepted a hostile length: ${r.success._tag}`)
    return r.failure
  }

  // A PUT with a 255-byte key and the largest value it allows: every length field at its extreme.
  const maxPut = encodeOk({
    _tag: "Put",
    entry: {
      replicas: [1n, 2n, 3n, 4n, 5n],
      dat: {
        time: 1n,
        salt: V.datSalt,
        work: V.datWork,
        sig: V.datSig,
        pubKey: V.publicKey,
        key: new Uint8Array(255).fill(7),
        value: new Uint8Array(Constants.MAX_KEY_VALUE_LEN - 255).fill(9)
      }
    }
  })
  const entryMessages: ReadonlyArray<readonly [string, Uint8Array]> = [
    ["vector PUT", V.put],
    ["vector not-found GET_ACK", V.notFound],
    ["1424-byte PUT", maxPut]
  ]

  for (const [name, msg] of entryMessages) {
    const n = msg.length
    const entryLen = getU16(msg, 1)
    const datLen = getU16(msg, 43)
    const keyLenAt = 3 + 42 + 152
    const keyLen = msg[keyLenAt]!
    const valueLenAt = keyLenAt + 1 + keyLen
    const valueLen = getU16(msg, valueLenAt)

    it(`${name}: the entry length at 0, 1, max and off by one`, () => {
      expect(entryLen).toBe(n - 3)
      expect(failure(withU16(msg, 1, 0))).toMatchObject({ reason: "BadLength", field: "entryLen", offset: 1 })
      expect(failure(withU16(msg, 1, 1))).toMatchObject({ reason: "TrailingBytes", offset: 4 })
      expect(failure(withU16(msg, 1, 0xffff))).toMatchObject({ reason: "Truncated", field: "entry", offset: 3 })
      expect(failure(withU16(msg, 1, entryLen + 1))).toMatchObject({ reason: "Truncated", field: "entry" })
      expect(failure(withU16(msg, 1, entryLen - 1))).toMatchObject({ reason: "TrailingBytes", offset: n - 1 })
    })

    it(`${name}: the dat length at 0, 1, max and off by one`, () => {
      expect(datLen).toBe(n - 45)
      expect(failure(withU16(msg, 43, 0))).toMatchObject({ reason: "BadLength", field: "datLen", offset: 43 })
      expect(failure(withU16(msg, 43, 1))).toMatchObject({ reason: "TrailingBytes", offset: 46 })
      expect(failure(withU16(msg, 43, 0xffff))).toMatchObject({ reason: "Truncated", field: "dat", offset: 45 })
      expect(failure(withU16(msg, 43, datLen + 1))).toMatchObject({ reason: "Truncated", field: "dat" })
      expect(failure(withU16(msg, 43, datLen - 1))).toMatchObject({ reason: "TrailingBytes", offset: n - 1 })
    })

    it(`${name}: the key length at 0, 1, max and off by one`, () => {
      for (const k of new Set([0, 1, 255, keyLen + 1, keyLen - 1].filter((k) => k >= 0 && k <= 255 && k !== keyLen))) {
        const e = failure(withU8(msg, keyLenAt, k))
        expect(["Truncated", "TrailingBytes"], `key length ${k}`).toContain(e.reason)
      }
    })

    it(`${name}: the value length at 0, 1, max and off by one`, () => {
      const valueAt = valueLenAt + 2
      for (const v of new Set([0, 1, 0xffff, valueLen + 1, valueLen - 1].filter((v) => v >= 0 && v !== valueLen))) {
        expect(failure(withU16(msg, valueLenAt, v)), `value length ${v}`).toMatchObject(
          v > valueLen
            ? { reason: "Truncated", field: "dat.value", offset: valueAt }
            : { reason: "TrailingBytes", offset: valueAt + v }
        )
      }
    })

    it(`${name}: every length agreeing with a dat shorter than its 155-byte header fails inside the dat`, () => {
      for (let d = 1; d < Constants.DAT_HEADER_LEN; d++) {
        const b = msg.slice(0, 45 + d)
        setU16(b, 1, 42 + d)
        setU16(b, 43, d)
        const e = failure(b)
        expect(e.reason, `dat of ${d} bytes`).toBe("Truncated")
        expect(e.field.startsWith("dat."), `dat of ${d} bytes: ${e.field}`).toBe(true)
      }
    })
  }

  it("a PUT whose entry and dat lengths claim the bytes a 1424-byte datagram could add", () => {
    for (const claimed of [Constants.MAX_ENTRY_LEN, Constants.MAX_ENTRY_LEN + 1, 0xffff]) {
      const b = new Uint8Array(Math.min(3 + claimed, Constants.MAX_MSG_LEN + 1))
      b.set(V.put)
      setU16(b, 1, claimed)
      setU16(b, 43, claimed - 42)
      const e = failure(b)
      expect(["Truncated", "TrailingBytes", "TooLong"]).toContain(e.reason)
    }
  })

  it("GET: the key length at 0, 1, max and off by one", () => {
    expect(failure(withU8(V.get, 33, 0))).toMatchObject({ reason: "TrailingBytes", offset: 34 })
    expect(failure(withU8(V.get, 33, 1))).toMatchObject({ reason: "TrailingBytes", offset: 35 })
    expect(failure(withU8(V.get, 33, 4))).toMatchObject({ reason: "TrailingBytes", offset: 38 })
    expect(failure(withU8(V.get, 33, 6))).toMatchObject({ reason: "Truncated", field: "key", offset: 34 })
    expect(failure(withU8(V.get, 33, 255))).toMatchObject({ reason: "Truncated", field: "key", offset: 34 })
  })

  it("PONG: the address length at 0, 1, max, off by one and off by one address", () => {
    const a = V.pong[1]!
    expect(a).toBe(36)
    for (const x of [1, a - 1, a + 1, 255, 253]) {
      expect(failure(withU8(V.pong, 1, x)), `addrLen ${x}`).toMatchObject({ reason: "BadLength", field: "addrLen" })
    }
    expect(failure(withU8(V.pong, 1, 0))).toMatchObject({ reason: "TrailingBytes", offset: 146 })
    expect(failure(withU8(V.pong, 1, a - 18))).toMatchObject({ reason: "TrailingBytes", offset: 164 })
    expect(failure(withU8(V.pong, 1, a + 18))).toMatchObject({ reason: "Truncated", field: "sig" })
    expect(failure(withU8(V.pong, 1, 12 * 18))).toMatchObject({ reason: "Truncated" })
    for (const x of [13 * 18, 14 * 18]) {
      expect(failure(withU8(V.pong, 1, x))).toMatchObject({ reason: "TooManyAddrs", field: "addrLen" })
    }
  })

  it("fast-check: any value in any length field of a generated PUT, GET_ACK, GET or PONG decodes totally", () => {
    const lengthField = fc.oneof(
      fc.record({
        m: put,
        at: fc.constantFrom("entry", "dat", "key", "value"),
        x: fc.integer({ min: 0, max: 0xffff })
      }),
      fc.record({
        m: getAck,
        at: fc.constantFrom("entry", "dat", "key", "value"),
        x: fc.integer({ min: 0, max: 0xffff })
      }),
      fc.record({ m: get, at: fc.constant("getKey"), x: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ m: pong, at: fc.constant("addrs"), x: fc.integer({ min: 0, max: 255 }) })
    )
    fc.assert(
      fc.property(lengthField, ({ m, at, x }) => {
        const b = encodeOk(m)
        const keyLenAt = 3 + 42 + 152
        const original = Uint8Array.from(b)
        if (at === "entry") setU16(b, 1, x)
        else if (at === "dat") setU16(b, 43, x)
        else if (at === "key") b[keyLenAt] = x & 0xff
        else if (at === "value") setU16(b, keyLenAt + 1 + b[keyLenAt]!, x)
        else if (at === "getKey") b[33] = x
        else b[1] = x
        expect(decodeProblem(b)).toBeUndefined()
        // Lengths are strict: a changed length field is refused. (A changed key length may by chance
        // meet a value length that agrees with the rest; that is a valid message, not a defect.)
        if (at !== "key" && !sameBytes(b, original)) expect(Result.isFailure(Codec.decode(b))).toBe(true)
      }),
      { numRuns: 2000 }
    )
  })
})
