import * as Dgram from "node:dgram"
import * as Net from "node:net"
import { Effect } from "effect"
import type { PeerJson, StatusJson } from "../../src/AdminApi.js"
import type { HealthReport } from "../../src/Health.js"

/** The test's side of the admin API: plain fetch, a strict Prometheus text parser, polling, free ports. */

export interface HttpReply {
  readonly status: number
  readonly contentType: string
  readonly text: string
}

export const get = (admin: string, path: string): Effect.Effect<HttpReply, Error> =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(`http://${admin}${path}`, { signal: AbortSignal.timeout(5_000) })
      return {
        status: response.status,
        contentType: response.headers.get("content-type") ?? "",
        text: await response.text()
      }
    },
    catch: (e) => new Error(`GET ${path} from ${admin} failed: ${String(e)}`)
  })

export const getJson = <A = unknown>(admin: string, path: string): Effect.Effect<{ status: number; body: A }, Error> =>
  Effect.flatMap(get(admin, path), (r) =>
    Effect.try({
      try: () => ({ status: r.status, body: JSON.parse(r.text) as A }),
      catch: () => new Error(`GET ${path}: not JSON: ${r.text.slice(0, 200)}`)
    })
  )

export const getStatus = (admin: string) => getJson<StatusJson>(admin, "/status")
export const getPeers = (admin: string) => getJson<{ peers: Array<PeerJson> }>(admin, "/peers")
export const getHealth = (admin: string) => getJson<HealthReport>(admin, "/health")

/** Retries `probe` every `everyMs` until it returns a value (not undefined), or fails after `timeoutMs`. */
export const poll = <A>(
  what: string,
  probe: Effect.Effect<A | undefined, Error>,
  timeoutMs: number,
  everyMs = 100
): Effect.Effect<A, Error> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const value = yield* probe.pipe(Effect.orElseSucceed(() => undefined))
      if (value !== undefined) return value
      yield* Effect.sleep(everyMs)
    }
    return yield* Effect.fail(new Error(`${what}: not within ${timeoutMs} ms`))
  })

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Family {
  readonly name: string
  readonly type: string
  readonly help: string
  readonly samples: Array<Sample>
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*"
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`)
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"])
const SUFFIXES: Record<string, ReadonlyArray<string>> = {
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["", "_sum", "_count"]
}

const parseLabels = (text: string, line: string): Record<string, string> => {
  const labels: Record<string, string> = {}
  let rest = text
  for (let i = 0; rest.length > 0 && i < 64; i++) {
    const m = LABEL.exec(rest)
    if (m === null) throw new Error(`bad labels in: ${line}`)
    if (m[1]! in labels) throw new Error(`duplicate label ${m[1]} in: ${line}`)
    labels[m[1]!] = m[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\")
    rest = rest.slice(m[0].length)
  }
  if (rest.length > 0) throw new Error(`too many labels in: ${line}`)
  return labels
}

const parseValue = (text: string, line: string): number => {
  if (text === "+Inf") return Infinity
  if (text === "-Inf") return -Infinity
  if (text === "NaN") return NaN
  const n = Number(text)
  if (!/^-?[0-9.]+(e[+-]?[0-9]+)?$/i.test(text) || Number.isNaN(n)) throw new Error(`bad value in: ${line}`)
  return n
}

/**
 * Parses Prometheus text exposition 0.0.4 strictly: every line a HELP, a TYPE or a sample; a
 * family's TYPE before its samples and given once; sample names that belong to the family of the
 * last TYPE (with the histogram/summary suffixes); no repeated series. Throws on the first violation.
 */
export const parsePrometheus = (text: string): Map<string, Family> => {
  if (!text.endsWith("\n")) throw new Error("the exposition does not end with a newline")
  const families = new Map<string, Family>()
  const seen = new Set<string>()
  let current: Family | undefined
  for (const line of text.slice(0, -1).split("\n")) {
    const help = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line)
    const type = new RegExp(`^# TYPE (${NAME}) (\\w+)$`).exec(line)
    if (help !== null) {
      if (families.has(help[1]!) && families.get(help[1]!)!.help !== "") throw new Error(`second HELP: ${line}`)
      const family = families.get(help[1]!) ?? { name: help[1]!, type: "", help: "", samples: [] }
      families.set(help[1]!, { ...family, help: help[2]! })
      current = families.get(help[1]!)
    } else if (type !== null) {
      if (!TYPES.has(type[2]!)) throw new Error(`unknown type: ${line}`)
      const family = families.get(type[1]!)
      if (family !== undefined && (family.type !== "" || family.samples.length > 0))
        throw new Error(`late TYPE: ${line}`)
      current = { name: type[1]!, type: type[2]!, help: family?.help ?? "", samples: [] }
      families.set(type[1]!, current)
    } else {
      const m = SAMPLE.exec(line)
      if (m === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`)
      if (current === undefined || current.type === "") throw new Error(`sample before its TYPE: ${line}`)
      const suffixes = SUFFIXES[current.type] ?? [""]
      if (!suffixes.some((s) => m[1] === `${current!.name}${s}`)) throw new Error(`sample outside its family: ${line}`)
      const labels = m[2] === undefined ? {} : parseLabels(m[2], line)
      const key = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`
      if (seen.has(key)) throw new Error(`repeated series: ${line}`)
      seen.add(key)
      current.samples.push({ name: m[1]!, labels, value: parseValue(m[3]!, line) })
    }
  }
  return families
}

/** A port free for UDP on ::1 with port + 1 free for TCP (the side channel) at the time of asking. */
export const freeUdpPort: Effect.Effect<number, Error> = Effect.gen(function* () {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = yield* Effect.callback<number>((resume) => {
      const socket = Dgram.createSocket({ type: "udp6", ipv6Only: true })
      socket.bind(0, "::1", () => {
        const p = socket.address().port
        socket.close(() => resume(Effect.succeed(p)))
      })
    })
    if (port >= 0xfffe) continue
    const tcpFree = yield* Effect.callback<boolean>((resume) => {
      const server = Net.createServer()
      server.once("error", () => resume(Effect.succeed(false)))
      server.listen(port + 1, "::1", () => server.close(() => resume(Effect.succeed(true))))
    })
    if (tcpFree) return port
  }
  return yield* Effect.fail(new Error("no free port pair on ::1"))
})

/** A TCP port free on 127.0.0.1 at the time of asking (for an admin API whose port the test must know). */
export const freeTcpPort: Effect.Effect<number> = Effect.callback<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as Net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})
