import type { DaveNode } from "@dave/network"
import { PeerOptions } from "@dave/peers"
import { Constants } from "@dave/protocol"

/**
 * Node settings for simulations. The internet defaults (a PING to every peer each second or so, a
 * tick every 250 ms, 256-peer tables) cost tens of datagrams per node per virtual second, far more
 * than 1,000 nodes × 1 hour can afford. The liveness rules therefore run on a slower clock: every
 * liveness time (fastest ping interval, activation delay, deactivation and drop windows, and the
 * amplification window that lets a challenge follow a PING) is multiplied by `livenessScale`. That
 * keeps their ratios (a peer is active while it answered within 3 ping intervals, dropped after 12,
 * selectable 5 intervals after it appeared), so the protocol's semantics hold, only slower. The tick
 * runs at a third of the fastest ping interval, and all the PINGs of a tick go out at one instant,
 * which a budget of PINGs "per second" sees as one burst: the budget is therefore sized per tick,
 * so that a full table takes 40 % of it and the rest is left for newcomers (as with the defaults
 * for tables below 26 peers). Times that measure the network rather than liveness (storage
 * challenge period and deadline, read timeout) keep their defaults.
 */

export interface SimParams {
  readonly peers: Partial<PeerOptions.PeerOptions>
  readonly node: DaveNode.DaveNodeOptions
  readonly capacityBytes: number
  readonly storePruneEveryMs: number
  /** Nodes the others use as edges (bootstrap). */
  readonly bootstrapCount: number
  /** Edges each non-bootstrap node is given. */
  readonly edgesPerNode: number
  /**
   * Table size of the bootstrap nodes. A node whose table is full of active peers refuses a
   * newcomer, cannot verify it, and so answers it with bare PONGs: a newcomer whose edges are all
   * full never learns an address. Bootstrap nodes get room for every node that names them.
   */
  readonly bootstrapMaxPeers: number
}

export interface ScaleOptions {
  readonly nodes: number
  /** Default 10 up to 128 nodes, 60 beyond. */
  readonly livenessScale?: number
  /** Default: every node's table holds the whole network up to 128 nodes, 32 peers beyond. */
  readonly maxPeers?: number
  /**
   * Multiplier of the 5 s activation delay; default `livenessScale` (so a newcomer is selectable 5
   * fastest ping intervals after it appeared). A coarse profile shortens it so that a network whose
   * peers are pinged every few minutes still forms within the hour.
   */
  readonly activationScale?: number
  /** Bytes a node sends per byte received toward unverified addresses; default the peer table's (3). */
  readonly amplificationFactor?: number
}

/**
 * The coarse profile of the scale benchmark (1,000 to 10,000 nodes for a virtual hour): every peer
 * pinged every 10 minutes (liveness ×600: active while it answered within 30 min, dropped after 2 h),
 * 16-peer tables, and a newcomer selectable 10 minutes (one ping interval, instead of five) after it
 * appeared, so that the network still forms within the hour. An idle node then sends about one
 * datagram a minute. The amplification factor stays the protocol's 3.
 */
export const COARSE = { livenessScale: 600, maxPeers: 16, activationScale: 120 } as const

export const coarse = (nodes: number): SimParams => scaled({ nodes, ...COARSE })

/** Share of the ping budget a full table uses at the fastest interval. */
const FULL_TABLE_SHARE = 0.4

export const scaled = (options: ScaleOptions): SimParams => {
  const small = options.nodes <= 128
  const scale = options.livenessScale ?? (small ? 10 : 60)
  const maxPeers = options.maxPeers ?? (small ? Math.max(8, options.nodes) : 32)
  const minPingIntervalMs = Constants.PING_INTERVAL_MS * scale
  const tickEveryMs = Math.round(minPingIntervalMs / 3)
  const pingsPerTick = (maxPeers * tickEveryMs) / minPingIntervalMs
  const maxPingsPerSecond = Math.max(1, Math.ceil(pingsPerTick / FULL_TABLE_SHARE))
  // One per 100 nodes, 4 to 32. (100 of them at 10,000 nodes, with 400-node tables each, left a
  // node with 2 active peers after an hour in the coarse profile; 32 with 1,250 each formed.)
  const bootstrapCount = Math.min(options.nodes, Math.max(4, Math.min(32, Math.ceil(options.nodes / 100))))
  const edgesPerNode = 2
  return {
    peers: {
      maxPeers,
      // Honest nodes sit on distinct IPs and /48s, so the internet caps stay in force.
      maxPeersPerIp: 4,
      maxPeersPerPrefix: 16,
      maxPingsPerSecond,
      minPingIntervalMs,
      activateAfterMs: Constants.ACTIVATE_AFTER_MS * (options.activationScale ?? scale),
      deactivateAfterMs: Constants.DEACTIVATE_AFTER_MS * scale,
      dropAfterMs: Constants.DROP_AFTER_MS * scale,
      amplificationWindowMs: 5_000 * scale,
      // Both count in ping intervals too: the longest idle interval, and how often a table full of
      // active peers may give one up for an inbound newcomer (30 intervals by default).
      maxPingIntervalMs: PeerOptions.defaults.maxPingIntervalMs * scale,
      activeEvictionIntervalMs: PeerOptions.defaults.activeEvictionIntervalMs * scale,
      ...(options.amplificationFactor === undefined ? {} : { amplificationFactor: options.amplificationFactor }),
      // The cached active set and selection weights live one fastest ping interval: PINGs arrive
      // that far apart, and a 1 s cache would be rebuilt for nearly every one of them.
      selectionRefreshMs: minPingIntervalMs
    },
    node: {
      tickEveryMs,
      // One round of storage challenges, and one re-replication check, per fastest ping interval.
      storageChallengeEveryMs: Math.max(Constants.STORAGE_CHALLENGE_EVERY_MS, minPingIntervalMs),
      replicateEveryMs: Math.max(10_000, minPingIntervalMs),
      compactEveryMs: 10 * 60_000,
      // Nobody reads a simulated node's effect Metrics: flushing them every second was the largest
      // fixed cost per node. They are flushed once, when the node stops.
      metricsFlushEveryMs: 0
    },
    capacityBytes: 16 * 1024 * 1024,
    storePruneEveryMs: 10 * 60_000,
    bootstrapCount,
    edgesPerNode,
    bootstrapMaxPeers: Math.max(maxPeers, Math.ceil((2 * options.nodes * edgesPerNode) / bootstrapCount))
  }
}
