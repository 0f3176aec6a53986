import { Codec, type Message } from "@dave/protocol"
import { Result } from "effect"
import { type MicroRow, ratePerSecond, row } from "./MicroRow.ts"

/** The codec on the bench's own message sizes: a PUT of a 110-byte value, and a GET. */

const MEASURE_MS = 500

const fill = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff)

const put: Message.Message = {
  _tag: "Put",
  entry: {
    replicas: [1n, 2n, 3n, 4n, 5n],
    dat: {
      time: 1_700_000_000_000n,
      salt: fill(16, 1),
      work: fill(32, 2),
      sig: fill(64, 3),
      pubKey: fill(32, 4),
      key: fill(12, 5),
      value: fill(110, 6)
    }
  }
}
const get: Message.Message = { _tag: "Get", pubKey: fill(32, 4), key: fill(12, 5) }

const encoded = (m: Message.Message): Uint8Array => {
  const r = Codec.encode(m)
  if (Result.isFailure(r)) throw new Error(`cannot encode ${m._tag}: ${r.failure.message}`)
  return r.success
}

export const run = (): Array<MicroRow> => {
  const putBytes = encoded(put)
  const getBytes = encoded(get)
  const decodeOk = (bytes: Uint8Array) => {
    if (Result.isFailure(Codec.decode(bytes))) throw new Error("decode failed")
  }
  return [
    row(
      "codec",
      `PUT encode (${putBytes.length} B)`,
      ratePerSecond(() => Codec.encode(put), MEASURE_MS),
      "/s"
    ),
    row(
      "codec",
      `PUT decode (${putBytes.length} B)`,
      ratePerSecond(() => decodeOk(putBytes), MEASURE_MS),
      "/s"
    ),
    row(
      "codec",
      `GET decode (${getBytes.length} B)`,
      ratePerSecond(() => decodeOk(getBytes), MEASURE_MS),
      "/s"
    )
  ]
}
