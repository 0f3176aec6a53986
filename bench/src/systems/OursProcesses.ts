import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Daemons from "../Daemons.ts"
import { cpuMsOfPid, rssOfPid } from "../Rss.ts"
import { startClients } from "./OursClient.ts"
import { formationText, ownCpuMs, type Start, waitUntil } from "./System.ts"

/**
 * Ours as N daemon processes (apps/node/src/main.ts on 127.0.0.1, loopback peer limits, no backup,
 * admin API on an ephemeral loopback port), the first the edge of all others; written and read
 * through two light nodes in this process. RSS is the daemons' sum.
 */

/** Daemons started at once: each start is a few hundred ms of CPU (loading sources). */
const START_BATCH = 4
const CLIENTS_LIMIT_MS = 30_000

const activePeers = async (daemon: Daemons.Daemon): Promise<number> => {
  try {
    const response = await fetch(`http://${daemon.admin}/status`, { signal: AbortSignal.timeout(2_000) })
    const status = (await response.json()) as { peers?: { active?: number } }
    return status.peers?.active ?? 0
  } catch {
    return 0
  }
}

export const start: Start = async (count, config, log) => {
  const tempDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-bench-daemons-"))
  const daemons: Array<Daemons.Daemon> = []
  const cleanUp = async () => {
    await Daemons.stop(daemons)
    Fs.rmSync(tempDir, { recursive: true, force: true })
  }
  try {
    const startedAt = performance.now()
    const first = await Daemons.start({ dataDir: Path.join(tempDir, "0") })
    daemons.push(first)
    for (let from = 1; from < count; from += START_BATCH) {
      const batch = Array.from({ length: Math.min(START_BATCH, count - from) }, (_, i) => from + i)
      daemons.push(
        ...(await Promise.all(
          batch.map((i) => Daemons.start({ dataDir: Path.join(tempDir, String(i)), edge: first.address }))
        ))
      )
    }
    log(`  ${count} daemons listening after ${Math.round(performance.now() - startedAt)} ms`)
    let counts: Array<number> = []
    const formed = await waitUntil(
      async () => {
        counts = await Promise.all(daemons.map(activePeers))
        return Math.min(...counts) >= count - 1
      },
      config.formLimitMs,
      1_000
    )
    const formedMs = Math.round(performance.now() - startedAt)
    const clients = await startClients(
      daemons[1]!.address,
      daemons[Math.floor(count / 2)]!.address,
      count,
      config,
      CLIENTS_LIMIT_MS
    )
    const formation = formationText("daemon", formed, formedMs, counts, clients.formation)
    log(`  ${formation}`)
    const pids = daemons.map((d) => d.child.pid)
    return {
      formed: formed && clients.ready,
      formation,
      notes: [`${count} daemon processes`, "through two light nodes in the bench process"],
      target: clients.target,
      outcomes: clients.outcomes,
      memory: () => ({ rssBytes: pids.reduce<number>((sum, pid) => sum + rssOfPid(pid), 0) }),
      cpuMs: () => pids.reduce<number>((sum, pid) => sum + cpuMsOfPid(pid), ownCpuMs()),
      close: async () => {
        await clients.close()
        await cleanUp()
      }
    }
  } catch (error) {
    await cleanUp()
    throw error
  }
}
