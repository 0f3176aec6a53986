import { LightNode } from "@dave/client"
import { DatSigning, Hasher, Signer, Work } from "@dave/crypto"
import type { DaveNode } from "@dave/network"
import { PeerOptions } from "@dave/peers"
import { type AddrPort, Dat, type Entry } from "@dave/protocol"
import { Clock, Effect, Exit, Option, References, Result, Scope } from "effect"
import type { BenchConfig } from "../Config.ts"
import { signerOf } from "../Ed25519.ts"
import { bytesEqual, keyOf, seedOf, valueOf } from "../Values.ts"
import { type OpOutcome, SETS, type Target } from "../Workload.ts"
import { waitUntil } from "./System.ts"

/**
 * How the bench writes and reads our network, for both of our lines: two light nodes (the light
 * DaveNode of @dave/client's LightNode, as DaveClient uses), the writer joined through one node and
 * the reader through another. A put = sign + proof of work at the network minimum (timed apart) +
 * LightNode.put to the FANOUT closest replicas + confirmation, the way DaveClient.put confirms: each
 * replica is asked until it serves this exact version back. A get = LightNode.get from the replicas.
 */

/** The confirmation rules of @dave/client's Confirm (not exported by the package), copied as they are. */
export const CLIENT_RETRY_MS = 150
const READ_MS = 1_000
const MIN_GRACE_MS = 3_000
const GRACE_FACTOR = 3
const CLIENT_TIMEOUT_MS = 5_000
/** How long a client waits for its edge to answer. */
const JOIN_LIMIT_MS = 20_000

const sameVersion = (a: Entry, b: Entry): boolean =>
  a.dat.time === b.dat.time && Dat.bytesEqual(a.dat.sig, b.dat.sig) && Dat.bytesEqual(a.dat.work, b.dat.work)

/** How long to wait before asking a replica again, by attempt (0 = after the first "not found"). */
export type RetrySchedule = (attempt: number) => number

/** @dave/client's: every 150 ms. */
export const clientRetry: RetrySchedule = () => CLIENT_RETRY_MS

/** The replicas among `targets` that served `entry` back (Confirm.confirm of @dave/client). */
const confirm = (
  node: DaveNode.DaveNodeShape,
  entry: Entry,
  targets: ReadonlyArray<AddrPort>,
  timeoutMs: number,
  retry: RetrySchedule
): Effect.Effect<number> =>
  Effect.gen(function* () {
    const startMs = yield* Clock.currentTimeMillis
    const deadlineMs = startMs + timeoutMs
    let cutoffMs = deadlineMs
    // Bounded by the deadline: every retry waits at least 1 ms.
    const maxAttempts = timeoutMs + 1
    const askOne = (replica: AddrPort) =>
      Effect.gen(function* () {
        for (let attempt = 0; attempt < maxAttempts; attempt++) {
          const nowMs = yield* Clock.currentTimeMillis
          if (nowMs >= cutoffMs) return false
          const got = yield* node
            .get(entry.dat.pubKey, entry.dat.key, {
              targets: [replica],
              timeoutMs: Math.min(cutoffMs - nowMs, READ_MS)
            })
            .pipe(Effect.orElseSucceed(() => Option.none<Entry>()))
          if (Option.isSome(got)) {
            if (sameVersion(got.value, entry)) {
              const tookMs = (yield* Clock.currentTimeMillis) - startMs
              if (cutoffMs === deadlineMs)
                cutoffMs = Math.min(deadlineMs, startMs + Math.max(MIN_GRACE_MS, GRACE_FACTOR * tookMs))
              return true
            }
            if (got.value.dat.time > entry.dat.time) return false
          }
          yield* Effect.sleep(Math.max(1, retry(attempt)))
        }
        return false
      })
    const confirmed = yield* Effect.forEach(targets, askOne, { concurrency: "unbounded" })
    return confirmed.filter((c) => c).length
  })

export interface OursClients {
  readonly target: Target
  readonly formation: string
  readonly ready: boolean
  /** Operations by outcome so far, e.g. "put confirmed by 5/5: 180, get: not found: 3". */
  readonly outcomes: () => string
  readonly close: () => Promise<void>
}

const activeCount = (node: DaveNode.DaveNodeShape): Effect.Effect<number> =>
  Effect.map(node.peers, (peers) => peers.filter((p) => p.active).length)

const failing: Target = { put: async () => ({ ok: false }), get: async () => ({ ok: false }) }

/**
 * Starts the writer (joined through `writerEdge`) and the reader (through `readerEdge`) and waits,
 * up to `limitMs`, until each sees `expectedPeers` active nodes. If they cannot join, every
 * operation fails at once (and the formation says why).
 */
export const startClients = async (
  writerEdge: AddrPort,
  readerEdge: AddrPort,
  expectedPeers: number,
  config: BenchConfig,
  limitMs: number,
  retry: RetrySchedule = clientRetry
): Promise<OursClients> => {
  const scope = Effect.runSync(Scope.make())
  const close = () => Effect.runPromise(Scope.close(scope, Exit.void))
  const light = (edge: AddrPort) =>
    LightNode.start({ edges: [edge], host: "127.0.0.1", timeoutMs: JOIN_LIMIT_MS, peers: PeerOptions.loopback }).pipe(
      Scope.provide(scope),
      Effect.provideService(References.MinimumLogLevel, "Warn")
    )
  const startedAt = performance.now()
  const joined = await Effect.runPromise(Effect.result(Effect.all([light(writerEdge), light(readerEdge)])))
  if (Result.isFailure(joined)) {
    await close()
    return {
      ready: false,
      formation: `the clients could not join: ${joined.failure.message}`,
      target: failing,
      outcomes: () => "",
      close
    }
  }
  const [writer, reader] = joined.success
  const ready = await waitUntil(
    () =>
      Effect.runPromise(
        Effect.map(
          Effect.all([activeCount(writer), activeCount(reader)]),
          ([w, r]) => w >= expectedPeers && r >= expectedPeers
        )
      ),
    limitMs
  )
  const [w, r] = await Effect.runPromise(Effect.all([activeCount(writer), activeCount(reader)]))
  const formation = `clients see ${w} and ${r} of ${expectedPeers} nodes after ${Math.round(performance.now() - startedAt)} ms`

  const hasher = await Effect.runPromise(Hasher.makeWasm)
  const work = Work.makeSingleThread(hasher)
  const authors: Array<Array<Signer.Signer["Service"]>> = await Effect.runPromise(
    Effect.forEach(
      Array.from({ length: SETS }, (_, set) => set),
      (set) =>
        Effect.forEach(
          Array.from({ length: Math.max(config.ops, config.warmupOps) }, (_, i) => i),
          (i) => signerOf(seedOf(set, i))
        )
    )
  )
  const encoder = new TextEncoder()

  // Why operations failed, for the report: a count per outcome.
  const outcomes = new Map<string, number>()
  const count = (outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)

  const put = (set: number, index: number) =>
    Effect.gen(function* () {
      const author = authors[set]![index]!
      const signStart = performance.now()
      const dat = yield* DatSigning.signDat({
        key: encoder.encode(keyOf(set, index)),
        value: valueOf(set, index, config.valueBytes),
        timeMs: Date.now(),
        difficulty: config.difficulty
      }).pipe(
        Effect.provideService(Signer.Signer, author),
        Effect.provideService(Hasher.Hasher, hasher),
        Effect.provideService(Work.Work, work)
      )
      const powMs = performance.now() - signStart
      const report = yield* writer.put(dat)
      const confirmed = yield* confirm(writer, report.entry, report.sentTo, CLIENT_TIMEOUT_MS, retry)
      count(`put confirmed by ${confirmed}/${report.sentTo.length}`)
      return { ok: confirmed > 0, powMs }
    }).pipe(
      Effect.catchTag("PutRefused", (e) =>
        Effect.sync((): OpOutcome => {
          count(`put refused: ${e.reason}`)
          return { ok: false }
        })
      )
    )

  const get = (set: number, index: number) =>
    reader
      .get(authors[set]![index]!.publicKey, encoder.encode(keyOf(set, index)), { timeoutMs: CLIENT_TIMEOUT_MS })
      .pipe(
        Effect.map((found) => {
          const ok = Option.isSome(found) && bytesEqual(found.value.dat.value, valueOf(set, index, config.valueBytes))
          if (!ok) count(Option.isSome(found) ? "get: another value" : "get: not found")
          return { ok }
        }),
        Effect.catchTag("ReadFailed", (e) =>
          Effect.sync((): OpOutcome => {
            count(`get failed: ${e.reason}`)
            return { ok: false }
          })
        )
      )

  return {
    ready,
    formation,
    target: {
      put: (set, index) => Effect.runPromise(put(set, index)),
      get: (set, index) => Effect.runPromise(get(set, index))
    },
    outcomes: () =>
      [...outcomes.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([what, n]) => `${what}: ${n}`)
        .join(", "),
    close
  }
}
