/**
 * Runs hardening scripts one after the other (all of them, or those named: `fuzz fuzz-decoder
 * flood amplification crash poison`), each with its defaults, and prints a summary. Exits 1 if any
 * script fell short of its goals or failed.
 *
 * Run: node --conditions=source hardening/all.ts [name ...]
 */
import { spawnSync } from "node:child_process"
import * as Path from "node:path"

const ALL = ["fuzz-decoder", "fuzz", "flood", "amplification", "crash", "poison"] as const
const named = process.argv.slice(2)
const unknown = named.filter((n) => !(ALL as ReadonlyArray<string>).includes(n))
if (unknown.length > 0) {
  console.error(`unknown script(s): ${unknown.join(", ")}; known: ${ALL.join(", ")}`)
  process.exit(2)
}
const chosen = named.length > 0 ? named : ALL
const results: Array<{ name: string; code: number | null; seconds: number }> = []
for (const name of chosen) {
  console.log(`\n=== harden:${name}`)
  const startedMs = Date.now()
  // Each script bounds itself; this limit only catches one that hangs.
  const run = spawnSync(process.execPath, ["--conditions=source", Path.join(import.meta.dirname, `${name}.ts`)], {
    stdio: "inherit",
    timeout: 45 * 60_000
  })
  results.push({ name, code: run.status, seconds: (Date.now() - startedMs) / 1000 })
}
console.log("\n=== summary")
for (const r of results) console.log(`harden:${r.name}: ${r.code === 0 ? "PASS" : "FAIL"} (${r.seconds.toFixed(0)} s)`)
process.exit(results.every((r) => r.code === 0) ? 0 : 1)
