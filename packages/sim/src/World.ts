import { DatSigning, Hasher, Signer, Work } from "@dave/crypto"
import type { DaveNode } from "@dave/network"
import { Address, type AddrPort, type Entry, type Message } from "@dave/protocol"
import { Cause, Clock, Context, Effect, Logger, type Option, Random, References } from "effect"
import type { EventLoop } from "./EventLoop.ts"
import type { Prng } from "./Prng.ts"
import type { SimCrypto } from "./SimCrypto.ts"
import type { SimNetwork } from "./SimNetwork.ts"
import { addressOf, type Environment, type NodeSetup, SimNode } from "./SimNode.ts"
import type { SimParams } from "./SimParams.ts"
import type { TraceHash } from "./TraceHash.ts"
import { VirtualClock } from "./VirtualClock.ts"

/**
 * A simulated network as a scenario sees it: the nodes, and the operations a scenario performs in
 * virtual time (start, crash, restart, partition, heal, skew, write, read). Every method that takes
 * time is an Effect run inside the simulation; the random draws of the scenario come from its own
 * stream split off the run's seed.
 */

/** An author: a key that signs dats (not a node). */
export interface Author {
  readonly seed: Uint8Array
  readonly signer: Signer.Signer["Service"]
  readonly publicKey: Uint8Array
  readonly nodeId: bigint
}

/** Counts of what the nodes logged; the first few errors in full. */
export class LogCounts {
  errors = 0
  warnings = 0
  readonly firstErrors: Array<string> = []
  static readonly MAX_KEPT = 10
}

const countingLogger = (counts: LogCounts) =>
  Logger.make((options) => {
    if (options.logLevel === "Error" || options.logLevel === "Fatal") {
      counts.errors++
      if (counts.firstErrors.length < LogCounts.MAX_KEPT) {
        const cause =
          Cause.hasFails(options.cause) || Cause.hasDies(options.cause) ? ` ${Cause.pretty(options.cause)}` : ""
        counts.firstErrors.push(`${String(options.message)}${cause}`)
      }
    } else if (options.logLevel === "Warn") counts.warnings++
  })

export interface WorldOptions {
  readonly seed: number | string
  readonly loop: EventLoop
  readonly network: SimNetwork
  readonly crypto: SimCrypto
  readonly params: SimParams
  readonly trace: TraceHash
  /** Streams split off the seed, in a fixed order. */
  readonly identities: Prng
  readonly nodeStreams: Prng
  readonly scenario: Prng
}

export class World {
  readonly seed: number | string
  readonly loop: EventLoop
  readonly network: SimNetwork
  readonly crypto: SimCrypto
  readonly params: SimParams
  readonly trace: TraceHash
  /** The scenario's own random stream. */
  readonly random: Prng
  readonly logs = new LogCounts()
  readonly #identities: Prng
  readonly #nodeStreams: Prng
  readonly #nodes: Array<SimNode> = []
  /** The context every fiber of the run starts from: the loop's scheduler, a clock, quiet logs. */
  readonly context: Context.Context<never>

  constructor(options: WorldOptions) {
    this.seed = options.seed
    this.loop = options.loop
    this.network = options.network
    this.crypto = options.crypto
    this.params = options.params
    this.trace = options.trace
    this.random = options.scenario
    this.#identities = options.identities
    this.#nodeStreams = options.nodeStreams
    const clock = new VirtualClock(options.loop)
    this.context = Context.empty().pipe(
      Context.add(References.MinimumLogLevel, "Warn"),
      Context.add(Logger.CurrentLoggers, new Set([countingLogger(this.logs)])),
      Context.add(Clock.Clock, clock),
      Context.add(Random.Random, options.scenario)
    )
  }

  get nowMs(): number {
    return this.loop.nowMs
  }

  get nodes(): ReadonlyArray<SimNode> {
    return this.#nodes
  }

  running(): ReadonlyArray<SimNode> {
    return this.#nodes.filter((n) => n.running)
  }

  get env(): Environment {
    return { loop: this.loop, network: this.network, crypto: this.crypto, params: this.params }
  }

  /** The bootstrap nodes' addresses (the first `bootstrapCount` nodes). */
  bootstrapAddresses(): ReadonlyArray<AddrPort> {
    return Array.from({ length: this.params.bootstrapCount }, (_, i) => addressOf(i))
  }

  /** Edges for a new node: two neighbours for a bootstrap node, random bootstrap nodes for the rest. */
  #edgesFor(index: number): ReadonlyArray<AddrPort> {
    const count = this.params.bootstrapCount
    if (count <= 1) return []
    if (index < count)
      return [addressOf((index + 1) % count), addressOf((index + 2) % count)].filter((_, i) => i < count - 1)
    const picks = this.#identities.sample(
      Array.from({ length: count }, (_, i) => i),
      this.params.edgesPerNode
    )
    return picks.map(addressOf)
  }

  #bootstrapSetup(index: number): Partial<NodeSetup> {
    if (index >= this.params.bootstrapCount) return {}
    // The budget grows with the table so that it is pinged at the same interval.
    const p = this.params.peers
    const factor = this.params.bootstrapMaxPeers / (p.maxPeers ?? this.params.bootstrapMaxPeers)
    return {
      peers: {
        maxPeers: this.params.bootstrapMaxPeers,
        maxPingsPerSecond: Math.ceil((p.maxPingsPerSecond ?? 32) * factor)
      }
    }
  }

  /** Creates `count` more nodes (not started); `setup` may change each one's settings. */
  addNodes(count: number, setup?: (index: number) => Partial<NodeSetup>): Effect.Effect<ReadonlyArray<SimNode>> {
    return Effect.gen({ self: this }, function* () {
      const added: Array<SimNode> = []
      for (let k = 0; k < count; k++) {
        const index = this.#nodes.length
        const seed = this.#identities.bytes(32)
        const extra = setup?.(index) ?? {}
        const node = new SimNode({
          index,
          address: extra.address ?? addressOf(index),
          seed,
          signer: yield* this.crypto.signer(seed),
          clock: new VirtualClock(this.loop, extra.skewMs ?? 0),
          random: this.#nodeStreams.split(),
          setup: { edges: this.#edgesFor(index), ...this.#bootstrapSetup(index), ...extra }
        })
        this.#nodes.push(node)
        added.push(node)
      }
      return added
    })
  }

  start(node: SimNode): Effect.Effect<void> {
    return Effect.tap(node.start(this.env), () => Effect.sync(() => this.trace.event(this.nowMs, "start", node.index)))
  }

  /** Starts the nodes one after another, spread evenly over `spreadMs`. */
  startAll(nodes: ReadonlyArray<SimNode>, spreadMs: number): Effect.Effect<void> {
    const gapMs = nodes.length === 0 ? 0 : spreadMs / nodes.length
    return Effect.forEach(nodes, (node) => Effect.andThen(this.start(node), this.sleep(gapMs)), { discard: true })
  }

  crash(node: SimNode): Effect.Effect<void> {
    return Effect.andThen(
      Effect.sync(() => this.trace.event(this.nowMs, "crash", node.index)),
      node.crash(this.env)
    )
  }

  /** Starts a crashed node again, with what its backup holds or with an empty disk. */
  restart(node: SimNode, options: { readonly withBackup: boolean }): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      yield* this.crash(node)
      if (!options.withBackup) node.disk.wipe()
      this.trace.event(this.nowMs, options.withBackup ? "restart-backup" : "restart-empty", node.index)
      yield* node.start(this.env)
    })
  }

  partition(groupOf: (node: SimNode) => number): void {
    const groupByAddr = new Map(this.#nodes.map((n) => [Address.key(n.address), groupOf(n)] as const))
    this.network.partition((addr) => groupByAddr.get(Address.key(addr)) ?? 0)
    this.trace.event(this.nowMs, "partition", this.#nodes.length)
  }

  heal(): void {
    this.network.heal()
    this.trace.event(this.nowMs, "heal", this.#nodes.length)
  }

  /** Sets a node's clock `skewMs` ahead of (or, negative, behind) virtual time. */
  skew(node: SimNode, skewMs: number): void {
    node.clock.skewMs = skewMs
    this.trace.event(this.nowMs, "skew", node.index * 1_000_000 + skewMs)
  }

  sleep(ms: number): Effect.Effect<void> {
    return Effect.sleep(Math.max(0, ms))
  }

  newAuthor(): Effect.Effect<Author> {
    return Effect.gen({ self: this }, function* () {
      const seed = this.#identities.bytes(32)
      const signer = yield* this.crypto.signer(seed)
      return { seed, signer, publicKey: signer.publicKey, nodeId: signer.nodeId }
    })
  }

  /** A dat signed by `author` with the nodes' minimum work, stamped with `timeMs` (default: now). */
  signDat(author: Author, key: string, value: string, timeMs?: number): Effect.Effect<Message.Dat> {
    const services = Context.empty().pipe(
      Context.add(Signer.Signer, author.signer),
      Context.add(Hasher.Hasher, this.crypto.hasher),
      Context.add(Work.Work, this.crypto.work)
    )
    return DatSigning.signDat({
      key: new TextEncoder().encode(key),
      value: new TextEncoder().encode(value),
      timeMs: timeMs ?? this.nowMs,
      difficulty: this.params.node.minWork ?? 8
    }).pipe(Effect.provideContext(services))
  }

  put(node: SimNode, dat: Message.Dat): Effect.Effect<DaveNode.PutReport, DaveNode.PutRefused> {
    return Effect.suspend(() => node.run(node.stack.node.put(dat)))
  }

  get(
    node: SimNode,
    pubKey: Uint8Array,
    key: Uint8Array,
    options?: DaveNode.GetOptions
  ): Effect.Effect<Option.Option<Entry>, DaveNode.ReadFailed> {
    return Effect.suspend(() => node.run(node.stack.node.get(pubKey, key, options)))
  }
}
