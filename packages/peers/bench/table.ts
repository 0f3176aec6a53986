/**
 * Cost of the peer table's hot calls on a full table: answering a PING from an active peer (with a
 * reliability-weighted address sample), a tick, and a closest() query. Run:
 *   node --conditions=source packages/peers/bench/table.ts
 * Every loop is bounded in count and in time.
 */
import { PeerOptions, PeerTableCore, Rng } from "@dave/peers"
import { Address, type AddrPort, type Ping, type Pong } from "@dave/protocol"
import { Result } from "effect"

const MAX_MS = 2_000

const keyFor = (i: number): Uint8Array => {
  const k = new Uint8Array(32)
  new DataView(k.buffer).setUint32(0, (i * 2654435761) >>> 0, true)
  new DataView(k.buffer).setUint32(4, i, true)
  return k
}
const ping: Ping = { _tag: "Ping", challenge: new Uint8Array(32), used: 0n, capacity: 0n }
const pong = (challenge: Uint8Array, pubKey: Uint8Array): Pong => ({
  _tag: "Pong",
  addrs: [],
  challenge,
  salt: new Uint8Array(16),
  pubKey,
  sig: new Uint8Array(64)
})

const measure = (name: string, maxCount: number, f: (i: number) => void): void => {
  const start = performance.now()
  let n = 0
  while (n < maxCount && performance.now() - start < MAX_MS) f(n++)
  const ms = performance.now() - start
  console.log(`${name}: ${((n / ms) * 1000).toFixed(0)} /s (${((ms * 1000) / n).toFixed(1)} µs each, ${n} runs)`)
}

for (const size of [256, 1_000]) {
  const made = PeerTableCore.PeerTableCore.make({ ...PeerOptions.loopback, maxPeers: size, challengeBytes: "random" })
  if (Result.isFailure(made)) throw new Error(made.failure.message)
  const core = made.success
  const rng = Rng.seeded(1)
  const addrs: Array<AddrPort> = Array.from(
    { length: size },
    (_, i) => Address.fromHostPort(`10.${(i >> 8) & 255}.${i & 255}.1`, 4000)!
  )
  let now = 0
  for (const a of addrs) {
    core.admit(a, 49, now)
    core.onPing(a, ping, now, rng)
  }
  // verify everyone: tick until each got a PING, answer at once
  for (let step = 0; step < 200 && core.activeCount(now) < size; step++) {
    for (const a of addrs) if (!core.isVerified(a)) core.admit(a, 49, now) // they PING us every second
    for (const p of core.tick(now, rng).pings) {
      const i = addrs.findIndex((a) => Address.equals(a, p.to))
      core.onPong(p.to, pong(p.challenge, keyFor(i)), now, () => true)
    }
    now += 1_000
  }
  console.log(`table of ${size}: ${core.activeCount(now)} active, ping interval ${core.pingIntervalMs()} ms`)
  measure(`  onPing from an active peer (12-address sample)`, 200_000, (i) => {
    core.onPing(addrs[i % size]!, ping, now, rng)
  })
  measure(`  tick (prune + schedule)`, 20_000, () => {
    core.tick(now, rng)
  })
  measure(`  closest(target, 5)`, 200_000, (i) => {
    core.closest((BigInt(i) * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn, 5, now)
  })
  measure(`  admit`, 500_000, (i) => {
    core.admit(addrs[i % size]!, 49, now)
  })
}
