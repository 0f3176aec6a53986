import DHT from "bittorrent-dht"
import { Effect } from "effect"
import { fastestVerifier, signerOf } from "../Ed25519.ts"
import { growthSince, settledMemory } from "../Rss.ts"
import { bytesEqual, seedOf, valueOf } from "../Values.ts"
import { SETS } from "../Workload.ts"
import { ownCpuMs, type Start, waitUntil } from "./System.ts"

/**
 * bittorrent-dht: N DHT instances in this process on 127.0.0.1, the first with no bootstrap and the
 * rest bootstrapping from it. BEP 44 mutable put (one key pair per value, seq 0) through one node,
 * get (with `cache: false`, so the reader asks the network even when it holds a copy itself) through
 * another. Verify is the fastest Ed25519 available here.
 */

const HOST = "127.0.0.1"
/** The routing tables count as filled when no node's count changed for this long. */
const STABLE_MS = 1_500

const listen = (dht: DHT): Promise<void> => new Promise((resolve) => dht.listen(0, HOST, resolve))

export const start: Start = async (count, config, log) => {
  const baseline = settledMemory()
  const verifier = await Effect.runPromise(fastestVerifier)
  // BEP 44 hands verify (signature, message, publicKey).
  const verify = (sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array) =>
    verifier.verify(publicKey, message, sig)
  const startedAt = performance.now()
  const nodes: Array<DHT> = []
  const first = new DHT({ bootstrap: false, host: HOST, verify })
  await listen(first)
  nodes.push(first)
  const bootstrap = [`${HOST}:${first.address().port}`]
  for (let i = 1; i < count; i++) {
    const dht = new DHT({ bootstrap, host: HOST, verify })
    dht.on("error", (e) => log(`bittorrent-dht error: ${e.message}`))
    await listen(dht)
    nodes.push(dht)
  }
  await Promise.all(nodes.map((d) => (d.ready ? undefined : new Promise<void>((resolve) => d.once("ready", resolve)))))
  let last = ""
  let stableSince = performance.now()
  const formed = await waitUntil(() => {
    const counts = nodes.map((d) => d.nodes.count()).join(",")
    if (counts !== last) {
      last = counts
      stableSince = performance.now()
    }
    return performance.now() - stableSince >= STABLE_MS
  }, config.formLimitMs)
  const sizes = nodes.map((d) => d.nodes.count())
  const formation =
    `${formed ? "tables stable" : "tables still changing"} after ${Math.round(performance.now() - startedAt)} ms; ` +
    `routing table sizes ${Math.min(...sizes)}..${Math.max(...sizes)}`
  log(`  ${formation}; verify: ${verifier.name}`)

  // One author per value, keys prepared before the clock starts (as for every system).
  const authors = await Effect.runPromise(
    Effect.forEach(
      Array.from({ length: SETS }, (_, set) => set),
      (set) =>
        Effect.forEach(
          Array.from({ length: Math.max(config.ops, config.warmupOps) }, (_, i) => i),
          (i) => signerOf(seedOf(set, i))
        )
    )
  )
  const hashes = new Map<string, Uint8Array>()
  const writer = nodes[1]!
  const reader = nodes[Math.floor(count / 2)]!

  return {
    formed,
    formation,
    notes: [`verify: ${verifier.name}`, "get with cache: false (always asks the network)"],
    target: {
      put: (set, index) =>
        new Promise((resolve) => {
          const signer = authors[set]![index]!
          const hash = writer.put(
            {
              k: Buffer.from(signer.publicKey),
              v: Buffer.from(valueOf(set, index, config.valueBytes)),
              seq: 0,
              sign: (message) => Buffer.from(signer.sign(message))
            },
            (error, _hash, responses) => resolve({ ok: error === null && responses > 0 })
          )
          hashes.set(`${set}:${index}`, hash)
        }),
      get: (set, index) =>
        new Promise((resolve) => {
          const hash = hashes.get(`${set}:${index}`)
          if (hash === undefined) return resolve({ ok: false })
          const expected = valueOf(set, index, config.valueBytes)
          reader.get(hash, { cache: false }, (error, value) =>
            resolve({ ok: error === null && value !== null && bytesEqual(Uint8Array.from(value.v), expected) })
          )
        })
    },
    memory: () => growthSince(baseline),
    cpuMs: ownCpuMs,
    close: async () => {
      await Promise.all(nodes.map((d) => new Promise<void>((resolve) => d.destroy(() => resolve()))))
    }
  }
}
