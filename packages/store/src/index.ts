/**
 * @dave/store: the ShardStore service (256 shards, a true byte budget, exact priority eviction,
 * convergent updates) and its outcome, change and metric types.
 */
export * as KeyHash from "./KeyHash.ts"
export * as PutOutcome from "./PutOutcome.ts"
export { EntryRejected, type PutAccepted, type RejectReason } from "./PutOutcome.ts"
export * as ShardStore from "./ShardStore.ts"
export type { DropReason, StoreChange } from "./StoreChange.ts"
export * as StoreMetrics from "./StoreMetrics.ts"
