import { type AddrPort, Dat, type Entry } from "@dave/protocol"
import { Clock, Effect, Exit, Option, type Scope } from "effect"
import { type Deadlines, Signal } from "./Deadlines.ts"
import type { Answer, PendingReads } from "./PendingReads.ts"

/**
 * One read (PROTOCOL 13.7): ask the replicas, wait until every one answered (or, once one valid
 * entry is in, a short grace for the rest, or the timeout), keep the newest valid entry, and name
 * the replicas that answered with something older or "not found" so the caller can repair them.
 * With `late`, a read ends as soon as a quorum of replicas gave the same newest version; the rest
 * are awaited (at most the grace) on a fiber of `late.scope`, and the stale ones among them go to
 * `late.repair`.
 */

export interface ReadPlan {
  readonly pubKey: Uint8Array
  readonly key: Uint8Array
  readonly targets: ReadonlyArray<AddrPort>
  /** What we hold ourselves, if anything. */
  readonly local: Option.Option<Entry>
  readonly timeoutMs: number
  readonly graceMs: number
  /** Valid answers of the newest version that end the read early (with `late` only). */
  readonly quorum?: number
}

/** Where the answers that come after an early end go. */
export interface Late {
  readonly scope: Scope.Scope
  /** Sends `newest` to the replicas that answered the rest of the read with something older. */
  readonly repair: (stale: ReadonlyArray<AddrPort>, newest: Entry) => Effect.Effect<void>
}

export interface ReadResult {
  readonly newest: Option.Option<Entry>
  /** Answers received, valid or not. */
  readonly answered: number
  /** Replicas that answered with an older entry or "not found". */
  readonly stale: ReadonlyArray<AddrPort>
  /** Whether the newest entry came from a replica and is newer than ours. */
  readonly newerThanLocal: boolean
  /** Whether it ended on a quorum before every replica answered (the rest go to `late`). */
  readonly early: boolean
}

/** Later time wins; at equal time the greater work hash (PROTOCOL 13.4). */
export const compareVersions = (a: Entry, b: Entry): number => {
  if (a.dat.time !== b.dat.time) return a.dat.time < b.dat.time ? -1 : 1
  return Dat.compareBytes(a.dat.work, b.dat.work)
}

/** The newest of the valid answers and our own copy. */
export const pickNewest = (local: Option.Option<Entry>, answers: ReadonlyArray<Answer>): Option.Option<Entry> => {
  let best = local
  for (const a of answers) {
    if (!a.valid) continue
    if (Option.isNone(best) || compareVersions(a.entry, best.value) > 0) best = Option.some(a.entry)
  }
  return best
}

const staleAmong = (answers: ReadonlyArray<Answer>, newest: Entry): Array<AddrPort> =>
  answers.filter((a) => !a.valid || compareVersions(a.entry, newest) < 0).map((a) => a.from)

/** Sends the GETs with `sendGets` and collects the answers into a result. */
export const run = (
  pending: PendingReads,
  deadlines: Deadlines,
  plan: ReadPlan,
  sendGets: Effect.Effect<void>,
  late?: Late
): Effect.Effect<ReadResult, "TooManyReads"> =>
  Effect.gen(function* () {
    const answers: Array<Answer> = []
    // Every replica answered. `finished`: that, or a quorum agreed. `decided`: finished, or a first
    // valid answer (after which the others get the grace).
    const all = new Signal()
    const finished = new Signal()
    const decided = new Signal()
    const quorum = late === undefined ? Number.POSITIVE_INFINITY : Math.max(1, plan.quorum ?? plan.targets.length)
    // The newest version so far (ours counts) and how many valid answers gave exactly it.
    let best = plan.local
    let agreeing = 0
    let quorumMet = false
    const unregister = pending.register(plan.pubKey, plan.key, plan.targets, (answer) => {
      // One answer per replica: a duplicate datagram must not count twice.
      if (answers.some((a) => a.from.port === answer.from.port && Dat.bytesEqual(a.from.ip, answer.from.ip))) return
      answers.push(answer)
      if (answer.valid) {
        decided.fire()
        const order = Option.isNone(best) ? 1 : compareVersions(answer.entry, best.value)
        if (order > 0) {
          best = Option.some(answer.entry)
          agreeing = 1
        } else if (order === 0) agreeing++
        if (agreeing >= quorum) {
          quorumMet = true
          finished.fire()
        }
      }
      if (answers.length >= plan.targets.length) {
        all.fire()
        finished.fire()
        decided.fire()
      }
    })
    if (unregister === undefined) return yield* Effect.fail("TooManyReads" as const)
    const wait = Effect.gen(function* () {
      const startMs = yield* Clock.currentTimeMillis
      yield* sendGets
      const first = yield* deadlines.wait(decided, plan.timeoutMs)
      if (!first || finished.fired) return
      const leftMs = plan.timeoutMs - ((yield* Clock.currentTimeMillis) - startMs)
      yield* deadlines.wait(finished, Math.min(plan.graceMs, leftMs))
    })
    yield* wait.pipe(Effect.onExit((exit) => (Exit.isFailure(exit) ? Effect.sync(unregister) : Effect.void)))

    const early = late !== undefined && quorumMet && answers.length < plan.targets.length
    const seen = answers.slice()
    const newest = pickNewest(plan.local, seen)
    if (early) {
      // The others get the grace to answer; those that answer stale are repaired.
      yield* Effect.forkIn(
        deadlines.wait(all, plan.graceMs).pipe(
          Effect.ensuring(Effect.sync(unregister)),
          Effect.andThen(
            Effect.suspend(() => {
              const final = pickNewest(plan.local, answers)
              if (Option.isNone(final)) return Effect.void
              // A late answer newer than what the read returned makes every other replica stale;
              // otherwise the caller already repaired the early ones, and only the late ones remain.
              const newerLate = Option.isNone(newest) || compareVersions(final.value, newest.value) > 0
              const candidates = newerLate ? answers : answers.slice(seen.length)
              return late.repair(staleAmong(candidates, final.value), final.value)
            })
          ),
          Effect.ignore
        ),
        late.scope
      )
    } else unregister()
    const stale = Option.isNone(newest) ? [] : staleAmong(seen, newest.value)
    const newerThanLocal =
      Option.isSome(newest) && (Option.isNone(plan.local) || compareVersions(newest.value, plan.local.value) > 0)
    return { newest, answered: seen.length, stale, newerThanLocal, early }
  })
