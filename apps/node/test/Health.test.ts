import { BackupMetrics } from "@dave/backup"
import type { PeerTableCore } from "@dave/peers"
import { Address, Constants } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
// The daemon has no package exports: its pieces are tested from their source files.
import * as Health from "../src/Health.js"

/** The reasons behind GET /health, and the backup watch that feeds one of them. */

const peer = (port: number, edge: boolean, active: boolean): PeerTableCore.PeerView => ({
  addr: Address.parse(`[::1]:${port}`)!,
  nodeId: BigInt(port),
  publicKey: new Uint8Array(32),
  origin: edge ? "edge" : "inbound",
  edge,
  active,
  verified: active,
  reliability: 0.5,
  addedMs: 0,
  lastSeenMs: active ? 1 : undefined,
  lastSolvedMs: undefined,
  pingIntervalMs: 1000,
  usedBytes: 0n,
  capacityBytes: 0n,
  challengesPassed: 0,
  challengesFailed: 0,
  contributions: 0
})

const roomy = { entries: 0, usedBytes: 0, capacityBytes: 64 * 1024 * 1024 }

describe("health", () => {
  it("ready alone; degraded without active peers, without an online edge, on backup failures, when full", () => {
    const assess = (inputs: Partial<Health.HealthInputs>) =>
      Health.assess({ edgesConfigured: 0, peers: [], store: roomy, backupFailing: false, ...inputs })
    expect(assess({})).toEqual({ status: "ready", reasons: [] })
    expect(assess({ edgesConfigured: 1, peers: [peer(1, true, false)] })).toEqual({
      status: "degraded",
      reasons: ["no active peers"]
    })
    expect(assess({ edgesConfigured: 2, peers: [peer(1, true, false), peer(2, false, true)] }).reasons).toEqual([
      "no edge online (0 of 2)"
    ])
    expect(assess({ edgesConfigured: 1, peers: [peer(1, true, true)] })).toEqual({ status: "ready", reasons: [] })
    expect(assess({ backupFailing: true }).reasons).toEqual(["backup writes failing"])
    const largest = Constants.MAX_KEY_VALUE_LEN + Constants.ENTRY_SIZE_OVERHEAD
    const nearlyFull = { entries: 10, usedBytes: roomy.capacityBytes - largest + 1, capacityBytes: roomy.capacityBytes }
    expect(assess({ store: nearlyFull }).reasons).toEqual(["store full"])
    expect(assess({ store: { ...nearlyFull, usedBytes: nearlyFull.usedBytes - 1 } }).status).toBe("ready")
    expect(assess({ edgesConfigured: 1, backupFailing: true, store: nearlyFull }).reasons).toEqual([
      "no active peers",
      "backup writes failing",
      "store full"
    ])
  })

  it.live("the backup watch turns failing on a flush error and clears on the next successful flush", () =>
    Effect.gen(function* () {
      // Errors from before the watch started do not count.
      yield* Metric.update(BackupMetrics.flushErrors, 3)
      const watch = yield* Health.watchBackup(60_000)
      expect(yield* watch.failing).toBe(false)
      yield* Metric.update(BackupMetrics.flushErrors, 1)
      expect(yield* watch.failing).toBe(true)
      // Still failing while only errors come (the records are retried).
      yield* Metric.update(BackupMetrics.flushErrors, 1)
      expect(yield* watch.failing).toBe(true)
      expect(yield* watch.failing).toBe(true)
      yield* Metric.update(BackupMetrics.flushes, 1)
      expect(yield* watch.failing).toBe(false)
      expect(yield* watch.failing).toBe(false)
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map()))
  )
})
