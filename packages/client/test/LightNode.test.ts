import { LightNode } from "@dave/client"
import type { PeerTableCore } from "@dave/peers"
import { Address } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"

/** When a client's light node counts as ready (its inputs are the peer table's views). */

const peer = (port: number, overrides: Partial<PeerTableCore.PeerView>): PeerTableCore.PeerView => ({
  addr: Address.fromHostPort("::1", port)!,
  nodeId: BigInt(port),
  publicKey: new Uint8Array(32),
  origin: "introduced",
  edge: false,
  active: true,
  verified: true,
  reliability: 0,
  addedMs: 0,
  lastSeenMs: 1_000,
  lastSolvedMs: 1_000,
  pingIntervalMs: 250,
  usedBytes: 0n,
  capacityBytes: 1n << 30n,
  challengesPassed: 0,
  challengesFailed: 0,
  contributions: 0,
  ...overrides
})

const edge = (lastSolvedMs: number) => peer(1618, { origin: "edge", edge: true, lastSolvedMs })

describe("LightNode.isSettled", () => {
  it("waits for the edge to challenge us, then for one more answer from it (the one that lists its peers)", () => {
    expect(LightNode.isSettled([edge(1_000)], undefined, 1_000)).toBe(false)
    expect(LightNode.isSettled([edge(1_000)], 1_000, 1_100)).toBe(false)
    expect(LightNode.isSettled([edge(1_250)], 1_000, 1_300)).toBe(true)
  })

  it("waits for every active peer to have challenged us (its PINGs report a capacity)", () => {
    const quiet = peer(2000, { capacityBytes: 0n })
    expect(LightNode.isSettled([edge(1_250), quiet], 1_000, 1_300)).toBe(false)
    expect(LightNode.isSettled([edge(1_250), { ...quiet, usedBytes: 5n }], 1_000, 1_300)).toBe(true)
    expect(LightNode.isSettled([edge(1_250), { ...quiet, capacityBytes: 1n }], 1_000, 1_300)).toBe(true)
  })

  it("waits for introduced peers to answer, but not for long for ones that never do", () => {
    const fresh = peer(2001, { active: false, verified: false, addedMs: 1_200, lastSolvedMs: undefined })
    expect(LightNode.isSettled([edge(1_250), fresh], 1_000, 1_300)).toBe(false)
    expect(LightNode.isSettled([edge(1_250), fresh], 1_000, 1_900)).toBe(true)
    // A peer that answered before and went quiet is not waited for.
    const gone = peer(2002, { active: false, verified: true, addedMs: 1_250 })
    expect(LightNode.isSettled([edge(1_250), gone], 1_000, 1_300)).toBe(true)
  })
})
