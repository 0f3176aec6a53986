import { Confirm, LightNode } from "@dave/client"
import { DatSigning, Hasher, Signer, Work } from "@dave/crypto"
import type { DaveNode } from "@dave/network"
import { PeerOptions } from "@dave/peers"
import type { AddrPort } from "@dave/protocol"
import { Effect, Exit, Option, References, Result, Scope } from "effect"
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

/** DaveClient's default bound on a network wait. */
const CLIENT_TIMEOUT_MS = 5_000
/** How long a client waits for its edge to answer. */
const JOIN_LIMIT_MS = 20_000

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
  limitMs: number
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
      const confirmed = (yield* Confirm.confirm(writer, report.entry, report.sentTo, CLIENT_TIMEOUT_MS)).length
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
