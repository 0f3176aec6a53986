/**
 * @dave/protocol: the Dave wire format. Constants, typed messages, and a total binary codec. No I/O.
 */

export type { AddrPort } from "./Address.ts"
export * as Address from "./Address.ts"
export * as Codec from "./Codec.ts"
export { DecodeError, type DecodeReason, EncodeError, type EncodeReason } from "./CodecError.ts"
export * as Constants from "./Constants.ts"
export * as Dat from "./Dat.ts"
export type {
  Dat as DatValue,
  Entry,
  Get,
  GetAck,
  GetMyAddrPort,
  GetMyAddrPortAck,
  Ping,
  Pong,
  Put
} from "./Message.ts"
export * as Message from "./Message.ts"
export * as NodeId from "./NodeId.ts"
