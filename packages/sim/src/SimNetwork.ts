import { type Inbound, Transport, TransportError, TransportStats } from "@dave/network"
import { Address, type AddrPort, Constants } from "@dave/protocol"
import { Duration, Effect } from "effect"
import type { EventLoop } from "./EventLoop.ts"
import * as LinkModel from "./LinkModel.ts"
import type { Prng } from "./Prng.ts"
import type { TraceHash } from "./TraceHash.ts"

/**
 * The in-memory network: hosts at distinct addresses, datagrams carried by the event loop with
 * per-link latency, loss, duplication and reordering, partitions, hosts that go down and come back,
 * and the TCP PUT side channel (reliable, in order, a connection's round trips in time). Each host
 * hands its node a `Transport` service that behaves as UdpTransport does: best-effort sends that
 * count their failures, a bounded receive queue that drops and counts on overflow.
 */

export interface NetworkOptions {
  readonly link: LinkModel.LinkProfile
  /** Inbound messages a host holds between `receive` calls (UdpTransport's default: 4096). */
  readonly receiveQueueCapacity: number
  /** How long `sendFrames` waits on a host that does not answer (UdpTransport's default: 2000). */
  readonly tcpSendTimeoutMs: number
  /** Most frames one `sendFrames` call may carry (UdpTransport's default: 256). */
  readonly maxFramesPerSend: number
}

export const defaultOptions: NetworkOptions = {
  link: LinkModel.wan,
  receiveQueueCapacity: 4096,
  tcpSendTimeoutMs: 2000,
  maxFramesPerSend: 256
}

/** Network-wide counts of what happened to datagrams and frames. */
export interface NetworkStats {
  readonly datagramsSent: number
  readonly datagramsDelivered: number
  readonly bytesDelivered: number
  /** Lost to the link's (or a host's) loss rate. */
  readonly lost: number
  readonly duplicated: number
  /** Sent across a partition, or in flight when it formed. */
  readonly partitioned: number
  /** To a host that is down, or that never existed. */
  readonly unreachable: number
  /** Dropped on a full receive queue. */
  readonly queueDropped: number
  /** Dropped by the filter (`setFilter`). */
  readonly filtered: number
  /** Dropped because the event queue was full (never in a sane run). */
  readonly eventQueueFull: number
  readonly tcpFramesDelivered: number
  readonly tcpSendsFailed: number
}

/** Whether a UDP datagram from `from` to `to` is delivered. */
export type DatagramFilter = (from: AddrPort, to: AddrPort, payload: Uint8Array) => boolean

export type Mutable<T> = { -readonly [K in keyof T]: T[K] }

export const emptyStats = (): Mutable<NetworkStats> => ({
  datagramsSent: 0,
  datagramsDelivered: 0,
  bytesDelivered: 0,
  lost: 0,
  duplicated: 0,
  partitioned: 0,
  unreachable: 0,
  queueDropped: 0,
  filtered: 0,
  eventQueueFull: 0,
  tcpFramesDelivered: 0,
  tcpSendsFailed: 0
})

/** One bound endpoint. A restarted node gets a new Host at the same address. */
class Host {
  readonly addr: AddrPort
  readonly key: string
  readonly point: LinkModel.Point
  up = true
  group = 0
  impairment: LinkModel.HostImpairment = LinkModel.noImpairment
  inbox: Array<Inbound> = []
  waiter: ((batch: Effect.Effect<ReadonlyArray<Inbound>>) => void) | undefined = undefined
  /** Set while a node listens (Transport.listen): arrivals go to it at once, not to the inbox. */
  handler: ((inbound: Inbound) => void) | undefined = undefined
  wakeScheduled = false
  readonly counters: TransportStats.Counters = TransportStats.emptyCounters()
  nextEphemeralPort = 0

  constructor(addr: AddrPort, key: string, point: LinkModel.Point) {
    this.addr = addr
    this.key = key
    this.point = point
  }

  take(): ReadonlyArray<Inbound> {
    const batch = this.inbox
    this.inbox = []
    return batch
  }
}

const TCP_EPHEMERAL_FIRST = 32_768
const TCP_EPHEMERAL_COUNT = 28_000

export class SimNetwork {
  readonly options: NetworkOptions
  readonly #loop: EventLoop
  readonly #prng: Prng
  readonly #trace: TraceHash
  readonly #hosts = new Map<string, Host>()
  /** Address objects seen before, to their key: replies go to the `from` we handed out. */
  readonly #keys = new WeakMap<AddrPort, string>()
  readonly #stats = emptyStats()
  #partitioned = false
  #filter: DatagramFilter | undefined

  constructor(loop: EventLoop, prng: Prng, trace: TraceHash, options: NetworkOptions = defaultOptions) {
    const bad = LinkModel.invalidField(options.link)
    if (bad !== undefined) throw new RangeError(`invalid link profile: ${bad}`)
    this.options = options
    this.#loop = loop
    this.#prng = prng
    this.#trace = trace
  }

  /**
   * Sees every UDP datagram as it arrives and drops those it returns false for (counted as
   * `filtered`): targeted faults, such as a peer that never answers one kind of request, and a way
   * for tests to watch the traffic. `undefined` removes it.
   */
  setFilter(filter: DatagramFilter | undefined): void {
    this.#filter = filter
  }

  get stats(): NetworkStats {
    return { ...this.#stats }
  }

  #keyOf(addr: AddrPort): string {
    let key = this.#keys.get(addr)
    if (key === undefined) {
      key = Address.key(addr)
      this.#keys.set(addr, key)
    }
    return key
  }

  /** Brings a host up at `addr` (a new one, or again after `down`); its place on the map is kept. */
  up(addr: AddrPort): void {
    const key = Address.key(addr)
    const previous = this.#hosts.get(key)
    const point = previous?.point ?? { x: this.#prng.nextDoubleUnsafe(), y: this.#prng.nextDoubleUnsafe() }
    const shared: AddrPort = { ip: Uint8Array.from(addr.ip), port: addr.port }
    const host = new Host(shared, key, point)
    if (previous !== undefined) {
      host.group = previous.group
      host.impairment = previous.impairment
    }
    this.#keys.set(shared, key)
    this.#hosts.set(key, host)
  }

  /** Takes a host down: what it has queued is lost, and datagrams to it vanish until it is up again. */
  down(addr: AddrPort): void {
    const host = this.#hosts.get(Address.key(addr))
    if (host === undefined) return
    host.up = false
    host.inbox = []
    host.waiter = undefined
    host.handler = undefined
  }

  isUp(addr: AddrPort): boolean {
    return this.#hosts.get(Address.key(addr))?.up === true
  }

  /** Splits the network: hosts in different groups cannot reach each other. */
  partition(groupOf: (addr: AddrPort) => number): void {
    for (const host of this.#hosts.values()) host.group = groupOf(host.addr)
    this.#partitioned = true
  }

  heal(): void {
    for (const host of this.#hosts.values()) host.group = 0
    this.#partitioned = false
  }

  impair(addr: AddrPort, impairment: LinkModel.HostImpairment): void {
    const host = this.#hosts.get(Address.key(addr))
    if (host !== undefined) host.impairment = impairment
  }

  /** The Transport of the host at `addr`, which must be up. */
  transport(addr: AddrPort): Transport.Transport["Service"] {
    const host = this.#hosts.get(Address.key(addr))
    if (host === undefined || !host.up) throw new Error(`bug: no host up at ${Address.toString(addr)}`)
    return Transport.Transport.of({
      localAddress: host.addr,
      receive: Effect.suspend(() => (host.inbox.length > 0 ? Effect.succeed(host.take()) : this.#wait(host))),
      send: (to, payload) => this.#send(host, to, payload),
      listen: (handler) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            if (host.handler !== undefined) throw new Error("bug: a second handler listens to one transport")
            host.handler = handler
            for (const inbound of host.take()) handler(inbound)
          }),
          () =>
            Effect.sync(() => {
              if (host.handler === handler) host.handler = undefined
            })
        ),
      sendFrames: (to, frames) => this.#sendFrames(host, to, frames),
      stats: Effect.sync(() => ({ ...host.counters }))
    })
  }

  #wait(host: Host): Effect.Effect<ReadonlyArray<Inbound>> {
    return Effect.callback<ReadonlyArray<Inbound>>((resume) => {
      host.waiter = resume
      return Effect.sync(() => {
        if (host.waiter === resume) host.waiter = undefined
      })
    })
  }

  /**
   * Whether `inbound` is taken: always by a listening handler (called once the delivery is counted),
   * else if the inbox has room.
   */
  #enqueue(host: Host, inbound: Inbound): boolean {
    if (host.handler !== undefined) return true
    if (host.inbox.length >= this.options.receiveQueueCapacity) {
      host.counters.receiveQueueDropped++
      this.#stats.queueDropped++
      return false
    }
    host.inbox.push(inbound)
    if (host.waiter !== undefined && !host.wakeScheduled) {
      host.wakeScheduled = true
      // Woken after everything due at this instant has arrived, so arrivals come in one batch.
      this.#loop.defer(() => {
        host.wakeScheduled = false
        const waiter = host.waiter
        host.waiter = undefined
        if (waiter !== undefined && host.inbox.length > 0) waiter(Effect.succeed(host.take()))
      })
    }
    return true
  }

  #send(from: Host, to: AddrPort, payload: Uint8Array): void {
    if (!from.up) return
    if (payload.length > Constants.MAX_MSG_LEN || to.ip.length !== Constants.IP_LEN || to.port === 0) {
      from.counters.sendErrors++
      return
    }
    from.counters.datagramsOut++
    from.counters.bytesOut += payload.length
    this.#stats.datagramsSent++
    const target = this.#hosts.get(this.#keyOf(to))
    if (target === undefined) {
      this.#stats.unreachable++
      return
    }
    const link = this.options.link
    const lossRate = 1 - (1 - link.lossRate) * (1 - from.impairment.lossRate) * (1 - target.impairment.lossRate)
    if (this.#prng.chance(lossRate)) {
      this.#stats.lost++
      return
    }
    // The sender may reuse its buffer once send returns, as with a socket.
    const bytes = payload.slice()
    const copies = this.#prng.chance(link.duplicateRate) ? 2 : 1
    if (copies === 2) this.#stats.duplicated++
    const baseMs = LinkModel.baseLatencyMs(link, from.point, target.point)
    const extraMs = from.impairment.extraLatencyMs + target.impairment.extraLatencyMs
    for (let copy = 0; copy < copies; copy++) {
      const delay = LinkModel.delayMs(link, baseMs, extraMs, this.#prng)
      const event = this.#loop.after(delay, () => this.#deliver(from, target, bytes))
      if (event === undefined) this.#stats.eventQueueFull++
    }
  }

  #deliver(from: Host, target: Host, payload: Uint8Array): void {
    // Checked again on arrival: the target may have gone down (or come back), or a partition formed.
    const to = this.#hosts.get(target.key)
    if (to === undefined || !to.up) {
      this.#stats.unreachable++
      return
    }
    if (this.#partitioned && from.group !== to.group) {
      this.#stats.partitioned++
      return
    }
    if (this.#filter !== undefined && !this.#filter(from.addr, to.addr, payload)) {
      this.#stats.filtered++
      return
    }
    if (payload.length > Constants.MAX_MSG_LEN) {
      to.counters.oversizeDropped++
      return
    }
    const inbound: Inbound = { payload, from: from.addr, via: "udp" }
    if (!this.#enqueue(to, inbound)) return
    to.counters.datagramsIn++
    to.counters.bytesIn += payload.length
    this.#stats.datagramsDelivered++
    this.#stats.bytesDelivered += payload.length
    this.#trace.delivery(0, this.#loop.nowMs, from.addr, to.addr, payload)
    to.handler?.(inbound)
  }

  #sendFrames(from: Host, to: AddrPort, frames: ReadonlyArray<Uint8Array>): Effect.Effect<void, TransportError> {
    const fail = (reason: TransportError["reason"], message: string) =>
      Effect.suspend(() => {
        from.counters.tcpSendErrors++
        this.#stats.tcpSendsFailed++
        return Effect.fail(new TransportError({ reason, message }))
      })
    if (frames.length === 0 || frames.length > this.options.maxFramesPerSend) {
      return fail("InvalidFrame", `${frames.length} frames (1 to ${this.options.maxFramesPerSend} allowed)`)
    }
    if (frames.some((f) => f.length === 0 || f.length > Constants.MAX_MSG_LEN)) {
      return fail("InvalidFrame", `a frame is empty or over ${Constants.MAX_MSG_LEN} bytes`)
    }
    if (to.ip.length !== Constants.IP_LEN || to.port === 0 || to.port === 0xffff) {
      return fail("InvalidAddress", `cannot connect to port ${to.port} + 1`)
    }
    return Effect.suspend(() => {
      const target = this.#hosts.get(this.#keyOf(to))
      const copies = frames.map((f) => f.slice())
      if (!from.up) return fail("Failed", "the sending host is down")
      if (target === undefined || (this.#partitioned && from.group !== target.group)) {
        return Effect.andThen(
          this.#sleep(this.options.tcpSendTimeoutMs),
          fail("Timeout", "no answer to the connection")
        )
      }
      const oneWayMs = LinkModel.baseLatencyMs(this.options.link, from.point, target.point)
      if (!target.up) return Effect.andThen(this.#sleep(2 * oneWayMs), fail("ConnectionRefused", "connection refused"))
      const port = TCP_EPHEMERAL_FIRST + (from.nextEphemeralPort++ % TCP_EPHEMERAL_COUNT)
      const source: AddrPort = { ip: from.addr.ip, port }
      // SYN, SYN-ACK, ACK with the data: the frames arrive 1.5 round trips after the call.
      this.#loop.after(3 * oneWayMs, () => this.#deliverFrames(from, source, target, copies))
      // The peer reads everything and closes: the call returns after two round trips.
      return Effect.andThen(
        this.#sleep(4 * oneWayMs),
        Effect.sync(() => {
          from.counters.tcpFramesOut += frames.length
        })
      )
    })
  }

  #deliverFrames(from: Host, source: AddrPort, target: Host, frames: ReadonlyArray<Uint8Array>): void {
    const to = this.#hosts.get(target.key)
    if (to === undefined || !to.up || (this.#partitioned && from.group !== to.group)) return
    to.counters.tcpConnectionsAccepted++
    for (const payload of frames) {
      const inbound: Inbound = { payload, from: source, via: "tcp" }
      if (!this.#enqueue(to, inbound)) continue
      to.counters.tcpFramesIn++
      this.#stats.tcpFramesDelivered++
      this.#trace.delivery(1, this.#loop.nowMs, source, to.addr, payload)
      to.handler?.(inbound)
    }
  }

  /** On the calling node's clock, which is virtual. */
  #sleep(ms: number): Effect.Effect<void> {
    return Effect.sleep(Duration.millis(Math.max(1, Math.ceil(ms))))
  }

  /** Every host's address and whether it is up, in the order they first came up. */
  hosts(): ReadonlyArray<{ readonly addr: AddrPort; readonly up: boolean }> {
    return Array.from(this.#hosts.values(), (h) => ({ addr: h.addr, up: h.up }))
  }
}
