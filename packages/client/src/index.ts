/**
 * @dave/client: the DaveClient service (put, get, peers, status) and its layers, for Effect apps
 * that use a Dave network without running a full node.
 */

/** Key pairs and key files (re-exported from @dave/crypto, so apps need only this package). */
export { KeyFile, type KeyPair } from "@dave/crypto"
export * as AdminApi from "./AdminApi.ts"
export * as ClientError from "./ClientError.ts"
export * as Confirm from "./Confirm.ts"
export * as DaveClient from "./DaveClient.ts"
export * as LightNode from "./LightNode.ts"
export * as NodeAddress from "./NodeAddress.ts"
