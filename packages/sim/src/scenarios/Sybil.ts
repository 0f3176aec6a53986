import { Address, type AddrPort } from "@dave/protocol"
import { Effect } from "effect"
import { check, type Scenario } from "../Scenario.ts"
import type { SimNode } from "../SimNode.ts"
import * as Steps from "../Steps.ts"

/** fd5b::1, outside the honest nodes' fd5a::/16, with one port per attacker node. */
const ATTACKER_IP = Uint8Array.from([0xfd, 0x5b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
const attackerAddress = (k: number): AddrPort => ({ ip: ATTACKER_IP, port: 20_000 + k })
const MAX_ATTACKER_EDGES = 64
/** How long the attack runs, in the attackers' ping intervals to their edges. */
const ATTACK_PING_INTERVALS = 30

const sameIp = (a: AddrPort): boolean => Address.ipToString(a.ip) === Address.ipToString(ATTACKER_IP)

/** Entries of `node`'s table at the attacker's IP. */
const attackerEntries = (node: SimNode): number =>
  node.stack.peers.core.snapshot(node.clock.currentTimeMillisUnsafe()).filter((p) => sameIp(p.addr) && !p.edge).length

/**
 * An attacker with one IP and many ports: as many attacker nodes as honest ones, all on one IP,
 * each pinging every honest node it can name (as edges) and listing the others in its PONGs.
 * Every honest table must hold at most `maxPeersPerIp` of them.
 */
export const sybil: Scenario = {
  name: "sybil",
  description:
    "as many attacker nodes as honest ones on one IP with many ports; every honest table keeps <= maxPeersPerIp of them",
  defaultNodes: 40,
  maxVirtualMs: (s) => (45 + s.virtualMinutes) * 60_000,
  run: (world, settings) =>
    Effect.gen(function* () {
      const honest = yield* Steps.formNetwork(world, settings.nodes)
      const targets = world.random.sample(honest.nodes, MAX_ATTACKER_EDGES).map((n) => n.address)
      const attackers = yield* world.addNodes(settings.nodes, (index) => ({
        address: attackerAddress(index),
        edges: targets
      }))
      yield* world.startAll(attackers, 30_000)
      const attackMs = ATTACK_PING_INTERVALS * (world.params.peers.minPingIntervalMs ?? 1_000)
      yield* world.sleep(attackMs + settings.virtualMinutes * 60_000)

      const cap = world.params.peers.maxPeersPerIp ?? 4
      const held = honest.nodes.filter((n) => n.running).map(attackerEntries)
      const refused = honest.nodes.reduce((sum, n) => sum + n.stack.peers.core.total("refused:ip-cap"), 0)
      const k = Steps.formThreshold(settings.nodes)
      const honestActive = honest.nodes.map((n) => honestActiveCount(n))
      return {
        checks: [
          check(
            "network forms",
            honest.formedAfterMs !== undefined,
            `formed after ${honest.formedAfterMs ?? "never"} ms`
          ),
          check("the attack was made", refused > 0, `${refused} attacker addresses refused at the per-IP cap`),
          check(
            "every honest table within the per-IP cap",
            Math.max(...held) <= cap,
            `most attacker entries in one honest table: ${Math.max(...held)} (cap ${cap})`
          ),
          check(
            "honest nodes keep honest peers",
            Math.min(...honestActive) >= k,
            `least honest active peers: ${Math.min(...honestActive)} (need ${k})`
          )
        ],
        figures: [
          ["attacker nodes", attackers.length],
          ["attacker entries per honest table max", Math.max(...held)],
          ["attacker entries per honest table mean", Steps.mean(held).toFixed(2)],
          ["refused at the per-IP cap", refused]
        ]
      }
    })
}

const honestActiveCount = (node: SimNode): number =>
  node.stack.peers.core.active(node.clock.currentTimeMillisUnsafe()).filter((p) => !sameIp(p.addr)).length
