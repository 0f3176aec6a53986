import HyperDHT from "hyperdht"
import createTestnet from "hyperdht/testnet.js"
import { growthSince, settledMemory } from "../Rss.ts"
import { bytesEqual, seedOf, valueOf } from "../Values.ts"
import { SETS } from "../Workload.ts"
import { ownCpuMs, type Start } from "./System.ts"

/**
 * hyperdht: its own `testnet` helper (N nodes on 127.0.0.1, each fully bootstrapped before the
 * next starts). mutablePut (one key pair per value: a key pair holds one mutable value) through one
 * node, mutableGet (its default: the latest seq over the whole query) through another. It signs
 * and verifies with libsodium.
 */

export const start: Start = async (count, config, log) => {
  const baseline = settledMemory()
  const startedAt = performance.now()
  const testnet = await createTestnet(count, { host: "127.0.0.1" })
  const formation = `testnet of ${testnet.nodes.length} bootstrapped in ${Math.round(performance.now() - startedAt)} ms`
  log(`  ${formation}`)
  const keyPairs = Array.from({ length: SETS }, (_, set) =>
    Array.from({ length: Math.max(config.ops, config.warmupOps) }, (_, i) => HyperDHT.keyPair(seedOf(set, i)))
  )
  const writer = testnet.nodes[1]!
  const reader = testnet.nodes[Math.floor(count / 2)]!
  return {
    formed: testnet.nodes.length === count,
    formation,
    notes: ["sign/verify: sodium-native (hyperdht's own)"],
    target: {
      put: async (set, index) => {
        const result = await writer.mutablePut(
          keyPairs[set]![index]!,
          Buffer.from(valueOf(set, index, config.valueBytes))
        )
        return { ok: result.closestNodes.length > 0 }
      },
      get: async (set, index) => {
        const got = await reader.mutableGet(keyPairs[set]![index]!.publicKey)
        return { ok: got !== null && bytesEqual(Uint8Array.from(got.value), valueOf(set, index, config.valueBytes)) }
      }
    },
    memory: () => growthSince(baseline),
    cpuMs: ownCpuMs,
    close: () => testnet.destroy()
  }
}
