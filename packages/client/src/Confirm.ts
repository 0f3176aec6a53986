import type { DaveNode } from "@dave/network"
import { type AddrPort, Dat, type Entry } from "@dave/protocol"
import { Clock, Effect, Option } from "effect"

/**
 * Confirming a write: ask each replica it was sent to for the entry, in rounds of one GET each
 * (DaveNode.ask), until it serves this exact version. A node verifies PUTs on a queue of its own and
 * holds a GET of a slot whose PUT is queued until that PUT is done, so the first round normally
 * confirms. Replicas that answered without it (the GET overtook its PUT, or a node that does not
 * hold GETs back, such as the reference) are asked again after 5, 10, 20, ... ms, at most
 * RETRY_MAX_MS apart (`retryDelayMs`). A round waits at most READ_MS for silent replicas. The asking
 * stops at the deadline, or once the stragglers have had GRACE_FACTOR times as long as the first
 * replica took (at least MIN_GRACE_MS): a peer that will never hold it (one that refuses it, or
 * another light client) then costs a bounded wait, not the whole timeout.
 */

const RETRY_FIRST_MS = 5
const RETRY_MAX_MS = 150
/** Attempts before the retry delay reaches RETRY_MAX_MS (5 · 2^5 > 150). */
const RAMP_ATTEMPTS = 6
const READ_MS = 1_000
const MIN_GRACE_MS = 3_000
const GRACE_FACTOR = 3

/** How long to wait before asking a replica again, by attempt (0: after the first answer without it). */
export const retryDelayMs = (attempt: number): number =>
  Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(attempt, RAMP_ATTEMPTS))

/** The same version of a dat: same time, signature and work. */
export const sameVersion = (a: Entry, b: Entry): boolean =>
  a.dat.time === b.dat.time && Dat.bytesEqual(a.dat.sig, b.dat.sig) && Dat.bytesEqual(a.dat.work, b.dat.work)

/** The replicas among `targets` that served `entry` back, in the order of `targets`. */
export const confirm = (
  node: DaveNode.DaveNodeShape,
  entry: Entry,
  targets: ReadonlyArray<AddrPort>,
  timeoutMs: number
): Effect.Effect<ReadonlyArray<AddrPort>> =>
  Effect.gen(function* () {
    const startMs = yield* Clock.currentTimeMillis
    const deadlineMs = startMs + timeoutMs
    let cutoffMs = deadlineMs
    const confirmed = targets.map(() => false)
    // Indices into `targets` still asked, in rounds: one GET to each per round.
    let open = targets.map((_, i) => i)
    // Bounded: past the ramp every round waits RETRY_MAX_MS.
    const maxRounds = Math.ceil(timeoutMs / RETRY_MAX_MS) + RAMP_ATTEMPTS + 1
    for (let round = 0; round < maxRounds && open.length > 0; round++) {
      const nowMs = yield* Clock.currentTimeMillis
      if (nowMs >= cutoffMs) break
      const asked = open.map((i) => targets[i]!)
      const answers = yield* node
        .ask(entry.dat.pubKey, entry.dat.key, asked, Math.min(cutoffMs - nowMs, READ_MS))
        .pipe(Effect.orElseSucceed(() => asked.map(() => Option.none<Entry>())))
      const tookMs = (yield* Clock.currentTimeMillis) - startMs
      const still: Array<number> = []
      open.forEach((i, k) => {
        const got = answers[k] ?? Option.none<Entry>()
        if (Option.isSome(got) && sameVersion(got.value, entry)) {
          confirmed[i] = true
          if (cutoffMs === deadlineMs)
            cutoffMs = Math.min(deadlineMs, startMs + Math.max(MIN_GRACE_MS, GRACE_FACTOR * tookMs))
        } else if (!(Option.isSome(got) && got.value.dat.time > entry.dat.time)) {
          // Not there yet (a newer version there means it will never hold ours: not asked again).
          still.push(i)
        }
      })
      open = still
      if (open.length > 0) yield* Effect.sleep(retryDelayMs(round))
    }
    return targets.filter((_, i) => confirmed[i])
  })
