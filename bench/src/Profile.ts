import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * Where a V8 CPU profile's busy time went: self time by area (our packages, effect, node:crypto,
 * dgram, GC, ...), by function, and inclusive time of our functions. Samples are wall-clock, so
 * time descheduled inside a call is charged to it.
 */

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}
interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

export interface ProfileSummary {
  readonly busyMs: number
  readonly areas: ReadonlyArray<readonly [string, number]>
  readonly functions: ReadonlyArray<readonly [string, number]>
  readonly inclusive: ReadonlyArray<readonly [string, number]>
}

const shortUrl = (url: string): string => {
  const path = url.replace(/^file:\/\//, "")
  for (const marker of ["/packages/", "/apps/", "/bench/src/"]) {
    if (path.includes(marker) && !path.includes("node_modules")) return path.slice(path.indexOf(marker) + 1)
  }
  return path.includes("node_modules/") ? path.slice(path.lastIndexOf("node_modules/") + 13) : path
}

const fileOf = (n: ProfileNode): string =>
  n.callFrame.url === "" ? `(native) ${n.callFrame.functionName}` : shortUrl(n.callFrame.url)

const nameOf = (n: ProfileNode): string =>
  `${n.callFrame.functionName || "(anonymous)"}${n.callFrame.url === "" ? "" : ` ${fileOf(n)}:${n.callFrame.lineNumber + 1}`}`

/** Coarse areas, first match wins. */
const AREAS: ReadonlyArray<readonly [string, (file: string) => boolean]> = [
  ["Ed25519 sign/verify (node:crypto)", (f) => f.startsWith("node:internal/crypto/sig")],
  ["other node:crypto (random, keys)", (f) => f.startsWith("node:internal/crypto")],
  ["dgram send/receive (node)", (f) => f.startsWith("node:dgram") || f.startsWith("node:internal/dgram")],
  ["garbage collector", (f) => f === "(native) (garbage collector)"],
  ["effect runtime", (f) => f.startsWith("effect/") || f.includes("@effect/")],
  ["@dave/network", (f) => f.startsWith("packages/network/")],
  ["@dave/peers", (f) => f.startsWith("packages/peers/")],
  ["@dave/store", (f) => f.startsWith("packages/store/") || f.includes("xxhash")],
  ["@dave/protocol", (f) => f.startsWith("packages/protocol/")],
  [
    "@dave/crypto (+ hash-wasm BLAKE3)",
    (f) => f.startsWith("packages/crypto/") || f.includes("hash-wasm") || f.startsWith("wasm:")
  ],
  ["@dave/client", (f) => f.startsWith("packages/client/")],
  [
    "bittorrent-dht, hyperdht and their deps",
    (f) => f.includes("dht") || f.includes("sodium") || f.includes("bencode")
  ],
  ["bench driver", (f) => f.startsWith("bench/src/")],
  ["other node internals", (f) => f.startsWith("node:")],
  ["other", () => true]
]

const top = (m: Map<string, number>, count: number): Array<readonly [string, number]> =>
  [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, count)

export const summarize = (profile: CpuProfile, count: number): ProfileSummary => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const selfUs = new Map<number, number>()
  let busyUs = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)
    const delta = profile.timeDeltas[i + 1] ?? 0
    if (node === undefined || node.callFrame.functionName === "(idle)") continue
    busyUs += delta
    selfUs.set(node.id, (selfUs.get(node.id) ?? 0) + delta)
  }
  const areas = new Map<string, number>()
  const functions = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const add = (m: Map<string, number>, key: string, us: number) => m.set(key, (m.get(key) ?? 0) + us)
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!
    add(areas, AREAS.find(([, test]) => test(fileOf(node)))![0], us)
    add(functions, nameOf(node), us)
    // Each of our functions on the stack once, however deep the recursion (bounded by the tree depth).
    const seen = new Set<string>()
    let at: number | undefined = id
    for (let depth = 0; at !== undefined && depth < 10_000; depth++) {
      const frame = byId.get(at)!
      const name = nameOf(frame)
      if (!seen.has(name) && /^(packages|apps)\//.test(fileOf(frame))) {
        seen.add(name)
        add(inclusive, name, us)
      }
      at = parent.get(at)
    }
  }
  const share = (entries: Array<readonly [string, number]>) =>
    entries.map(([name, us]) => [name, (100 * us) / Math.max(1, busyUs)] as const)
  return {
    busyMs: busyUs / 1000,
    areas: share(top(areas, AREAS.length)),
    functions: share(top(functions, count)),
    inclusive: share(top(inclusive, count))
  }
}

/** The summaries of every .cpuprofile in `dir`. */
export const summarizeDir = (dir: string, count: number): Array<ProfileSummary> =>
  Fs.existsSync(dir)
    ? Fs.readdirSync(dir)
        .filter((f) => f.endsWith(".cpuprofile"))
        .map((f) => summarize(JSON.parse(Fs.readFileSync(Path.join(dir, f), "utf8")) as CpuProfile, count))
    : []

export const format = (summary: ProfileSummary): Array<string> => {
  const lines = (title: string, entries: ReadonlyArray<readonly [string, number]>) => [
    `  ${title}:`,
    ...entries.filter(([, pct]) => pct >= 0.3).map(([name, pct]) => `    ${pct.toFixed(1).padStart(5)} %  ${name}`)
  ]
  return [
    `  busy ${Math.round(summary.busyMs)} ms (wall-clock samples; % of busy time)`,
    ...lines("by area (self time)", summary.areas),
    ...lines("by function (self time)", summary.functions),
    ...lines("our functions (inclusive time)", summary.inclusive)
  ]
}

/** A V8 sampling heap profile: a call tree with the bytes allocated at each node. */
interface AllocationNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly selfSize: number
  readonly children: ReadonlyArray<AllocationNode>
}

export interface AllocationSummary {
  readonly totalBytes: number
  /** Bytes allocated in each function itself. */
  readonly functions: ReadonlyArray<readonly [string, number]>
  /** Bytes allocated in each of our functions and what they called. */
  readonly inclusive: ReadonlyArray<readonly [string, number]>
}

export const summarizeAllocations = (profile: { readonly head: AllocationNode }, count: number): AllocationSummary => {
  const functions = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const add = (m: Map<string, number>, key: string, bytes: number) => m.set(key, (m.get(key) ?? 0) + bytes)
  let totalBytes = 0
  // Depth-first with an explicit stack (bounded by the tree's size), carrying our frames above each node.
  const stack: Array<{ readonly node: AllocationNode; readonly ours: ReadonlyArray<string> }> = [
    { node: profile.head, ours: [] }
  ]
  while (stack.length > 0) {
    const { node, ours } = stack.pop()!
    const frame = { id: 0, callFrame: node.callFrame }
    const name = nameOf(frame)
    const isOurs = /^(packages|apps)\//.test(fileOf(frame))
    const oursHere = isOurs && !ours.includes(name) ? [...ours, name] : ours
    if (node.selfSize > 0) {
      totalBytes += node.selfSize
      add(functions, name, node.selfSize)
      for (const frame of oursHere) add(inclusive, frame, node.selfSize)
    }
    for (const child of node.children) stack.push({ node: child, ours: oursHere })
  }
  return { totalBytes, functions: top(functions, count), inclusive: top(inclusive, count) }
}

export const formatAllocations = (summary: AllocationSummary): Array<string> => {
  const lines = (title: string, entries: ReadonlyArray<readonly [string, number]>) => [
    `  ${title}:`,
    ...entries
      .map(([name, bytes]) => [name, (100 * bytes) / Math.max(1, summary.totalBytes)] as const)
      .filter(([, pct]) => pct >= 0.5)
      .map(([name, pct]) => `    ${pct.toFixed(1).padStart(5)} %  ${name}`)
  ]
  return [...lines("by function (self)", summary.functions), ...lines("our functions (inclusive)", summary.inclusive)]
}
