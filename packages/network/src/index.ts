/**
 * @dave/network: the running node's I/O and protocol logic.
 */
export * as AddressConversion from "./AddressConversion.ts"
export * as DaveNode from "./DaveNode.ts"
export * as HeldGets from "./HeldGets.ts"
export * as NodeMetrics from "./NodeMetrics.ts"
export * as NodeStack from "./NodeStack.ts"
export * as PendingReads from "./PendingReads.ts"
export * as Reads from "./Reads.ts"
export * as Replication from "./Replication.ts"
export * as SourceGuard from "./SourceGuard.ts"
export * as TcpFrame from "./TcpFrame.ts"
export type { Inbound, TransportErrorReason } from "./Transport.ts"
export * as Transport from "./Transport.ts"
export { TransportError } from "./Transport.ts"
export * as TransportStats from "./TransportStats.ts"
export * as UdpTransport from "./UdpTransport.ts"
export * as VerifiedDats from "./VerifiedDats.ts"
