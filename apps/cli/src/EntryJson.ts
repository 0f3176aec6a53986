import { DaveClient } from "@dave/client"
import type { Entry } from "@dave/protocol"

/**
 * A verified entry as `dave get --json` prints it: byte fields in hex, node IDs and the u64 time as
 * decimal strings (JSON numbers lose precision past 2^53), the value also as text when it is UTF-8.
 */
export interface EntryJson {
  readonly author: string
  readonly key: string
  /** The value as UTF-8 text, or null when it is not valid UTF-8 (see valueHex). */
  readonly value: string | null
  readonly valueHex: string
  readonly time: string
  readonly timeIso: string
  readonly workBits: number
  readonly salt: string
  readonly work: string
  readonly sig: string
  readonly replicas: ReadonlyArray<string>
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")
const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

const textOf = (bytes: Uint8Array): string | null => {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return null
  }
}

const isoOf = (timeMs: bigint): string => {
  const ms = Number(timeMs)
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : "invalid"
}

export const fromEntry = (entry: Entry): EntryJson => ({
  author: hex(entry.dat.pubKey),
  key: textOf(entry.dat.key) ?? hex(entry.dat.key),
  value: textOf(entry.dat.value),
  valueHex: hex(entry.dat.value),
  time: entry.dat.time.toString(),
  timeIso: isoOf(entry.dat.time),
  workBits: DaveClient.workBits(entry),
  salt: hex(entry.dat.salt),
  work: hex(entry.dat.work),
  sig: hex(entry.dat.sig),
  replicas: entry.replicas.map((id) => id.toString())
})
