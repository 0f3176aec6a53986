/**
 * Soak version of the SIGKILL test: many trials of a real writer process killed with SIGKILL at a
 * random moment (see test/fixtures/killTrial.ts). Bounded by a trial count and a time budget; prints
 * trials and failures and exits non-zero on any failure.
 *
 * Run: node --conditions=source bench/soak-kill.ts [trials=200] [maxSeconds=600] [concurrency=2]
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { runKillTrial, type TrialResult } from "../test/fixtures/killTrial.ts"

const [trialsArg, secondsArg, concurrencyArg] = process.argv.slice(2)
const TRIALS = Number(trialsArg ?? 200)
const MAX_SECONDS = Number(secondsArg ?? 600)
const CONCURRENCY = Number(concurrencyArg ?? 2)
const FIRST_SEED = 1_000

const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "dave-backup-soak-"))
const startedMs = Date.now()
const deadlineMs = startedMs + MAX_SECONDS * 1000
const results: Array<TrialResult> = []
let nextSeed = FIRST_SEED

const worker = async (): Promise<void> => {
  while (nextSeed - FIRST_SEED < TRIALS) {
    if (Date.now() >= deadlineMs) return
    const seed = nextSeed++
    // Vary the kill window and how often the child compacts, so kills land in every phase.
    const result = await runKillTrial({
      dir,
      seed,
      maxKillDelayMs: 50 + (seed % 7) * 100,
      compactEvery: seed % 3 === 0 ? 2 + (seed % 5) : 0
    })
    results.push(result)
    for (const problem of result.problems) console.log(`seed ${seed}: ${problem}`)
    NodeFs.rmSync(NodePath.join(dir, `kill-${seed}.bak`), { force: true })
    if (results.length % 10 === 0) console.log(`${results.length} trials, ${failures()} failures`)
  }
}
const failures = (): number => results.filter((r) => r.problems.length > 0).length

try {
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
} finally {
  NodeFs.rmSync(dir, { recursive: true, force: true })
}
const torn = results.filter((r) => r.tornTail).length
const inCompaction = results.filter((r) => r.killedInCompaction).length
const acked = results.reduce((n, r) => n + r.acked + 1, 0)
console.log(
  `soak-kill: trials ${results.length}, failures ${failures()}, torn tails seen ${torn}, kills inside a compaction ${inCompaction}`
)
console.log(
  `soak-kill: acknowledged entries checked ${acked}, elapsed ${((Date.now() - startedMs) / 1000).toFixed(1)} s`
)
process.exit(failures() === 0 && results.length > 0 ? 0 : 1)
