import { PeerTableCore, Rng } from "@dave/peers"
import { Address, type AddrPort, type Ping, type Pong } from "@dave/protocol"
import { Result } from "effect"

/** An IPv4 address (held as ::ffff:a.b.c.d). */
export const v4 = (text: string, port: number): AddrPort => Address.fromHostPort(text, port)!

/** A distinct address per index, each in its own /24 (so caps do not interfere). */
export const distinct = (i: number, port = 4000): AddrPort => v4(`10.${(i >> 8) & 255}.${i & 255}.1`, port)

/** A fake 32-byte public key whose node ID (LE u64 of bytes 0..7) is `id`. */
export const keyFor = (id: bigint, tag = 0): Uint8Array => {
  const k = new Uint8Array(32)
  for (let i = 0; i < 8; i++) k[i] = Number((id >> BigInt(8 * i)) & 0xffn)
  k[31] = tag
  return k
}

/**
 * A stand-in for Ed25519 that still binds the answer to the challenge, salt and key: the "signature"
 * is challenge ‖ salt ‖ first 16 bytes of the key. Real verification is the node's job.
 */
export const fakeSign = (challenge: Uint8Array, salt: Uint8Array, pubKey: Uint8Array): Uint8Array => {
  const sig = new Uint8Array(64)
  sig.set(challenge, 0)
  sig.set(salt, 32)
  sig.set(pubKey.subarray(0, 16), 48)
  return sig
}

export const fakeVerify: PeerTableCore.VerifyAnswer = (challenge, salt, pubKey, sig) => {
  const want = fakeSign(challenge, salt, pubKey)
  return want.every((b, i) => sig[i] === b)
}

/** A PING as a storing node sends it (capacity 0 would mark a light client). */
export const ping = (used = 0n, capacity = 1n << 30n): Ping => ({
  _tag: "Ping",
  challenge: new Uint8Array(32).fill(7),
  used,
  capacity
})

export const pong = (challenge: Uint8Array, pubKey: Uint8Array, addrs: ReadonlyArray<AddrPort> = []): Pong => {
  const salt = new Uint8Array(16).fill(3)
  return { _tag: "Pong", addrs, challenge, salt, pubKey, sig: fakeSign(challenge, salt, pubKey) }
}

export const makeCore = (overrides: Parameters<typeof PeerTableCore.PeerTableCore.make>[0] = {}) => {
  const r = PeerTableCore.PeerTableCore.make({ challengeBytes: "random", ...overrides })
  if (Result.isFailure(r)) throw new Error(`bad options: ${r.failure.message}`)
  return r.success
}

export const rng = (seed: string | number = 1): Rng.Rng => Rng.seeded(seed)

/** The challenge of the PING to `to` in a tick result, if any. */
export const challengeTo = (result: PeerTableCore.TickResult, to: AddrPort): Uint8Array | undefined =>
  result.pings.find((p) => Address.equals(p.to, to))?.challenge

/**
 * Drives a core on a fixed tick and answers PINGs for the addresses in `live` (addr key → public
 * key) right away. Records every PING sent.
 */
export class Driver {
  readonly core: PeerTableCore.PeerTableCore
  readonly rng: Rng.Rng
  readonly live = new Map<string, { readonly addr: AddrPort; readonly pubKey: Uint8Array }>()
  /** Addresses that PING us once per second during `runUntil`, as reference peers do. */
  readonly pingers = new Map<string, AddrPort>()
  readonly log: Array<{ readonly atMs: number; readonly to: AddrPort }> = []
  readonly dropped: Array<PeerTableCore.Dropped & { readonly atMs: number }> = []
  nowMs: number
  #lastPingerSecond = -1

  constructor(core: PeerTableCore.PeerTableCore, startMs = 0, seed: string | number = 1) {
    this.core = core
    this.nowMs = startMs
    this.rng = rng(seed)
  }

  setLive(addr: AddrPort, pubKey: Uint8Array | undefined): void {
    if (pubKey === undefined) this.live.delete(Address.key(addr))
    else this.live.set(Address.key(addr), { addr, pubKey })
  }

  /** A PING from `from` arrives now. */
  inbound(from: AddrPort): PeerTableCore.PingReply | undefined {
    const admission = this.core.admit(from, 49, this.nowMs)
    return admission.admitted ? this.core.onPing(from, ping(), this.nowMs, this.rng) : undefined
  }

  tickOnce(): PeerTableCore.TickResult {
    const result = this.core.tick(this.nowMs, this.rng)
    for (const d of result.dropped) this.dropped.push({ ...d, atMs: this.nowMs })
    for (const p of result.pings) {
      this.log.push({ atMs: this.nowMs, to: p.to })
      const peer = this.live.get(Address.key(p.to))
      if (peer !== undefined) this.core.onPong(p.to, pong(p.challenge, peer.pubKey), this.nowMs, fakeVerify)
    }
    return result
  }

  /** Ticks every `stepMs` until `untilMs` (inclusive of the current time, exclusive of `untilMs`). */
  runUntil(untilMs: number, stepMs = 1_000): void {
    const maxSteps = Math.ceil((untilMs - this.nowMs) / stepMs) + 1
    for (let i = 0; i < maxSteps && this.nowMs < untilMs; i++) {
      if (this.#lastPingerSecond !== Math.floor(this.nowMs / 1_000)) {
        this.#lastPingerSecond = Math.floor(this.nowMs / 1_000)
        for (const from of this.pingers.values()) this.inbound(from)
      }
      this.tickOnce()
      this.nowMs += stepMs
    }
  }

  pingsTo(addr: AddrPort): Array<number> {
    return this.log.filter((e) => Address.equals(e.to, addr)).map((e) => e.atMs)
  }
}
