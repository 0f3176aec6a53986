import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { runKillTrial, type TrialResult } from "./fixtures/killTrial.ts"

// The short version of bench/soak-kill.ts: each trial is a real child process killed with SIGKILL.
const TRIALS = 20
const CONCURRENCY = 2

describe("SIGKILL while writing", () => {
  let dir = ""
  beforeAll(() => {
    dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "dave-backup-kill-"))
  })
  afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))

  it(`${TRIALS} trials: the file reopens, every acknowledged entry is back, none is invented`, async () => {
    const results: Array<TrialResult> = []
    const seeds = Array.from({ length: TRIALS }, (_, i) => i + 1)
    const worker = async () => {
      for (let seed = seeds.shift(); seed !== undefined; seed = seeds.shift()) {
        // Every third trial compacts often, so some kills land inside a compaction.
        results.push(await runKillTrial({ dir, seed, maxKillDelayMs: 150, compactEvery: seed % 3 === 0 ? 4 : 0 }))
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    expect(results.filter((r) => r.problems.length > 0)).toEqual([])
    expect(results).toHaveLength(TRIALS)
    // The kills must land while entries are being written, not before the first commit.
    expect(results.every((r) => r.acked >= 0 && r.restored > r.acked)).toBe(true)
  }, 60_000)
})
