import type { Message } from "@dave/protocol"
import { Effect, Option, type Scope } from "effect"
import { getStatus, poll } from "./Admin.ts"
import { seedOf } from "./Client.ts"
import { type HardenDaemon, makeAuthor, putBytes, startDaemon, tempDir } from "./HardenDaemon.ts"
import { getMany, type Probe, probe } from "./Probe.ts"
import { scrape, total } from "./Scrape.ts"

/**
 * Issue 8.4: a daemon with its backup takes a stream of PUTs and is killed with SIGKILL at a random
 * moment, again and again; after each restart the backup must open, every entry committed before
 * the kill must be served with its value, and nothing we did not write may appear.
 *
 * "Committed": the daemon has no acknowledgement for a UDP PUT, so an entry counts as committed
 * when (1) a GET from the verified probe returned it, at time T, and then (2) the backup's flush
 * counter (`dave_backup_flushes` in /metrics, a group commit: write + fsync) has advanced by 2 over
 * its value in a scrape taken after T. A flush that started before T may have missed the entry; the
 * one after it started after T, and the store hands each accepted entry to the backup as soon as
 * it stores it, so that second flush carries it. Entries sent but not committed may or may not
 * survive a kill; if served, they must carry exactly the value written ("none invented"), and the
 * store may hold no more entries than were ever sent.
 */

export interface CrashSoakOptions {
  readonly kills: number
  readonly timeLimitMs: number
  readonly putsPerSecond: number
  /** The kill comes at a uniformly random moment between these, after the write load starts. */
  readonly minLoadMs: number
  readonly maxLoadMs: number
  readonly seed: number
  readonly log?: (line: string) => void
}

export interface CrashSoakReport {
  readonly kills: number
  readonly restarts: number
  readonly sent: number
  readonly committed: number
  /** Every (restart, committed entry) pair checked. */
  readonly committedChecks: number
  /** Entries sent (committed or not) that the last restart served. */
  readonly servedAtLastCheck: number
  readonly missingCommitted: ReadonlyArray<string>
  readonly invented: ReadonlyArray<string>
  readonly restartProblems: ReadonlyArray<string>
  readonly restoredRecords: ReadonlyArray<number>
  readonly tornTails: number
  readonly slowestRestartMs: number
  /** Longest wait, after a restart's "listening" line, for /metrics to answer. */
  readonly slowestAdminMs: number
  readonly elapsedMs: number
  readonly stoppedByTimeLimit: boolean
}

interface Written {
  readonly dat: Message.Dat
  readonly value: string
  sent: boolean
  foundMs: number | undefined
  /** The flush count in the first scrape after it was found. */
  flushesSeen: number | undefined
  committed: boolean
}

const MAX_PROBLEMS = 50

/** Bounded problem lists: a broken build would otherwise print a line per entry per restart. */
const note = (list: Array<string>, problem: string): void => {
  if (list.length < MAX_PROBLEMS) list.push(problem)
}

const textOf = (b: Uint8Array): string => new TextDecoder().decode(b)

export const run = (options: CrashSoakOptions): Effect.Effect<CrashSoakReport, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const log = options.log ?? (() => {})
    const dataDir = yield* tempDir("dave-crash-")
    const author = yield* makeAuthor(seedOf(91))
    const peer = yield* probe("::1", seedOf(92))
    const written: Array<Written> = []
    const missingCommitted: Array<string> = []
    const invented: Array<string> = []
    const restartProblems: Array<string> = []
    const restoredRecords: Array<number> = []
    let committedChecks = 0
    let servedAtLastCheck = 0
    let tornTails = 0
    let slowestRestartMs = 0
    let slowestAdminMs = 0
    let kills = 0
    let restarts = 0
    let random = options.seed >>> 0
    const uniform = (): number => {
      random = (Math.imul(random, 1664525) + 1013904223) >>> 0
      return random / 4294967296
    }
    const startedMs = Date.now()
    const deadlineMs = startedMs + options.timeLimitMs

    /** One daemon life: start, check what survived, then (unless last) write until killed. */
    const life = (cycle: number, last: boolean) =>
      Effect.gen(function* () {
        const bootMs = Date.now()
        const daemon = yield* startDaemon({ listen: "[::1]:0", peerLimits: "loopback", dataDir, backup: true })
        slowestRestartMs = Math.max(slowestRestartMs, Date.now() - bootMs)
        if (cycle > 0) {
          restarts++
          yield* checkRestart(daemon, cycle)
        }
        yield* peer.awaitVerifiedBy(daemon.address, 15_000)
        yield* checkSurvivors(daemon, cycle)
        if (last) return
        const loadMs = options.minLoadMs + uniform() * (options.maxLoadMs - options.minLoadMs)
        const batch = yield* Effect.forEach(
          Array.from({ length: Math.ceil((options.putsPerSecond * loadMs) / 1000) + 1 }, (_, i) => i),
          (i) => {
            const value = `c${cycle}-${i}-${Math.floor(uniform() * 1e9)}`
            return Effect.map(author.sign(`soak-${cycle}-${i}`, value, Date.now() - 1_000), (dat) => ({
              dat,
              value,
              sent: false,
              foundMs: undefined,
              flushesSeen: undefined,
              committed: false
            }))
          }
        )
        written.push(...batch)
        yield* Effect.promise(() => writeLoad(peer, daemon, batch, loadMs, options.putsPerSecond))
        yield* daemon.kill("SIGKILL")
        kills++
        const committed = written.filter((w) => w.committed).length
        log(
          `kill ${kills}: after ${loadMs.toFixed(0)} ms of load; sent ${batch.filter((w) => w.sent).length} this life, ` +
            `committed ${committed} of ${written.filter((w) => w.sent).length} in all`
        )
      })

    const checkRestart = (daemon: HardenDaemon, cycle: number) =>
      Effect.gen(function* () {
        const failed = daemon.logs.filter((l) => l.level === "ERROR" || l.level === "FATAL")
        for (const l of failed) note(restartProblems, `restart ${cycle}: ${JSON.stringify(l).slice(0, 300)}`)
        const restored = daemon.logs.find((l) => l.message === "backup restored")
        if (restored === undefined && written.some((w) => w.committed)) {
          note(restartProblems, `restart ${cycle}: no "backup restored" line though entries were committed`)
        }
        restoredRecords.push(Number(restored?.annotations.restored ?? 0))
        // The first scrape after a restart also times how soon the daemon answers its admin API.
        const askedMs = Date.now()
        const metrics = yield* poll(
          "/metrics after a restart",
          Effect.option(scrape(daemon.admin)).pipe(Effect.map(Option.getOrUndefined)),
          60_000,
          50
        )
        slowestAdminMs = Math.max(slowestAdminMs, Date.now() - askedMs)
        tornTails += total(metrics, "dave_backup_torn_tails")
      })

    const checkSurvivors = (daemon: HardenDaemon, cycle: number) =>
      Effect.gen(function* () {
        const sent = written.filter((w) => w.sent)
        if (sent.length === 0) return
        const replies = yield* getMany(
          peer,
          daemon.address,
          sent.map((w) => w.dat),
          { window: 64, timeoutMs: 1_000, attempts: 3 }
        )
        servedAtLastCheck = replies.filter((r) => r.entry !== "timeout" && r.entry !== undefined).length
        replies.forEach((reply, i) => {
          const w = sent[i]!
          const label = `restart ${cycle}: ${textOf(w.dat.key)}`
          if (reply.entry === "timeout") {
            if (w.committed) note(missingCommitted, `${label}: no answer`)
            return
          }
          if (reply.entry === undefined) {
            if (w.committed) note(missingCommitted, `${label}: not found`)
            return
          }
          const value = textOf(reply.entry.dat.value)
          if (value !== w.value)
            note(invented, `${label}: served ${JSON.stringify(value)}, written ${JSON.stringify(w.value)}`)
        })
        committedChecks += sent.filter((w) => w.committed).length
        const { body } = yield* poll(
          "/status after a restart",
          Effect.option(getStatus(daemon.admin)).pipe(Effect.map(Option.getOrUndefined)),
          60_000,
          50
        )
        if (body.store.entries > sent.length) {
          note(
            invented,
            `restart ${cycle}: the store holds ${body.store.entries} entries, only ${sent.length} were ever sent`
          )
        }
      })

    for (let cycle = 0; cycle < options.kills && Date.now() < deadlineMs; cycle++) {
      yield* Effect.scoped(life(cycle, false))
    }
    yield* Effect.scoped(life(kills, true))
    return {
      kills,
      restarts,
      sent: written.filter((w) => w.sent).length,
      committed: written.filter((w) => w.committed).length,
      committedChecks,
      servedAtLastCheck,
      missingCommitted,
      invented,
      restartProblems,
      restoredRecords,
      tornTails,
      slowestRestartMs,
      slowestAdminMs,
      elapsedMs: Date.now() - startedMs,
      stoppedByTimeLimit: kills < options.kills
    } satisfies CrashSoakReport
  })

const flushesOf = (daemon: HardenDaemon): Promise<number | undefined> =>
  Effect.runPromise(
    scrape(daemon.admin).pipe(
      Effect.map((m) => total(m, "dave_backup_flushes")),
      Effect.orElseSucceed(() => undefined)
    )
  )

/**
 * Sends `batch` at `perSecond` for `loadMs` while confirming each entry (GET until found) and
 * sampling the flush counter, marking entries committed as the definition above says.
 */
const writeLoad = async (
  p: Probe,
  daemon: HardenDaemon,
  batch: ReadonlyArray<Written>,
  loadMs: number,
  perSecond: number
): Promise<void> => {
  const startedMs = Date.now()
  let next = 0
  let confirming = 0
  let lastScrapeMs = 0
  const confirm = async (w: Written): Promise<void> => {
    confirming++
    const reply = await p.get(daemon.address, w.dat.pubKey, w.dat.key, 300)
    confirming--
    if (reply.entry !== "timeout" && reply.entry !== undefined) w.foundMs ??= Date.now()
  }
  const asked = new Set<Written>()
  while (Date.now() - startedMs < loadMs) {
    const due = Math.min(batch.length, Math.floor(((Date.now() - startedMs) * perSecond) / 1000) + 1)
    for (; next < due; next++) {
      p.send(daemon.address, putBytes(batch[next]!.dat))
      batch[next]!.sent = true
    }
    for (const w of batch.slice(0, next)) {
      if (w.foundMs !== undefined || asked.has(w) || confirming >= 32) continue
      asked.add(w)
      void confirm(w).then(() => asked.delete(w))
    }
    if (Date.now() - lastScrapeMs >= 200) {
      const scrapeStartedMs = Date.now()
      lastScrapeMs = scrapeStartedMs
      const flushes = await flushesOf(daemon)
      if (flushes !== undefined) {
        for (const w of batch) {
          if (w.foundMs !== undefined && w.flushesSeen === undefined && w.foundMs <= scrapeStartedMs)
            w.flushesSeen = flushes
          if (w.flushesSeen !== undefined && flushes >= w.flushesSeen + 2) w.committed = true
        }
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export const shortfalls = (r: CrashSoakReport, options: CrashSoakOptions): Array<string> => [
  ...(r.kills < options.kills ? [`${r.kills} of ${options.kills} kills before the time limit`] : []),
  ...(r.committed === 0 ? ["no entry was ever committed: the run proves nothing"] : []),
  ...r.restartProblems,
  ...r.missingCommitted.map((m) => `committed entry lost: ${m}`),
  ...r.invented.map((m) => `invented: ${m}`)
]

export const lines = (r: CrashSoakReport, options: CrashSoakOptions): Array<string> => [
  `crash: SIGKILLs ${r.kills}, restarts ${r.restarts} in ${(r.elapsedMs / 1000).toFixed(1)} s  (goal: ${options.kills})`,
  `crash: entries sent ${r.sent}, committed ${r.committed}, served after the last restart ${r.servedAtLastCheck}; ` +
    `committed entries checked after restarts ${r.committedChecks}`,
  `crash: committed entries lost ${r.missingCommitted.length}  (goal: 0)`,
  `crash: entries invented or altered ${r.invented.length}  (goal: 0)`,
  `crash: restart problems ${r.restartProblems.length}  (goal: 0); torn tails recovered ${r.tornTails}; ` +
    `slowest restart ${r.slowestRestartMs} ms, slowest first /metrics after it ${r.slowestAdminMs} ms; ` +
    `records restored per restart ${summary(r.restoredRecords)}`
]

const summary = (values: ReadonlyArray<number>): string =>
  values.length === 0 ? "none" : `${Math.min(...values)}..${Math.max(...values)}`
