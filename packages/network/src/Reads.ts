import { type AddrPort, Dat, type Entry } from "@dave/protocol"
import { Deferred, Effect, Exit, Option } from "effect"
import type { Answer, PendingReads } from "./PendingReads.ts"

/**
 * One read (PROTOCOL 13.7): ask the replicas, wait until every one answered (or, once one valid
 * entry is in, a short grace for the rest, or the timeout), keep the newest valid entry, and name
 * the replicas that answered with something older or "not found" so the caller can repair them.
 */

export interface ReadPlan {
  readonly pubKey: Uint8Array
  readonly key: Uint8Array
  readonly targets: ReadonlyArray<AddrPort>
  /** What we hold ourselves, if anything. */
  readonly local: Option.Option<Entry>
  readonly timeoutMs: number
  readonly graceMs: number
}

export interface ReadResult {
  readonly newest: Option.Option<Entry>
  /** Answers received, valid or not. */
  readonly answered: number
  /** Replicas that answered with an older entry or "not found". */
  readonly stale: ReadonlyArray<AddrPort>
  /** Whether the newest entry came from a replica and is newer than ours. */
  readonly newerThanLocal: boolean
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

/** Sends the GETs with `sendGets` and collects the answers into a result. */
export const run = (
  pending: PendingReads,
  plan: ReadPlan,
  sendGets: Effect.Effect<void>
): Effect.Effect<ReadResult, "TooManyReads"> =>
  Effect.gen(function* () {
    const answers: Array<Answer> = []
    const all = Deferred.makeUnsafe<void>()
    const firstValid = Deferred.makeUnsafe<void>()
    const unregister = pending.register(plan.pubKey, plan.key, plan.targets, (answer) => {
      // One answer per replica: a duplicate datagram must not count twice.
      if (answers.some((a) => a.from.port === answer.from.port && Dat.bytesEqual(a.from.ip, answer.from.ip))) return
      answers.push(answer)
      if (answer.valid) Deferred.doneUnsafe(firstValid, Exit.void)
      if (answers.length >= plan.targets.length) Deferred.doneUnsafe(all, Exit.void)
    })
    if (unregister === undefined) return yield* Effect.fail("TooManyReads" as const)
    yield* Effect.gen(function* () {
      yield* sendGets
      yield* Effect.raceFirst(
        Deferred.await(all),
        Deferred.await(firstValid).pipe(Effect.andThen(Effect.sleep(plan.graceMs)))
      ).pipe(Effect.timeoutOption(plan.timeoutMs))
    }).pipe(Effect.ensuring(Effect.sync(unregister)))

    const newest = pickNewest(plan.local, answers)
    const stale = Option.isNone(newest)
      ? []
      : answers.filter((a) => !a.valid || compareVersions(a.entry, newest.value) < 0).map((a) => a.from)
    const newerThanLocal =
      Option.isSome(newest) && (Option.isNone(plan.local) || compareVersions(newest.value, plan.local.value) > 0)
    return { newest, answered: answers.length, stale, newerThanLocal }
  })
