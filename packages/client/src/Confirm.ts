import type { DaveNode } from "@dave/network"
import { type AddrPort, Dat, type Entry } from "@dave/protocol"
import { Clock, Effect, Option } from "effect"

/**
 * Confirming a write: ask each replica it was sent to for the entry, until it serves this exact
 * version. A node verifies PUTs on a queue of its own, so a GET sent right after a PUT may be
 * answered before the PUT is stored; each replica is asked again every RETRY_MS. The asking stops
 * at the deadline, or once the stragglers have had GRACE_FACTOR times as long as the first
 * replica took (at least MIN_GRACE_MS): a peer that will never hold it (one that refuses it, or
 * another light client) then costs a bounded wait, not the whole timeout.
 */

const RETRY_MS = 150
const READ_MS = 1_000
const MIN_GRACE_MS = 3_000
const GRACE_FACTOR = 3

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
    const maxAttempts = Math.ceil(timeoutMs / RETRY_MS) + 1

    const askOne = (replica: AddrPort) =>
      Effect.gen(function* () {
        for (let attempt = 0; attempt < maxAttempts; attempt++) {
          const nowMs = yield* Clock.currentTimeMillis
          if (nowMs >= cutoffMs) return false
          const got = yield* node
            .get(entry.dat.pubKey, entry.dat.key, {
              targets: [replica],
              timeoutMs: Math.min(cutoffMs - nowMs, READ_MS)
            })
            .pipe(Effect.orElseSucceed(() => Option.none<Entry>()))
          if (Option.isSome(got)) {
            if (sameVersion(got.value, entry)) {
              const tookMs = (yield* Clock.currentTimeMillis) - startMs
              if (cutoffMs === deadlineMs)
                cutoffMs = Math.min(deadlineMs, startMs + Math.max(MIN_GRACE_MS, GRACE_FACTOR * tookMs))
              return true
            }
            // A newer version replaced ours there: it does not hold what we wrote.
            if (got.value.dat.time > entry.dat.time) return false
          }
          yield* Effect.sleep(RETRY_MS)
        }
        return false
      })

    const confirmed = yield* Effect.forEach(targets, askOne, { concurrency: "unbounded" })
    return targets.filter((_, i) => confirmed[i])
  })
