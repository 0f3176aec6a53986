import { Deadlines, PendingReads, Reads, Replication } from "@dave/network"
import { type AddrPort, Dat, type Entry } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"

const addr = (port: number): AddrPort => ({ ip: Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? 1 : 0)), port })
const pubKey = new Uint8Array(32).fill(7)
const key = new TextEncoder().encode("k")
const entry = (time: bigint, workByte: number, value = "v"): Entry => ({
  replicas: [0n, 0n, 0n, 0n, 0n],
  dat: {
    time,
    salt: new Uint8Array(16),
    work: new Uint8Array(32).fill(workByte),
    sig: new Uint8Array(64).fill(1),
    pubKey,
    key,
    value: new TextEncoder().encode(value)
  }
})

describe("versions", () => {
  it("later time wins, then the greater work hash", () => {
    expect(Reads.compareVersions(entry(2n, 0), entry(1n, 9))).toBeGreaterThan(0)
    expect(Reads.compareVersions(entry(1n, 3), entry(1n, 4))).toBeLessThan(0)
    expect(Reads.compareVersions(entry(1n, 3), entry(1n, 3))).toBe(0)
  })

  it("pickNewest ignores invalid answers and keeps our copy when it is newest", () => {
    const mine = entry(5n, 1)
    const answers = [
      { from: addr(1), entry: entry(9n, 1), valid: false },
      { from: addr(2), entry: entry(4n, 1), valid: true }
    ]
    expect(Reads.pickNewest(Option.some(mine), answers)).toEqual(Option.some(mine))
    expect(Reads.pickNewest(Option.none(), answers)).toEqual(Option.some(answers[1]!.entry))
    expect(Reads.pickNewest(Option.none(), [])).toEqual(Option.none())
  })
})

describe("PendingReads", () => {
  it("delivers only to reads that asked that address for that slot, and is bounded", () => {
    const pending = new PendingReads.PendingReads(1)
    const got: Array<number> = []
    const unregister = pending.register(pubKey, key, [addr(1)], (a) => got.push(a.from.port))
    expect(unregister).toBeDefined()
    expect(pending.register(pubKey, key, [addr(2)], () => {})).toBeUndefined()
    expect(pending.wants(addr(1), pubKey, key)).toBe(true)
    expect(pending.wants(addr(2), pubKey, key)).toBe(false)
    expect(pending.deliver({ from: addr(2), entry: entry(1n, 1), valid: true })).toBe(false)
    expect(pending.deliver({ from: addr(1), entry: entry(1n, 1), valid: true })).toBe(true)
    // One answer per address asked: a duplicate is not taken.
    expect(pending.wants(addr(1), pubKey, key)).toBe(false)
    expect(pending.deliver({ from: addr(1), entry: entry(1n, 1), valid: true })).toBe(false)
    unregister!()
    unregister!()
    expect(pending.size).toBe(0)
    expect(pending.deliver({ from: addr(1), entry: entry(1n, 1), valid: true })).toBe(false)
    expect(got).toEqual([1])
  })

  it("pairs a replica's answers with the reads that asked it in the order they registered", () => {
    const pending = new PendingReads.PendingReads(8)
    const got: Array<string> = []
    // An earlier read still waits for replica 1 (its answer is on the way) when a second one asks it.
    pending.register(pubKey, key, [addr(1), addr(2)], (a) => got.push(`first:${a.from.port}:${a.entry.dat.time}`))
    pending.register(pubKey, key, [addr(1)], (a) => got.push(`second:${a.from.port}:${a.entry.dat.time}`))
    expect(pending.deliver({ from: addr(1), entry: entry(1n, 1), valid: true })).toBe(true) // the older answer
    expect(pending.deliver({ from: addr(1), entry: entry(2n, 1), valid: true })).toBe(true)
    expect(pending.deliver({ from: addr(2), entry: entry(1n, 2), valid: true })).toBe(true)
    expect(got).toEqual(["first:1:1", "second:1:2", "first:2:1"])
    expect(pending.wants(addr(1), pubKey, key)).toBe(false)
  })
})

describe("Reads.run", () => {
  it.live("returns the newest valid answer, names stale replicas, and stops at the timeout", () =>
    Effect.gen(function* () {
      const pending = new PendingReads.PendingReads(8)
      const targets = [addr(1), addr(2), addr(3)]
      const sendGets = Effect.sync(() => {
        pending.deliver({ from: addr(1), entry: entry(3n, 1, "new"), valid: true })
        pending.deliver({ from: addr(2), entry: Dat.notFound(pubKey, key), valid: false })
        pending.deliver({ from: addr(2), entry: entry(9n, 9), valid: true }) // a second answer from 2 is ignored
      })
      const started = Date.now()
      const result = yield* Reads.run(
        pending,
        yield* Deadlines.make(),
        { pubKey, key, targets, local: Option.some(entry(1n, 1, "old")), timeoutMs: 2_000, graceMs: 100 },
        sendGets
      )
      expect(Option.isSome(result.newest) && new TextDecoder().decode(result.newest.value.dat.value)).toBe("new")
      expect(result.answered).toBe(2)
      expect(result.stale.map((a) => a.port)).toEqual([2])
      expect(result.newerThanLocal).toBe(true)
      // Replica 3 never answered: the read ended after the grace, not the timeout.
      expect(Date.now() - started).toBeLessThan(1_000)
      expect(pending.size).toBe(0)
    })
  )

  it.live("with no valid answer waits for the timeout and returns our copy", () =>
    Effect.gen(function* () {
      const pending = new PendingReads.PendingReads(8)
      const mine = entry(1n, 1)
      const started = Date.now()
      const result = yield* Reads.run(
        pending,
        yield* Deadlines.make(),
        { pubKey, key, targets: [addr(1)], local: Option.some(mine), timeoutMs: 200, graceMs: 10 },
        Effect.void
      )
      expect(Date.now() - started).toBeGreaterThanOrEqual(190)
      expect(result.newest).toEqual(Option.some(mine))
      expect(result.newerThanLocal).toBe(false)
      expect(result.answered).toBe(0)
    })
  )
})

describe("Replication", () => {
  const candidate = (nodeId: bigint, self = false) => ({
    nodeId,
    addr: self ? undefined : addr(Number(nodeId)),
    self,
    reliability: 0
  })

  it("pads replica lists to FANOUT and compares them as sets", () => {
    expect(Replication.replicaIds([candidate(3n), candidate(4n)])).toEqual([3n, 4n, 0n, 0n, 0n])
    expect(Replication.sameReplicas([1n, 2n, 0n, 0n, 0n], [2n, 1n, 0n, 0n, 0n])).toBe(true)
    expect(Replication.sameReplicas([1n, 2n, 0n, 0n, 0n], [1n, 3n, 0n, 0n, 0n])).toBe(false)
  })

  it("newcomers are the candidates missing from the list; remote addresses skip ourselves", () => {
    const cs = [candidate(1n, true), candidate(2n), candidate(5n)]
    expect(Replication.newcomers(cs, [1n, 2n, 0n, 0n, 0n]).map((c) => c.nodeId)).toEqual([5n])
    expect(Replication.remoteAddrs(cs).map((a) => a.port)).toEqual([2, 5])
  })
})
