import { Reads } from "@dave/network"
import { Constants, Dat, type Entry, type Message, NodeId } from "@dave/protocol"
import { Effect, Option } from "effect"
import type { NodeSetup, SimNode } from "./SimNode.ts"
import type { Author, World } from "./World.ts"

/** Steps that scenarios share: forming a network, writing entries, reading them back, waiting. */

/** Active peers a node should have once the network has formed: 8, or all others in a smaller network. */
export const formThreshold = (nodes: number): number => Math.max(1, Math.min(8, nodes - 1))

export const activeCount = (node: SimNode): number =>
  node.stack.peers.core.activeCount(node.clock.currentTimeMillisUnsafe())

export const activeCounts = (nodes: ReadonlyArray<SimNode>): ReadonlyArray<number> => nodes.map(activeCount)

/** Polls `holds` every `pollMs` of virtual time until it is true or `timeoutMs` passed; when it held. */
export const waitUntil = (
  world: World,
  timeoutMs: number,
  pollMs: number,
  holds: () => boolean
): Effect.Effect<number | undefined> =>
  Effect.gen(function* () {
    const startMs = world.nowMs
    const polls = Math.ceil(timeoutMs / pollMs)
    for (let i = 0; i <= polls; i++) {
      if (holds()) return world.nowMs - startMs
      if (i < polls) yield* world.sleep(pollMs)
    }
    return undefined
  })

export interface Formed {
  readonly nodes: ReadonlyArray<SimNode>
  /** Virtual ms from the first start until every node had `formThreshold` active peers. */
  readonly formedAfterMs: number | undefined
}

/** Adds `count` nodes, starts them spread over `spreadMs`, and waits for every one to have enough active peers. */
export const formNetwork = (
  world: World,
  count: number,
  options: {
    readonly spreadMs?: number
    readonly timeoutMs?: number
    readonly setup?: (index: number) => Partial<NodeSetup>
  } = {}
): Effect.Effect<Formed> =>
  Effect.gen(function* () {
    const startMs = world.nowMs
    const nodes = yield* world.addNodes(count, options.setup)
    yield* world.startAll(nodes, options.spreadMs ?? 30_000)
    const k = formThreshold(world.running().length)
    const held = yield* waitUntil(world, options.timeoutMs ?? 20 * 60_000, 5_000, () =>
      world.running().every((n) => activeCount(n) >= k)
    )
    return { nodes, formedAfterMs: held === undefined ? undefined : world.nowMs - startMs }
  })

export interface Written {
  readonly author: Author
  readonly dat: Message.Dat
  readonly writer: number
  /** The replica IDs the writer chose. */
  readonly replicas: ReadonlyArray<bigint>
}

/**
 * Writes `count` entries through random running nodes, `gapMs` apart, by `authors` authors (keys
 * `k0`, `k1`... per author). Refused writes are left out of the result.
 */
export const writeEntries = (
  world: World,
  count: number,
  options: { readonly authors: number; readonly gapMs?: number; readonly prefix?: string }
): Effect.Effect<ReadonlyArray<Written>> =>
  Effect.gen(function* () {
    const authors: Array<Author> = []
    for (let i = 0; i < Math.max(1, options.authors); i++) authors.push(yield* world.newAuthor())
    const written: Array<Written> = []
    for (let i = 0; i < count; i++) {
      const running = world.running()
      const writer = running[world.random.below(running.length)]!
      const author = authors[i % authors.length]!
      const key = `${options.prefix ?? "k"}${Math.floor(i / authors.length)}`
      const dat = yield* world.signDat(
        author,
        key,
        `value ${i} by ${writer.index}`,
        writer.clock.currentTimeMillisUnsafe()
      )
      const report = yield* Effect.result(world.put(writer, dat))
      if (report._tag === "Success") {
        written.push({ author, dat, writer: writer.index, replicas: report.success.replicas.filter((id) => id !== 0n) })
      }
      yield* world.sleep(options.gapMs ?? 100)
    }
    return written
  })

export type ReadOutcome = "found" | "stale" | "missing" | "failed"

const sameVersion = (a: Message.Dat, b: Message.Dat): boolean =>
  a.time === b.time && Dat.bytesEqual(a.work, b.work) && Dat.bytesEqual(a.value, b.value)

/** Reads `expected` through `reader`: found (that version), stale (an older one), missing, or failed. */
export const readBack = (world: World, reader: SimNode, expected: Message.Dat): Effect.Effect<ReadOutcome> =>
  Effect.map(Effect.result(world.get(reader, expected.pubKey, expected.key)), (result) => {
    if (result._tag === "Failure") return "failed"
    if (Option.isNone(result.success)) return "missing"
    return sameVersion(result.success.value.dat, expected) ? "found" : "stale"
  })

export interface ReadTally {
  readonly found: number
  readonly stale: number
  readonly missing: number
  readonly failed: number
  readonly total: number
}

/** Reads every (reader, dat) pair, `concurrency` at a time. */
export const readAll = (
  world: World,
  pairs: ReadonlyArray<readonly [SimNode, Message.Dat]>,
  concurrency = 16
): Effect.Effect<ReadTally> =>
  Effect.map(
    Effect.forEach(
      pairs,
      ([reader, dat]) => (reader.running ? readBack(world, reader, dat) : Effect.succeed("failed" as const)),
      {
        concurrency
      }
    ),
    (outcomes) => ({
      found: outcomes.filter((o) => o === "found").length,
      stale: outcomes.filter((o) => o === "stale").length,
      missing: outcomes.filter((o) => o === "missing").length,
      failed: outcomes.filter((o) => o === "failed").length,
      total: outcomes.length
    })
  )

/** The running nodes whose store holds some version of the dat's slot, with what they hold. */
export const holders = (world: World, dat: Message.Dat): Effect.Effect<ReadonlyArray<readonly [SimNode, Entry]>> =>
  Effect.map(
    Effect.forEach(world.running(), (node) =>
      Effect.map(node.stack.store.get(dat.pubKey, dat.key), (entry) =>
        Option.isSome(entry) ? [[node, entry.value] as const] : []
      )
    ),
    (lists) => lists.flat()
  )

/** The `count` running nodes closest by XOR to `targetId`: the replicas a node with a full view picks. */
export const closestRunning = (world: World, targetId: bigint, count = Constants.FANOUT): ReadonlyArray<SimNode> =>
  world
    .running()
    .map((node) => ({ node, distance: NodeId.distance(node.nodeId, targetId) }))
    .sort((a, b) => (a.distance < b.distance ? -1 : a.distance > b.distance ? 1 : 0))
    .slice(0, count)
    .map((r) => r.node)

/** Whether `a` is a newer version than `b` by the store's rule (time, then work). */
export const newer = (a: Message.Dat, b: Message.Dat): boolean =>
  Reads.compareVersions({ replicas: [], dat: a }, { replicas: [], dat: b }) > 0

export const mean = (xs: ReadonlyArray<number>): number =>
  xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length

export const percent = (part: number, whole: number): string =>
  whole === 0 ? "n/a" : `${((100 * part) / whole).toFixed(2)}%`

export interface LivenessTimes {
  /** How often each peer of a full table is pinged. */
  readonly pingIntervalMs: number
  /** How long after its last answer a peer of a full table stops being active. */
  readonly deactivateMs: number
  /** How long after its last answer a peer of a full table is dropped. */
  readonly dropMs: number
}

/** The liveness windows that follow from the peer settings (PeerTableCore's rules, at a full table). */
export const livenessTimes = (world: World): LivenessTimes => {
  const p = world.params.peers
  const minPingMs = p.minPingIntervalMs ?? 1_000
  const spreadMs = Math.ceil(((p.maxPeers ?? 256) * 1_000) / ((p.maxPingsPerSecond ?? 32) * 0.8))
  const pingIntervalMs = Math.max(minPingMs, spreadMs)
  const scale = pingIntervalMs / minPingMs
  return {
    pingIntervalMs,
    deactivateMs: (p.deactivateAfterMs ?? 3_000) * scale,
    dropMs: (p.dropAfterMs ?? 12_000) * scale
  }
}

/** Time for the network to notice a crash and re-replicate: a deactivation, a ping, two replication rounds. */
export const settleMs = (world: World): number => {
  const t = livenessTimes(world)
  return t.deactivateMs + t.pingIntervalMs + 2 * (world.params.node.replicateEveryMs ?? 30_000) + 30_000
}
