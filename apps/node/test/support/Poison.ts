import * as NodeCrypto from "node:crypto"
import { Challenge, Hasher, Signer } from "@dave/crypto"
import { PeerOptions } from "@dave/peers"
import { Address, type AddrPort, Constants } from "@dave/protocol"
import { Effect, Fiber, type Scope } from "effect"
import { getPeers } from "./Admin.ts"
import { encode, seedOf } from "./Client.ts"
import { senders, startDaemon, tempDir } from "./HardenDaemon.ts"
import { type Probe, probe } from "./Probe.ts"
import { breakdown, scrape } from "./Scrape.ts"

/**
 * Issue 8.5: one IP (127.0.0.2) with 1,000 ports pings a live daemon (internet peer limits) every
 * second from each port, answers its challenges with valid PONGs (a key per port), and names its
 * other ports in them; meanwhile honest peers on other IPs and /24s join. The table is sampled
 * every second. Goals: the attacker's IP never holds more than `maxPeersPerIp` entries, and every
 * honest peer becomes active and stays active to the end.
 */

export const ATTACKER_HOST = "127.0.0.2"
export const CAP_PER_IP: number = PeerOptions.defaults.maxPeersPerIp

export interface PoisonOptions {
  readonly ports: number
  readonly durationMs: number
  readonly honestPeers: number
}

export interface PoisonReport {
  readonly samples: number
  readonly attackerEntriesMax: number
  readonly attackerEntriesLast: number
  readonly attackerPings: number
  readonly attackerPongs: number
  readonly tableSizeMax: number
  readonly honest: ReadonlyArray<{
    readonly address: string
    readonly activeAtEnd: boolean
    /** Samples in which it was inactive after it first became active. */
    readonly lapses: number
    readonly firstActiveMs: number | undefined
  }>
  readonly refused: Record<string, number>
  readonly rateLimited: Record<string, number>
  readonly daemonAlive: boolean
}

const ipOf = (address: string): string => address.slice(1, address.lastIndexOf("]"))

/** The attacker: `ports` sockets on one IP, each with its own key, answering every challenge. */
const attacker = (to: AddrPort, ports: number) =>
  Effect.gen(function* () {
    const hasher = yield* Hasher.makeWasm
    const signers = yield* Effect.forEach(
      Array.from({ length: ports }, (_, i) => i),
      (i) => Effect.orDie(Signer.makeNative(seedOf(1_000 + i)))
    )
    let pongs = 0
    let addrs: ReadonlyArray<AddrPort> = []
    const out = yield* senders(ATTACKER_HOST, ports, (i, payload) => {
      if (payload.length !== Constants.PING_LEN || payload[0] !== Constants.Op.Ping) return
      const challenge = Uint8Array.from(payload.subarray(1, 1 + Constants.CHALLENGE_LEN))
      const answer = Challenge.answer({ signer: signers[i]!, hasher }, challenge, NodeCrypto.randomBytes(16))
      // Each answer names 12 of the attacker's other ports, to be introduced to the table too.
      const named = Array.from({ length: Constants.NPEER_LIMIT }, (_, k) => addrs[(i + 1 + k * 83) % addrs.length]!)
      out.send(i, to, encode({ _tag: "Pong", addrs: named, challenge, ...answer }))
      pongs++
    })
    addrs = out.ports.map((port) => Address.fromHostPort(ATTACKER_HOST, port)!)
    return { out, pongs: () => pongs }
  })

const pingBytes = (): Uint8Array =>
  encode({ _tag: "Ping", challenge: NodeCrypto.randomBytes(32), used: 0n, capacity: 1n << 30n })

export const run = (options: PoisonOptions): Effect.Effect<PoisonReport, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const dir = yield* tempDir("dave-poison-")
    const daemon = yield* startDaemon({ listen: "127.0.0.1:0", peerLimits: "internet", dataDir: dir, backup: false })
    const evil = yield* attacker(daemon.address, options.ports)
    const honest: Array<Probe> = yield* Effect.forEach(
      Array.from({ length: options.honestPeers }, (_, i) => i),
      (i) => probe(`127.0.${i + 1}.1`, seedOf(80 + i))
    )
    const startedMs = Date.now()
    let attackerPings = 0
    // The attack: every port pings once a second, spread over the second, until the end.
    const attack = Effect.gen(function* () {
      const rounds = Math.ceil(options.durationMs / 1_000)
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < options.ports; i += 50) {
          for (let k = i; k < Math.min(options.ports, i + 50); k++) evil.out.send(k, daemon.address, pingBytes())
          attackerPings += Math.min(50, options.ports - i)
          yield* Effect.sleep(Math.max(1, Math.floor((1_000 * 50) / options.ports)))
        }
      }
    })
    const attackFiber = yield* Effect.forkScoped(attack)
    yield* Effect.forEach(honest, (p) => p.awaitVerifiedBy(daemon.address, 10_000), { concurrency: "unbounded" })

    const firstActive = new Map<string, number>()
    const lapses = new Map<string, number>()
    const honestKeys = honest.map((p) => Address.toString(p.address))
    let samples = 0
    let attackerEntriesMax = 0
    let attackerEntriesLast = 0
    let tableSizeMax = 0
    let activeNow = new Set<string>()
    const endMs = startedMs + options.durationMs
    while (Date.now() < endMs && !daemon.exited()) {
      yield* Effect.sleep(Math.min(1_000, Math.max(0, endMs - Date.now())))
      const { body } = yield* getPeers(daemon.admin)
      samples++
      const attackerEntries = body.peers.filter((p) => ipOf(p.address) === `::ffff:${ATTACKER_HOST}`).length
      attackerEntriesMax = Math.max(attackerEntriesMax, attackerEntries)
      attackerEntriesLast = attackerEntries
      tableSizeMax = Math.max(tableSizeMax, body.peers.length)
      activeNow = new Set(body.peers.filter((p) => p.active).map((p) => p.address))
      for (const key of honestKeys) {
        if (activeNow.has(key) && !firstActive.has(key)) firstActive.set(key, Date.now() - startedMs)
        if (!activeNow.has(key) && firstActive.has(key)) lapses.set(key, (lapses.get(key) ?? 0) + 1)
      }
    }
    yield* Fiber.interrupt(attackFiber)
    const daemonAlive = !daemon.exited()
    const metrics = daemonAlive ? yield* scrape(daemon.admin) : new Map()
    return {
      samples,
      attackerEntriesMax,
      attackerEntriesLast,
      attackerPings,
      attackerPongs: evil.pongs(),
      tableSizeMax,
      honest: honestKeys.map((address) => ({
        address,
        activeAtEnd: activeNow.has(address),
        lapses: lapses.get(address) ?? 0,
        firstActiveMs: firstActive.get(address)
      })),
      refused: breakdown(metrics, "dave_peers_refused_total", "reason"),
      rateLimited: breakdown(metrics, "dave_peers_rate_limited_total", "scope"),
      daemonAlive
    }
  })

export const shortfalls = (r: PoisonReport): Array<string> => [
  ...(r.daemonAlive ? [] : ["the daemon died"]),
  ...(r.attackerEntriesMax > CAP_PER_IP
    ? [`the attacker's IP held ${r.attackerEntriesMax} table entries (cap ${CAP_PER_IP})`]
    : []),
  ...r.honest.flatMap((h) => [
    ...(h.activeAtEnd ? [] : [`honest peer ${h.address} is not active at the end`]),
    ...(h.lapses > 0 ? [`honest peer ${h.address} was inactive in ${h.lapses} samples after becoming active`] : [])
  ])
]

export const lines = (r: PoisonReport, options: PoisonOptions): Array<string> => [
  `poison: ${options.ports} ports on ${ATTACKER_HOST} sent ${r.attackerPings} PINGs and answered ${r.attackerPongs} challenges ` +
    `in ${(options.durationMs / 1000).toFixed(0)} s; ${r.samples} samples of the table`,
  `poison: attacker entries in the table, most ${r.attackerEntriesMax}, at the end ${r.attackerEntriesLast}  ` +
    `(goal: <= ${CAP_PER_IP}); table size at most ${r.tableSizeMax}`,
  ...r.honest.map(
    (h) =>
      `poison: honest ${h.address}: active at the end ${h.activeAtEnd}, first active after ` +
      `${h.firstActiveMs === undefined ? "never" : `${(h.firstActiveMs / 1000).toFixed(1)} s`}, lapses ${h.lapses}  (goal: active, 0 lapses)`
  ),
  `poison: /metrics refused ${JSON.stringify(r.refused)}; rate limited ${JSON.stringify(r.rateLimited)}`
]
