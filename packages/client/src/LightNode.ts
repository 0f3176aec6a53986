import { KeyFile } from "@dave/crypto"
import { DaveNode, NodeStack } from "@dave/network"
import type { PeerOptions, PeerTableCore } from "@dave/peers"
import { Address, type AddrPort } from "@dave/protocol"
import { Clock, Context, Effect, Layer, type Scope } from "effect"
import * as ClientError from "./ClientError.ts"

/**
 * A light node (DaveNode with `light: true`) for a client: it joins the network through its edges,
 * reads and writes through the replicas, and holds nobody's data. Starting one waits until it can
 * be used: an edge answered our challenge, the peers the edge knows were asked, and the peers we
 * will read from challenged us in turn (a node serves data only to addresses that answered its
 * challenge, PROTOCOL 13.9).
 */

export interface LightNodeOptions {
  readonly edges: ReadonlyArray<AddrPort>
  /** Local UDP bind address (default "::", dual stack); the port is ephemeral. */
  readonly host?: string
  /** How long to wait for an edge to answer. */
  readonly timeoutMs: number
  /** Overrides of the peer table's options (e.g. PeerOptions.loopback for many nodes on one IP). */
  readonly peers?: Partial<PeerOptions.PeerOptions>
}

/** A light node stores nothing; its store only needs to exist. */
const CAPACITY_BYTES = 1024
/**
 * Our PINGs to edges and peers go out every 250 ms instead of the reference's 1 s: a client lives
 * for seconds, and the edge lists its peers only in answers to PINGs after it has verified us.
 */
const PING_INTERVAL_MS = 250
const TICK_MS = 50
const POLL_MS = 25
/** Once the edge is up, the longest wait for the rest of the network to settle. */
const MAX_SETTLE_MS = 3_000
/** A peer known this long that never answered is taken for dead and not waited for. */
const DEAD_AFTER_MS = 600

/** Whether a peer has sent us a PING (a challenge): only PINGs carry a store status. */
const challengedUs = (p: PeerTableCore.PeerView): boolean => p.capacityBytes > 0n || p.usedBytes > 0n

/**
 * Whether the client's view of the network is ready: an edge is active, it has challenged us and
 * answered a PING of ours since (so its PONG listed its peers), and every active peer has
 * challenged us (its PINGs carry its capacity, which we record; before it there is none).
 */
export const isSettled = (
  peers: ReadonlyArray<PeerTableCore.PeerView>,
  edgeVerifiedUsAtMs: number | undefined,
  nowMs: number
): boolean => {
  if (edgeVerifiedUsAtMs === undefined) return false
  const edgeListedPeers = peers.some((p) => p.edge && p.active && (p.lastSolvedMs ?? 0) > edgeVerifiedUsAtMs)
  if (!edgeListedPeers) return false
  return peers.every((p) => (p.active ? challengedUs(p) : nowMs - p.addedMs >= DEAD_AFTER_MS || p.verified))
}

/** Waits until the node is ready (see `isSettled`); fails Unreachable if no edge answered in time. */
export const awaitReady = (
  node: DaveNode.DaveNodeShape,
  edges: ReadonlyArray<AddrPort>,
  timeoutMs: number
): Effect.Effect<void, ClientError.ClientError> =>
  Effect.gen(function* () {
    const startMs = yield* Clock.currentTimeMillis
    const deadlineMs = startMs + timeoutMs
    let edgeUpMs: number | undefined
    let edgeVerifiedUsAtMs: number | undefined
    const maxPolls = Math.ceil(timeoutMs / POLL_MS) + 1
    for (let poll = 0; poll < maxPolls; poll++) {
      const peers = yield* node.peers
      const nowMs = yield* Clock.currentTimeMillis
      const edgesUp = peers.filter((p) => p.edge && p.active)
      if (edgesUp.length > 0) {
        edgeUpMs ??= nowMs
        if (edgeVerifiedUsAtMs === undefined && edgesUp.some(challengedUs)) edgeVerifiedUsAtMs = nowMs
        if (isSettled(peers, edgeVerifiedUsAtMs, nowMs)) return
        if (nowMs - edgeUpMs >= MAX_SETTLE_MS || nowMs >= deadlineMs) return
      } else if (nowMs >= deadlineMs) {
        break
      }
      yield* Effect.sleep(POLL_MS)
    }
    const names = edges.map(Address.toString).join(", ")
    return yield* ClientError.unreachable(`no answer from ${names} within ${timeoutMs} ms`)
  })

/** Starts a light node in the current scope and waits until it is ready. */
export const start = (
  options: LightNodeOptions
): Effect.Effect<DaveNode.DaveNodeShape, ClientError.ClientError, Scope.Scope> =>
  Effect.gen(function* () {
    if (options.edges.length === 0) return yield* ClientError.usage("no node to connect to")
    const keyPair = yield* KeyFile.generate()
    const stack = NodeStack.layer({
      keyPair,
      host: options.host ?? "::",
      port: 0,
      edges: options.edges,
      capacityBytes: CAPACITY_BYTES,
      node: { light: true, tickEveryMs: TICK_MS },
      peers: { minPingIntervalMs: PING_INTERVAL_MS, ...options.peers, activateAfterMs: 0 }
    })
    const context = yield* Layer.build(Layer.fresh(stack)).pipe(
      Effect.mapError((e) =>
        e._tag === "PeerOptionsError"
          ? ClientError.usage(`bad peer option ${e.option}: ${e.message}`)
          : ClientError.unreachable(`cannot start the client's UDP node: ${e.message}`)
      )
    )
    const node = Context.get(context, DaveNode.DaveNode)
    yield* awaitReady(node, options.edges, options.timeoutMs)
    return node
  })
