import { SourceGuard, Transport, TransportStats, UdpTransport } from "@dave/network"
import { Address, Constants } from "@dave/protocol"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Metric, Scope } from "effect"
import { expectSilence, rawUdp, receiveCount } from "./support.ts"

const bytes = (...values: Array<number>): Uint8Array => Uint8Array.from(values)

describe("UdpTransport", () => {
  it.live("a listening handler gets what was queued, then each datagram as it comes; closed, the queue again", () =>
    Effect.gen(function* () {
      const a = yield* UdpTransport.make({ host: "::1", port: 0 })
      const b = yield* UdpTransport.make({ host: "::1", port: 0 })
      a.send(b.localAddress, bytes(1))
      a.send(b.localAddress, bytes(2))
      yield* Effect.sleep(50) // both queued at b: nobody listens yet
      const heard: Array<number> = []
      const listening = yield* Scope.make()
      yield* b.listen((inbound) => heard.push(inbound.payload[0]!)).pipe(Scope.provide(listening))
      assert.deepStrictEqual(heard, [1, 2])
      const second = yield* Effect.exit(b.listen(() => {}).pipe(Scope.provide(listening)))
      assert.isTrue(Exit.isFailure(second)) // one handler at a time
      for (let i = 3; i <= 5; i++) a.send(b.localAddress, bytes(i))
      const deadline = Date.now() + 5_000
      while (heard.length < 5 && Date.now() < deadline) yield* Effect.sleep(10)
      assert.deepStrictEqual(heard, [1, 2, 3, 4, 5])
      yield* Scope.close(listening, Exit.void)
      a.send(b.localAddress, bytes(6))
      const [after] = yield* receiveCount(b, 1)
      assert.deepStrictEqual(Array.from(after!.payload), [6])
      assert.strictEqual(heard.length, 5)
    })
  )

  it.live("two transports on ::1 exchange datagrams", () =>
    Effect.gen(function* () {
      const a = yield* UdpTransport.make({ host: "::1", port: 0 })
      const b = yield* UdpTransport.make({ host: "::1", port: 0 })
      assert.strictEqual(Address.ipToV6String(a.localAddress.ip), "::1")
      assert.notStrictEqual(a.localAddress.port, 0)

      a.send(b.localAddress, bytes(1, 2, 3))
      a.send(b.localAddress, bytes(4))
      const atB = yield* receiveCount(b, 2)
      assert.deepStrictEqual(
        atB.map((m) => [Array.from(m.payload), m.via]),
        [
          [[1, 2, 3], "udp"],
          [[4], "udp"]
        ]
      )
      assert.isTrue(Address.equals(atB[0]!.from, a.localAddress))

      // reply to the received `from`
      b.send(atB[0]!.from, bytes(9, 9))
      const [atA] = yield* receiveCount(a, 1)
      assert.deepStrictEqual(Array.from(atA!.payload), [9, 9])
      assert.isTrue(Address.equals(atA!.from, b.localAddress))

      const statsA = yield* a.stats
      const statsB = yield* b.stats
      assert.include(statsA, { datagramsOut: 2, bytesOut: 4, datagramsIn: 1, bytesIn: 2, sendErrors: 0 })
      assert.include(statsB, { datagramsOut: 1, bytesOut: 2, datagramsIn: 2, bytesIn: 4 })
    })
  )

  it.live("an IPv4 client reaches a transport bound to :: and gets the reply", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({ port: 0 })
      assert.strictEqual(Address.ipToV6String(transport.localAddress.ip), "::")
      const client = yield* rawUdp("udp4", "127.0.0.1")
      yield* client.send(bytes(42), transport.localAddress.port, "127.0.0.1")
      const [message] = yield* receiveCount(transport, 1)
      assert.strictEqual(Address.toString(message!.from), `[::ffff:127.0.0.1]:${client.port}`)
      assert.isTrue(Address.isIpv4Mapped(message!.from.ip))

      transport.send(message!.from, bytes(43))
      const reply = yield* client.next(2000)
      assert.deepStrictEqual(Array.from(reply.payload), [43])
      assert.strictEqual(reply.address, "127.0.0.1")
      assert.strictEqual(reply.port, transport.localAddress.port)
    })
  )

  it.live("an IPv4 host binds the mapped address and still replies to IPv4 peers", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({ host: "127.0.0.1", port: 0 })
      assert.strictEqual(Address.ipToV6String(transport.localAddress.ip), "::ffff:127.0.0.1")
      const client = yield* rawUdp("udp4", "127.0.0.1")
      yield* client.send(bytes(1), transport.localAddress.port, "127.0.0.1")
      const [message] = yield* receiveCount(transport, 1)
      transport.send(message!.from, bytes(2))
      assert.deepStrictEqual(Array.from((yield* client.next(2000)).payload), [2])
    })
  )

  it.live("IPv6-only peers on loopback; a transport on ::1 hears no IPv4", () =>
    Effect.gen(function* () {
      const any = yield* UdpTransport.make({ host: "::", port: 0 })
      const client = yield* rawUdp("udp6", "::1", { ipv6Only: true })
      yield* client.send(bytes(5), any.localAddress.port, "::1")
      const [message] = yield* receiveCount(any, 1)
      assert.strictEqual(Address.toString(message!.from), `[::1]:${client.port}`)
      any.send(message!.from, bytes(6))
      assert.deepStrictEqual(Array.from((yield* client.next(2000)).payload), [6])

      const loopback6 = yield* UdpTransport.make({ host: "::1", port: 0 })
      const v4 = yield* rawUdp("udp4", "127.0.0.1")
      yield* v4.send(bytes(7), loopback6.localAddress.port, "127.0.0.1")
      yield* expectSilence(loopback6, 300)
    })
  )

  it.live("drops and counts datagrams over 1424 bytes; 1424 passes", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({ host: "::1", port: 0, tcp: false })
      const client = yield* rawUdp("udp6", "::1")
      const port = transport.localAddress.port
      yield* client.send(new Uint8Array(Constants.MAX_MSG_LEN + 1).fill(1), port, "::1")
      yield* client.send(new Uint8Array(4000).fill(2), port, "::1")
      yield* client.send(new Uint8Array(Constants.MAX_MSG_LEN).fill(3), port, "::1")
      const [message] = yield* receiveCount(transport, 1)
      assert.strictEqual(message!.payload.length, Constants.MAX_MSG_LEN)
      assert.strictEqual(message!.payload[0], 3)
      const stats = yield* transport.stats
      assert.include(stats, { oversizeDropped: 2, datagramsIn: 1, bytesIn: Constants.MAX_MSG_LEN })
    })
  )

  it.live("counts refused sends (oversize payload, malformed or unreachable address) without failing", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({ host: "::1", port: 0, tcp: false })
      const peer = yield* rawUdp("udp6", "::1")
      const to = Address.fromHostPort("::1", peer.port)!
      transport.send(to, new Uint8Array(Constants.MAX_MSG_LEN + 1))
      transport.send({ ip: new Uint8Array(4), port: peer.port }, bytes(1))
      transport.send(Address.fromHostPort("::1", 0)!, bytes(1))
      // an IPv4 destination is unreachable from a socket bound to ::1
      transport.send(Address.fromHostPort("127.0.0.1", peer.port)!, bytes(1))
      transport.send(to, bytes(8))
      assert.deepStrictEqual(Array.from((yield* peer.next(2000)).payload), [8])
      const stats = yield* transport.stats
      assert.include(stats, { sendErrors: 4, datagramsOut: 1, bytesOut: 1 })
    })
  )

  it.live("a full receive queue drops and counts what does not fit", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({ host: "::1", port: 0, tcp: false, receiveQueueCapacity: 4 })
      const client = yield* rawUdp("udp6", "::1")
      for (let i = 0; i < 20; i++) yield* client.send(bytes(i), transport.localAddress.port, "::1")
      // wait until all 20 are accounted for, received or dropped (bounded: 40 × 25 ms)
      let stats = yield* transport.stats
      for (let i = 0; i < 40 && stats.datagramsIn + stats.receiveQueueDropped < 20; i++) {
        yield* Effect.sleep(25)
        stats = yield* transport.stats
      }
      const received = yield* transport.receive
      assert.strictEqual(received.length, 4)
      assert.deepStrictEqual(Array.from(received[0]!.payload), [0])
      assert.strictEqual(stats.receiveQueueDropped, 16)
    })
  )

  it.live(
    "a flooding source is limited and counted on arrival (internet defaults); another source still gets through",
    () =>
      Effect.gen(function* () {
        const transport = yield* UdpTransport.make({ port: 0, tcp: false, receiveQueueCapacity: 16_384 })
        const port = transport.localAddress.port
        const flooder = yield* rawUdp("udp4", "127.0.0.2")
        const honest = yield* rawUdp("udp4", "127.0.1.1")
        const floodCount = 6_000
        const startedMs = performance.now()
        // In bursts of 500 with a pause, so the kernel's receive buffer never overflows.
        for (let i = 0; i < floodCount; i += 500) {
          for (let k = 0; k < 500; k++) yield* flooder.send(bytes(0xff, k & 0xff), port, "127.0.0.1")
          yield* Effect.sleep(5)
        }
        for (let i = 0; i < 20; i++) yield* honest.send(bytes(7, i), port, "127.0.0.1")
        let stats = yield* transport.stats
        for (let i = 0; i < 80 && stats.datagramsIn + stats.rateLimitedIp < floodCount + 20; i++) {
          yield* Effect.sleep(25)
          stats = yield* transport.stats
        }
        const elapsedS = (performance.now() - startedMs) / 1000
        const received = yield* transport.receive
        const from = (host: string) => received.filter((m) => Address.ipToString(m.from.ip) === host)
        const limits = SourceGuard.internet
        assert.strictEqual(stats.datagramsIn + stats.rateLimitedIp, floodCount + 20)
        assert.strictEqual(stats.rateLimitedIp, floodCount - from("127.0.0.2").length)
        assert.isAtMost(from("127.0.0.2").length, limits.perIpBurst + Math.ceil(limits.perIpPerSecond * elapsedS))
        assert.isAtLeast(from("127.0.0.2").length, limits.perIpBurst)
        assert.deepStrictEqual(
          from("127.0.1.1").map((m) => m.payload[1]),
          Array.from({ length: 20 }, (_, i) => i)
        )
        assert.strictEqual(stats.rateLimitedPrefix, 0)
        const metric = (yield* Metric.value(TransportStats.metrics.rateLimitedIp)).count
        assert.isAtLeast(metric, stats.rateLimitedIp)
      })
  )

  it.live("sourceLimits unlimited lets a fast source through; bad limits are refused", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({
        host: "::1",
        port: 0,
        tcp: false,
        receiveQueueCapacity: 8_192,
        sourceLimits: SourceGuard.unlimited
      })
      const client = yield* rawUdp("udp6", "::1")
      const count = 3_000
      for (let i = 0; i < count; i += 500) {
        for (let k = 0; k < 500; k++) yield* client.send(bytes(1), transport.localAddress.port, "::1")
        yield* Effect.sleep(5)
      }
      const got = yield* receiveCount(transport, count)
      assert.strictEqual(got.length, count)
      assert.strictEqual((yield* transport.stats).rateLimitedIp, 0)
      const bad = yield* Effect.flip(
        UdpTransport.make({ port: 0, sourceLimits: { ...SourceGuard.internet, perIpPerSecond: 0 } })
      )
      assert.strictEqual(bad.reason, "InvalidOption")
      assert.include(bad.message, "sourceLimits")
    })
  )

  it.live("stats feed the dave_transport_* metrics", () =>
    Effect.gen(function* () {
      const before = (yield* Metric.value(TransportStats.metrics.datagramsIn)).count
      const beforeOut = (yield* Metric.value(TransportStats.metrics.bytesOut)).count
      const a = yield* UdpTransport.make({ host: "::1", port: 0, tcp: false })
      const b = yield* UdpTransport.make({ host: "::1", port: 0, tcp: false })
      for (let i = 0; i < 3; i++) a.send(b.localAddress, bytes(1, 2))
      yield* receiveCount(b, 3)
      yield* b.stats
      yield* a.stats
      assert.strictEqual((yield* Metric.value(TransportStats.metrics.datagramsIn)).count - before, 3)
      assert.strictEqual((yield* Metric.value(TransportStats.metrics.bytesOut)).count - beforeOut, 6)
    })
  )

  it.live("closing the scope frees both ports; a taken port fails with AddressInUse", () =>
    Effect.gen(function* () {
      const first = yield* Scope.make()
      const transport = yield* UdpTransport.make({ host: "::1", port: 0 }).pipe(Scope.provide(first))
      const port = transport.localAddress.port

      const clash = yield* Effect.flip(UdpTransport.make({ host: "::1", port }))
      assert.strictEqual(clash.reason, "AddressInUse")
      yield* Scope.close(first, Exit.void)

      const again = yield* UdpTransport.make({ host: "::1", port })
      assert.strictEqual(again.localAddress.port, port)
      // the TCP side channel (port + 1) was rebound too
      yield* again.sendFrames(again.localAddress, [bytes(2, 0)])
      const [frame] = yield* receiveCount(again, 1)
      assert.strictEqual(frame!.via, "tcp")
    })
  )

  it.live("the layer provides the Transport service", () =>
    Effect.gen(function* () {
      const transport = yield* Transport.Transport
      const client = yield* rawUdp("udp6", "::1")
      yield* client.send(bytes(1), transport.localAddress.port, "::1")
      const [message] = yield* receiveCount(transport, 1)
      assert.strictEqual(message!.from.port, client.port)
    }).pipe(Effect.provide(UdpTransport.layer({ host: "::1", port: 0, tcp: false })))
  )

  it.live("refuses bad options with a clear error", () =>
    Effect.gen(function* () {
      const hostname = yield* Effect.flip(UdpTransport.make({ host: "localhost", port: 0 }))
      assert.strictEqual(hostname.reason, "InvalidOption")
      assert.include(hostname.message, "IPv4 or IPv6 literal")
      const lastPort = yield* Effect.flip(UdpTransport.make({ host: "::1", port: 65535 }))
      assert.strictEqual(lastPort.reason, "InvalidOption")
      const capacity = yield* Effect.flip(UdpTransport.make({ port: 0, receiveQueueCapacity: 0 }))
      assert.include(capacity.message, "receiveQueueCapacity")
      const notLocal = yield* Effect.flip(UdpTransport.make({ host: "2001:db8::1", port: 0 }))
      assert.strictEqual(notLocal.reason, "BindFailed")
    })
  )
})
