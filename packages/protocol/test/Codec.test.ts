import { Address, Codec, Constants, Dat, Message, NodeId } from "@dave/protocol"
import * as V from "@dave/protocol/vectors"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"

const decodeOk = (bytes: Uint8Array): Message.Message => {
  const r = Codec.decode(bytes)
  if (Result.isFailure(r)) throw new Error(`decode failed: ${r.failure.message}`)
  return r.success
}
const encodeOk = (m: Message.Message): Uint8Array => {
  const r = Codec.encode(m)
  if (Result.isFailure(r)) throw new Error(`encode failed: ${r.failure.message}`)
  return r.success
}
const hexOf = (b: Uint8Array) => Buffer.from(b).toString("hex")

const helloDat: Message.Dat = {
  time: V.datTimeMs,
  salt: V.datSalt,
  work: V.datWork,
  sig: V.datSig,
  pubKey: V.publicKey,
  key: V.datKey,
  value: V.datValue
}

describe("wire vectors (PROTOCOL.md 2.7)", () => {
  it("node ID is the LE u64 of the public key's first 8 bytes", () => {
    expect(NodeId.fromPublicKey(V.publicKey)).toBe(V.nodeId)
  })

  it("PUT encodes byte for byte and decodes to the same fields", () => {
    const m: Message.Message = { _tag: "Put", entry: { replicas: [1n, 2n, 3n, 4n, 5n], dat: helloDat } }
    expect(V.put.length).toBe(210)
    expect(hexOf(encodeOk(m))).toBe(hexOf(V.put))
    expect(decodeOk(V.put)).toEqual(m)
  })

  it("GET encodes byte for byte and decodes to the same fields", () => {
    const m: Message.Message = { _tag: "Get", pubKey: V.publicKey, key: V.datKey }
    expect(V.get.length).toBe(39)
    expect(hexOf(encodeOk(m))).toBe(hexOf(V.get))
    expect(decodeOk(V.get)).toEqual(m)
  })

  it("not-found GET_ACK matches the reference and is recognised by its zero signature", () => {
    const m: Message.Message = { _tag: "GetAck", entry: Dat.notFound(V.publicKey, V.notFoundKey) }
    expect(V.notFound.length).toBe(207)
    expect(hexOf(encodeOk(m))).toBe(hexOf(V.notFound))
    const back = decodeOk(V.notFound)
    expect(back).toEqual(m)
    expect(back._tag === "GetAck" && Dat.isNotFound(back.entry.dat)).toBe(true)
    expect(Dat.isNotFound(helloDat)).toBe(false)
  })

  it("PING encodes byte for byte and decodes to the same fields", () => {
    const m: Message.Message = { _tag: "Ping", challenge: V.pingChallenge, used: 234n, capacity: 1n << 30n }
    expect(V.ping.length).toBe(49)
    expect(hexOf(encodeOk(m))).toBe(hexOf(V.ping))
    expect(decodeOk(V.ping)).toEqual(m)
  })

  it("PONG encodes byte for byte and decodes to the same fields", () => {
    const m: Message.Message = {
      _tag: "Pong",
      addrs: [
        { ip: V.loopbackV6, port: 40003 },
        { ip: V.loopbackV4Mapped, port: 40001 }
      ],
      challenge: V.pingChallenge,
      salt: V.pongSalt,
      pubKey: V.publicKey,
      sig: V.pongSig
    }
    expect(V.pong.length).toBe(182)
    expect(hexOf(encodeOk(m))).toBe(hexOf(V.pong))
    expect(decodeOk(V.pong)).toEqual(m)
  })

  it("GETMYADDRPORT and its ACK encode byte for byte and decode to the same fields", () => {
    expect(hexOf(encodeOk({ _tag: "GetMyAddrPort" }))).toBe("06")
    expect(decodeOk(V.getMyAddrPort)).toEqual({ _tag: "GetMyAddrPort" })
    const ack: Message.Message = { _tag: "GetMyAddrPortAck", addr: { ip: V.loopbackV4Mapped, port: 40001 } }
    expect(hexOf(encodeOk(ack))).toBe(hexOf(V.getMyAddrPortAck))
    expect(decodeOk(V.getMyAddrPortAck)).toEqual(ack)
  })

  it("the signed bytes are key ‖ value ‖ time LE", () => {
    expect(hexOf(Dat.signedBytes(V.datKey, V.datValue, V.datTimeMs))).toBe(
      `${hexOf(V.datKey)}${hexOf(V.datValue)}0068e5cf8b010000`
    )
  })
})

describe("decode errors name the field and offset", () => {
  const fails = (bytes: Uint8Array) => {
    const r = Codec.decode(bytes)
    if (Result.isSuccess(r)) throw new Error("expected a decode error")
    return r.failure
  }

  it("an empty datagram", () => {
    expect(fails(new Uint8Array(0))).toMatchObject({ reason: "Empty", offset: 0 })
  })
  it("a datagram longer than 1424 bytes", () => {
    expect(fails(new Uint8Array(1425))).toMatchObject({ reason: "TooLong" })
  })
  it("an unknown op and the reserved PUT_ACK", () => {
    expect(fails(Uint8Array.of(9))).toMatchObject({ reason: "UnknownOp", field: "op" })
    expect(fails(Uint8Array.of(3, 0, 0))).toMatchObject({ reason: "ReservedOp", field: "op" })
  })
  it("a short PING names the cut field", () => {
    expect(fails(V.ping.subarray(0, 40))).toMatchObject({ reason: "Truncated", field: "used", offset: 33 })
    expect(fails(Uint8Array.from([...V.ping, 0]))).toMatchObject({ reason: "TrailingBytes", offset: 49 })
  })
  it("a PONG whose address length is not a multiple of 18 or lists over 12", () => {
    const bad = Uint8Array.from(V.pong)
    bad[1] = 17
    expect(fails(bad)).toMatchObject({ reason: "BadLength", field: "addrLen", offset: 1 })
    bad[1] = 13 * 18
    expect(fails(bad)).toMatchObject({ reason: "TooManyAddrs", field: "addrLen" })
    bad[1] = 12 * 18
    expect(fails(bad)).toMatchObject({ reason: "Truncated", field: "addrs" })
  })
  it("a PUT whose entry length disagrees with the bytes present", () => {
    const bad = Uint8Array.from(V.put)
    bad[1] = 0
    bad[2] = 0
    expect(fails(bad)).toMatchObject({ reason: "BadLength", field: "entryLen", offset: 1 })
    bad[1] = 0xd0
    expect(fails(bad)).toMatchObject({ reason: "Truncated", field: "entry" })
    bad[1] = 0xce
    expect(fails(bad)).toMatchObject({ reason: "TrailingBytes", offset: 209 })
  })
  it("a PUT whose value length overruns", () => {
    const bad = Uint8Array.from(V.put)
    bad[204] = 6
    expect(fails(bad)).toMatchObject({ reason: "Truncated", field: "dat.value", offset: 205 })
  })
  it("every truncation of every vector is a typed error, never a throw", () => {
    for (const [name, v] of Object.entries(V.all)) {
      for (let n = 0; n < v.length; n++) {
        const r = Codec.decode(v.subarray(0, n))
        expect(Result.isFailure(r), `${name} cut to ${n}`).toBe(true)
      }
    }
  })
})

describe("encode errors", () => {
  it("refuses a key + value over 1224 bytes and accepts exactly 1224", () => {
    const dat = { ...helloDat, key: new Uint8Array(24), value: new Uint8Array(1200) }
    const ok = Codec.encode({ _tag: "Put", entry: { replicas: [0n, 0n, 0n, 0n, 0n], dat } })
    expect(Result.isSuccess(ok) && ok.success.length).toBe(Constants.MAX_MSG_LEN)
    const big = Codec.encode({
      _tag: "Put",
      entry: { replicas: [0n, 0n, 0n, 0n, 0n], dat: { ...dat, value: new Uint8Array(1201) } }
    })
    expect(Result.isFailure(big) && big.failure.reason).toBe("ValueTooLong")
  })
  it("refuses wrong field sizes, too many addresses and bad ports", () => {
    const r1 = Codec.encode({ _tag: "Get", pubKey: new Uint8Array(31), key: V.datKey })
    expect(Result.isFailure(r1) && r1.failure.field).toBe("pubKey")
    const addr = { ip: V.loopbackV6, port: 1 }
    const pong = {
      _tag: "Pong",
      addrs: Array(13).fill(addr),
      challenge: V.pingChallenge,
      salt: V.pongSalt,
      pubKey: V.publicKey,
      sig: V.pongSig
    } as const
    const r2 = Codec.encode(pong)
    expect(Result.isFailure(r2) && r2.failure.reason).toBe("TooManyAddrs")
    const r3 = Codec.encode({ _tag: "GetMyAddrPortAck", addr: { ip: V.loopbackV6, port: 70000 } })
    expect(Result.isFailure(r3) && r3.failure.reason).toBe("OutOfRange")
  })
})

describe("Address", () => {
  it("maps IPv4 into ::ffff: form and prints both forms", () => {
    const a = Address.parse("127.0.0.1:40001")!
    expect(hexOf(a.ip)).toBe(hexOf(V.loopbackV4Mapped))
    expect(Address.toString(a)).toBe("[::ffff:127.0.0.1]:40001")
    expect(Address.ipToString(a.ip)).toBe("127.0.0.1")
    const b = Address.parse("[::1]:40003")!
    expect(hexOf(b.ip)).toBe(hexOf(V.loopbackV6))
    expect(Address.toString(b)).toBe("[::1]:40003")
    expect(Address.equals(a, Address.parse("[::ffff:127.0.0.1]:40001")!)).toBe(true)
  })
  it("rejects malformed addresses", () => {
    for (const s of ["", "1.2.3.4", "::1:5", "[::1]:70000", "[::1]:x", "300.1.1.1:5", "[zz]:1"]) {
      expect(Address.parse(s), s).toBeUndefined()
    }
  })
})

describe("regressions found in review", () => {
  const record = (keyLen: number, valueLen: number) => {
    // An entry record built by hand, lengths consistent, bypassing the encoder's size checks.
    const datLen = Constants.DAT_HEADER_LEN + keyLen + valueLen
    const b = new Uint8Array(42 + datLen)
    b[40] = datLen & 0xff
    b[41] = datLen >>> 8
    b[42 + 152] = keyLen
    b[42 + 153 + keyLen] = valueLen & 0xff
    b[42 + 154 + keyLen] = valueLen >>> 8
    return b
  }

  it("decodeEntry refuses a record larger than any PUT, so every decoded entry encodes again", () => {
    const largest = Codec.decodeEntry(record(255, Constants.MAX_KEY_VALUE_LEN - 255))
    expect(Result.isSuccess(largest)).toBe(true)
    if (Result.isSuccess(largest)) expect(Result.isSuccess(Codec.encodeEntry(largest.success))).toBe(true)
    for (const [k, v] of [
      [255, Constants.MAX_KEY_VALUE_LEN - 254],
      [255, 60_000]
    ] as const) {
      const r = Codec.decodeEntry(record(k, v))
      expect(Result.isFailure(r) && r.failure).toMatchObject({
        reason: "TooLong",
        field: "entry",
        offset: Constants.MAX_ENTRY_LEN
      })
    }
  })

  it("Message.validate refuses key + value over 1224 bytes, as encode does", () => {
    const put = (key: number, value: number): Message.Message => ({
      _tag: "Put",
      entry: {
        replicas: [0n, 0n, 0n, 0n, 0n],
        dat: { ...helloDat, key: new Uint8Array(key), value: new Uint8Array(value) }
      }
    })
    expect(Result.isSuccess(Message.validate(put(255, 969)))).toBe(true)
    expect(Result.isSuccess(Codec.encode(put(255, 969)))).toBe(true)
    expect(Result.isFailure(Message.validate(put(255, 970)))).toBe(true)
    expect(Result.isFailure(Codec.encode(put(255, 970)))).toBe(true)
  })

  it("Address.parse takes only dotted-quad IPv4, not the legacy forms (octal 010 would be 8)", () => {
    for (const s of [
      "010.0.0.1:5",
      "127.1:5",
      "0x7f.0.0.1:5",
      "1:5",
      "4294967295:5",
      "[1.2.3.4]:5",
      "1.2.3.4%eth0:5"
    ]) {
      expect(Address.parse(s), s).toBeUndefined()
    }
    expect(Address.parse("[::ffff:010.0.0.1]:5")).toBeUndefined()
    expect(Address.parseIp("0x7f.0.0.1")).toBeUndefined()
    expect(Address.toString(Address.parse("10.0.0.1:5")!)).toBe("[::ffff:10.0.0.1]:5")
    expect(Address.equals(Address.parse("10.0.0.1:5")!, Address.parse("[::ffff:10.0.0.1]:5")!)).toBe(true)
    expect(Address.toString(Address.parse("[fe80::1%eth0]:7")!)).toBe("[fe80::1]:7")
  })

  it("printing an address with an IP of the wrong length does not throw", () => {
    expect(Address.ipToString(Uint8Array.of(1, 2, 3, 4))).toBe("invalid-ip:01020304")
    expect(Address.toString({ ip: new Uint8Array(17), port: 9 })).toBe(`[invalid-ip:${"00".repeat(17)}]:9`)
  })

  it("encode refuses a value built around the types instead of throwing", () => {
    const r = Codec.encode({ _tag: "PutAck" } as unknown as Message.Message)
    expect(Result.isFailure(r) && r.failure.field).toBe("_tag")
    const bigTime = Codec.encode({
      _tag: "Put",
      entry: { replicas: [0n, 0n, 0n, 0n, 0n], dat: { ...helloDat, time: 1 as unknown as bigint } }
    })
    expect(Result.isFailure(bigTime) && bigTime.failure).toMatchObject({ reason: "OutOfRange", field: "dat.time" })
    const replica = Codec.encode({ _tag: "Put", entry: { replicas: [0n, 0n, 1n << 64n, 0n, 0n], dat: helloDat } })
    expect(Result.isFailure(replica) && replica.failure).toMatchObject({ reason: "OutOfRange", field: "replicas[2]" })
  })

  it("decoding a Buffer gives plain Uint8Array views into it", () => {
    const m = decodeOk(Buffer.from(V.put))
    expect(m._tag === "Put" && m.entry.dat.value.constructor).toBe(Uint8Array)
    expect(m).toEqual({ _tag: "Put", entry: { replicas: [1n, 2n, 3n, 4n, 5n], dat: helloDat } })
  })
})
