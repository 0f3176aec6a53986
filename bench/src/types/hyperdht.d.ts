/** The part of hyperdht 6 (untyped CommonJS) that the bench uses. */
declare module "hyperdht" {
  interface KeyPair {
    readonly publicKey: Uint8Array
    readonly secretKey: Uint8Array
  }
  interface MutableGetResult {
    readonly seq: number
    readonly value: Uint8Array
  }
  export default class HyperDHT {
    static keyPair(seed?: Uint8Array): KeyPair
    mutablePut(
      keyPair: KeyPair,
      value: Uint8Array
    ): Promise<{ readonly closestNodes: ReadonlyArray<unknown>; readonly seq: number }>
    mutableGet(publicKey: Uint8Array): Promise<MutableGetResult | null>
    destroy(): Promise<void>
  }
}

declare module "hyperdht/testnet.js" {
  import type HyperDHT from "hyperdht"

  interface Testnet {
    readonly nodes: Array<HyperDHT>
    destroy(): Promise<void>
  }
  export default function createTestnet(size: number, options?: { readonly host?: string }): Promise<Testnet>
}
