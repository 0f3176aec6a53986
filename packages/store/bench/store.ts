/**
 * ShardStore benchmark: inserts/s and gets/s at 1 M entries (values of 100 B), RSS per entry
 * against its accounted size (goal <= 1.5x), and inserts/s into a full store (every insert
 * evicts). Run: `node --expose-gc --conditions=source bench/store.ts [entries]`.
 * Every phase is bounded by its count and by a time limit.
 */
import type { Entry } from "@dave/protocol"
import { ShardStore } from "@dave/store"
import { Effect, Option } from "effect"

const ENTRIES = Number(process.argv[2] ?? 1_000_000)
const AUTHORS = 1000
const VALUE_BYTES = 100
const PHASE_LIMIT_MS = 25_000
const CHURN = Math.min(200_000, ENTRIES)
const FULL_ENTRIES = 200_000
const WARM_UP = Math.min(20_000, ENTRIES)
const NODE_ID = 0x0123456789abcdefn

const gc = (globalThis as { gc?: () => void }).gc
/** Collects garbage, lets the allocator return freed pages, and collects again. */
const settle = Effect.gen(function* () {
  gc?.()
  gc?.()
  yield* Effect.sleep(200)
  gc?.()
})

/** A deterministic 32-bit generator (mulberry32), so gets can rebuild the keys of the inserts. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const next = random(42)
const authors = Array.from({ length: AUTHORS }, () => Uint8Array.from({ length: 32 }, () => Math.floor(next() * 256)))
const nowMs = Date.now()
const salt = new Uint8Array(16)
const sig = new Uint8Array(64)

const encoder = new TextEncoder()
const keyText = (i: number) => `key-${i.toString().padStart(12, "0")}`
const keyOf = (i: number): Uint8Array => encoder.encode(keyText(i))

// One set of buffers for every put: the store copies an entry in, so the caller may reuse them, and
// a million short-lived input buffers would leave the C heap fragmented and muddle the RSS figure.
const keyBuffer = new Uint8Array(16)
const value = new Uint8Array(VALUE_BYTES)
const work = new Uint8Array(32)

const entryOf = (i: number, timeMs = nowMs - (i % 1_000_000) * 1000): Entry => {
  encoder.encodeInto(keyText(i), keyBuffer)
  value.fill(i & 0xff)
  work[0] = i & 0xff
  return {
    replicas: [1n, 2n, 3n, 4n, 5n],
    dat: {
      time: BigInt(timeMs),
      salt,
      work,
      sig,
      pubKey: authors[i % AUTHORS]!,
      key: keyBuffer,
      value
    }
  }
}

const line = (label: string, value: string, goal?: string) =>
  console.log(`${label.padEnd(36)} ${value.padStart(14)}${goal ? `   goal: ${goal}` : ""}`)

const rate = (count: number, ms: number) => `${Math.round((count / ms) * 1000).toLocaleString("en")}/s`

const program = Effect.gen(function* () {
  if (gc === undefined) console.log("(run with --expose-gc for the RSS figure)")
  // The baseline comes after a warm-up of the same work in a throwaway store, so that memory the
  // process keeps whatever the store holds (the WASM module, V8's young generation grown to its
  // working size, JIT code) is not charged to the entries.
  yield* Effect.scoped(
    Effect.gen(function* () {
      const warmUp = yield* ShardStore.make({ capacityBytes: 2 ** 40, nodeId: NODE_ID, pruneEveryMs: 0 })
      for (let i = 0; i < WARM_UP; i++) yield* warmUp.put(entryOf(i))
    })
  )
  yield* settle
  const base = process.memoryUsage()
  const store = yield* ShardStore.make({ capacityBytes: 2 ** 40, nodeId: NODE_ID, pruneEveryMs: 0 })

  let start = performance.now()
  let inserted = 0
  for (; inserted < ENTRIES && performance.now() - start < PHASE_LIMIT_MS; inserted++) {
    yield* store.put(entryOf(inserted))
  }
  const insertMs = performance.now() - start
  line(`inserts (${inserted.toLocaleString("en")} entries)`, rate(inserted, insertMs))

  const stats = yield* store.stats
  yield* settle
  const after = process.memoryUsage()
  const rssPerEntry = (after.rss - base.rss) / stats.entries
  const accountedPerEntry = stats.usedBytes / stats.entries
  line("accounted size per entry", `${accountedPerEntry.toFixed(1)} B`)
  line("RSS per entry", `${rssPerEntry.toFixed(1)} B`)
  line(
    "  of which typed arrays (index, pages)",
    `${((after.arrayBuffers - base.arrayBuffers) / stats.entries).toFixed(1)} B`
  )
  line("RSS / accounted", `${(rssPerEntry / accountedPerEntry).toFixed(2)}x`, "<= 1.5x")

  const gets = inserted
  const order = random(7)
  // 65,536 random keys, encoded up front so that the loop times the store alone.
  const picks = Array.from({ length: 1 << 16 }, () => Math.floor(order() * inserted))
  const keys = picks.map(keyOf)
  start = performance.now()
  let found = 0
  let got = 0
  for (; got < gets && performance.now() - start < PHASE_LIMIT_MS; got++) {
    const pick = got & (picks.length - 1)
    if (Option.isSome(yield* store.get(authors[picks[pick]! % AUTHORS]!, keys[pick]!))) found++
  }
  line(`gets (at ${stats.entries.toLocaleString("en")} entries)`, rate(got, performance.now() - start))
  if (found !== got) line("gets that missed (expected 0)", `${got - found}`)

  // A full store: a second one, sized to hold FULL_ENTRIES of these entries, filled, then given CHURN
  // newer entries, each of which evicts one or is refused.
  const fullEntries = Math.min(FULL_ENTRIES, inserted)
  const full = yield* ShardStore.make({
    capacityBytes: Math.round(accountedPerEntry * fullEntries),
    nodeId: NODE_ID,
    pruneEveryMs: 0
  })
  for (let i = 0; i < fullEntries; i++) yield* Effect.ignore(full.put(entryOf(i)))
  yield* store.pruneExpired // keeps `store` alive (and measured) until here
  start = performance.now()
  let churned = 0
  let evicted = 0
  let accepted = 0
  for (; churned < CHURN && performance.now() - start < PHASE_LIMIT_MS; churned++) {
    // Newer than any entry of the fill; those of far authors may still rank lowest and be refused.
    const outcome = yield* Effect.result(full.put(entryOf(fullEntries + churned, nowMs + 1 + churned)))
    if (outcome._tag === "Success" && outcome.success._tag === "Inserted") {
      accepted++
      evicted += outcome.success.evicted
    }
  }
  const fullStats = yield* full.stats
  line(
    `inserts into a full store (${fullStats.entries.toLocaleString("en")} entries)`,
    rate(churned, performance.now() - start)
  )
  line("  accepted (the rest rank lowest)", `${((accepted / Math.max(1, churned)) * 100).toFixed(1)} %`)
  line("  evictions per accepted insert", (evicted / Math.max(1, accepted)).toFixed(2))
})

Effect.runPromise(Effect.scoped(program)).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
