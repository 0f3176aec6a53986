/** The part of bittorrent-dht 11 (untyped ESM) that the bench uses. */
declare module "bittorrent-dht" {
  interface DhtOptions {
    readonly bootstrap?: false | ReadonlyArray<string>
    readonly host?: string | false
    /** BEP 44: (signature, message, publicKey) => valid. */
    readonly verify?: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean
  }
  interface MutablePut {
    readonly k: Uint8Array
    readonly v: Uint8Array
    readonly seq: number
    readonly sign: (message: Uint8Array) => Uint8Array
  }
  interface GetResult {
    readonly v: Uint8Array
    readonly seq?: number
  }
  interface RoutingTable {
    count(): number
  }
  export default class DHT {
    constructor(options?: DhtOptions)
    readonly ready: boolean
    readonly nodes: RoutingTable
    listen(port: number, host: string, onListening: () => void): void
    address(): { readonly address: string; readonly port: number }
    once(event: "ready", listener: () => void): void
    on(event: "error" | "warning", listener: (error: Error) => void): void
    put(options: MutablePut, callback: (error: Error | null, hash: Uint8Array, responses: number) => void): Uint8Array
    get(
      hash: Uint8Array,
      options: { readonly cache?: boolean },
      callback: (error: Error | null, value: GetResult | null) => void
    ): void
    destroy(callback?: () => void): void
  }
}
