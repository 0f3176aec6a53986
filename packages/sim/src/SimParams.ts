import type { DaveNode } from "@dave/network"
import type { PeerOptions } from "@dave/peers"
import { Constants } from "@dave/protocol"

/**
 * Node settings for simulations. The internet defaults (a PING to every peer each second or so, a
 * tick every 250 ms, 256-peer tables) would cost ~50 datagrams per node per virtual second, far
 * more than 1,000 nodes × 1 hour can afford in a minute. The liveness rules are therefore run on a
 * slower clock: every liveness time (fastest ping interval, activation delay, deactivation and drop
 * windows) is multiplied by `livenessScale`, which keeps their ratios (a peer is active while it
 * answered within 3 ping intervals, dropped after 12) and so the protocol's semantics, only slower.
 * The ping budget is sized so that a full table is pinged every `targetPingIntervalMs`. Times that
 * measure the network rather than liveness (storage-challenge deadline, read timeout) are kept.
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
}

export interface ScaleOptions {
  readonly nodes: number
  /** Default 10. */
  readonly livenessScale?: number
  /** Default: every node's table holds the whole network up to 128 nodes, 64 peers beyond. */
  readonly maxPeers?: number
  /** How often a full table's peers are each pinged; default 40 s. */
  readonly targetPingIntervalMs?: number
}

const BUDGET_UTILISATION = 0.8

export const scaled = (options: ScaleOptions): SimParams => {
  const scale = options.livenessScale ?? 10
  const maxPeers = options.maxPeers ?? (options.nodes <= 128 ? Math.max(8, options.nodes) : 64)
  const targetMs = options.targetPingIntervalMs ?? 40_000
  const maxPingsPerSecond = Math.max(1, Math.ceil((maxPeers * 1000) / (BUDGET_UTILISATION * targetMs)))
  return {
    peers: {
      maxPeers,
      // Honest nodes sit on distinct IPs and /48s, so the internet caps stay in force.
      maxPeersPerIp: 4,
      maxPeersPerPrefix: 16,
      maxPingsPerSecond,
      minPingIntervalMs: Constants.PING_INTERVAL_MS * scale,
      activateAfterMs: Constants.ACTIVATE_AFTER_MS * scale,
      deactivateAfterMs: Constants.DEACTIVATE_AFTER_MS * scale,
      dropAfterMs: Constants.DROP_AFTER_MS * scale
    },
    node: {
      tickEveryMs: 2_000,
      storageChallengeEveryMs: Constants.STORAGE_CHALLENGE_EVERY_MS,
      replicateEveryMs: 30_000,
      compactEveryMs: 10 * 60_000
    },
    capacityBytes: 16 * 1024 * 1024,
    storePruneEveryMs: 10 * 60_000,
    bootstrapCount: Math.min(options.nodes, Math.max(4, Math.min(32, Math.ceil(options.nodes / 100)))),
    edgesPerNode: 2
  }
}
