/**
 * @dave/peers: the peer table. Challenges and key pinning, activation and pruning, edges, ping
 * budget, caps and limits, reliability, storage challenges. Holds state and decides; no I/O.
 */
export * as AmplificationBudget from "./AmplificationBudget.ts"
export * as BoundedMap from "./BoundedMap.ts"
export * as NetPrefix from "./NetPrefix.ts"
export * as PeerMetrics from "./PeerMetrics.ts"
export * as PeerOptions from "./PeerOptions.ts"
export * as PeerTable from "./PeerTable.ts"
export * as PeerTableCore from "./PeerTableCore.ts"
export * as RateLimiter from "./RateLimiter.ts"
export * as Reliability from "./Reliability.ts"
export * as Rng from "./Rng.ts"
export * as SendWindow from "./SendWindow.ts"
