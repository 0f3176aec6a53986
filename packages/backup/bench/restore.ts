/**
 * Backup benchmark: append throughput through the service (group commit, default 1 s interval), then
 * restore time of the whole file, once with the stand-alone reader and once through the service
 * (open + torn-tail check + restore). Restore = read + CRC + decode of every record.
 * Bounded: ENTRIES appends (default 1 M, stops early after APPEND_BUDGET_MS), temp dir removed at exit.
 *
 * Run: node --conditions=source bench/restore.ts [entries=1000000]
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { Backup, readBackup } from "@dave/backup"
import { Constants, type Entry } from "@dave/protocol"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect } from "effect"

const ENTRIES = Number(process.argv[2] ?? 1_000_000)
const APPEND_BUDGET_MS = 180_000
const VALUE_BYTES = 100
const RESTORE_GOAL_S = 10

const fixed = (length: number, seed: number): Uint8Array =>
  Uint8Array.from({ length }, (_, i) => (i * 131 + seed) & 0xff)
const salt = fixed(Constants.SALT_LEN, 1)
const work = fixed(Constants.WORK_LEN, 2)
const sig = fixed(Constants.SIG_LEN, 3)
const pubKey = fixed(Constants.PUBKEY_LEN, 4)
const valueTemplate = fixed(VALUE_BYTES, 5)

const entryOf = (seq: number): Entry => {
  const value = Uint8Array.from(valueTemplate)
  new DataView(value.buffer).setUint32(0, seq, true)
  return {
    replicas: [1n, 2n, 3n, 4n, 5n],
    dat: {
      time: 1_700_000_000_000n + BigInt(seq),
      salt,
      work,
      sig,
      pubKey,
      key: new TextEncoder().encode(`k${seq}`),
      value
    }
  }
}

const seconds = (ms: number): string => (ms / 1000).toFixed(2)
/** CPU time (user + system) since `since`, in seconds: less sensitive than wall time to a busy machine. */
const cpuSeconds = (since: NodeJS.CpuUsage): string => {
  const used = process.cpuUsage(since)
  return ((used.user + used.system) / 1e6).toFixed(2)
}

const program = (path: string) =>
  Effect.gen(function* () {
    const appendStart = performance.now()
    const appendCpu = process.cpuUsage()
    const written = yield* Effect.scoped(
      Effect.gen(function* () {
        const backup = yield* Backup.make({ path })
        let seq = 0
        for (; seq < ENTRIES; seq++) {
          if (seq % 10_000 === 0 && performance.now() - appendStart > APPEND_BUDGET_MS) break
          yield* backup.append(entryOf(seq))
        }
        yield* backup.flush
        return seq
      })
    )
    const appendMs = performance.now() - appendStart
    const bytes = NodeFs.statSync(path).size
    console.log(`entries written: ${written} (${(bytes / 1e6).toFixed(1)} MB file, ${VALUE_BYTES}-byte values)`)
    console.log(
      `append + group commit: ${seconds(appendMs)} s (cpu ${cpuSeconds(appendCpu)} s), ${Math.round(written / (appendMs / 1000))} entries/s`
    )

    let counted = 0
    const readStart = performance.now()
    const readCpu = process.cpuUsage()
    const report = yield* readBackup(path, () => Effect.sync(() => void counted++))
    const readMs = performance.now() - readStart
    if (counted !== written || report.skippedCorrupt !== 0)
      throw new Error(`restore mismatch: ${JSON.stringify(report)}`)
    console.log(
      `restore (readBackup) of ${counted} entries: ${seconds(readMs)} s, cpu ${cpuSeconds(readCpu)} s (goal <= ${RESTORE_GOAL_S} s for 1 M)`
    )

    let restored = 0
    const serviceStart = performance.now()
    const serviceCpu = process.cpuUsage()
    yield* Effect.scoped(
      Effect.flatMap(Backup.make({ path }), (backup) => backup.restore(() => Effect.sync(() => void restored++)))
    )
    const serviceMs = performance.now() - serviceStart
    console.log(
      `restore (service open + restore) of ${restored} entries: ${seconds(serviceMs)} s, cpu ${cpuSeconds(serviceCpu)} s (goal <= ${RESTORE_GOAL_S} s for 1 M)`
    )
    console.log(
      `restore rate: ${Math.round(counted / (readMs / 1000))} entries/s, ${(bytes / 1e6 / (readMs / 1000)).toFixed(0)} MB/s`
    )
  })

const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "dave-backup-bench-"))
try {
  await Effect.runPromise(program(NodePath.join(dir, "bench.bak")).pipe(Effect.provide(NodeFileSystem.layer)))
} finally {
  if (process.env.KEEP_BENCH_FILE) console.log(dir)
  else NodeFs.rmSync(dir, { recursive: true, force: true })
}
