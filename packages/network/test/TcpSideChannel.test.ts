import { TcpFrame, UdpTransport } from "@dave/network"
import { Address } from "@dave/protocol"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { closedTcpPort, expectSilence, rawTcp, receiveCount, silentTcpServer } from "./support.ts"

const frame = (length: number, fill: number): Uint8Array => new Uint8Array(length).fill(fill)
const encode = (frames: ReadonlyArray<Uint8Array>): Uint8Array => Result.getOrThrow(TcpFrame.encode(frames))
const lengthPrefix = (length: number): Uint8Array => Uint8Array.of(length & 0xff, length >>> 8)

describe("TCP side channel", () => {
  it.live("sendFrames delivers the frames in order, via tcp, from the sender's IP", () =>
    Effect.gen(function* () {
      const a = yield* UdpTransport.make({ host: "::1", port: 0 })
      const b = yield* UdpTransport.make({ host: "::1", port: 0 })
      const frames = [frame(1, 2), frame(1424, 3), frame(200, 4)]
      yield* a.sendFrames(b.localAddress, frames)
      const received = yield* receiveCount(b, 3)
      assert.deepStrictEqual(
        received.map((m) => m.payload),
        frames
      )
      for (const m of received) {
        assert.strictEqual(m.via, "tcp")
        assert.strictEqual(Address.ipToV6String(m.from.ip), "::1")
        // the TCP source port, not a UDP address
        assert.notStrictEqual(m.from.port, a.localAddress.port)
      }
      assert.include(yield* a.stats, { tcpFramesOut: 3, tcpSendErrors: 0 })
      assert.include(yield* b.stats, { tcpConnectionsAccepted: 1, tcpFramesIn: 3, tcpBadFrames: 0 })
    })
  )

  it.live("a stream cut into small writes still yields whole frames in order", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({ host: "::1", port: 0 })
      const client = yield* rawTcp("::1", transport.localAddress.port + 1)
      const frames = [frame(3, 1), frame(700, 2), frame(5, 3)]
      const stream = encode(frames)
      for (let offset = 0; offset < stream.length; offset += 97) {
        yield* client.write(stream.subarray(offset, offset + 97))
      }
      const received = yield* receiveCount(transport, 3)
      assert.deepStrictEqual(
        received.map((m) => m.payload),
        frames
      )
    })
  )

  it.live("IPv4 peers use the channel of a transport bound to ::, in both directions", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({ port: 0 })
      const client = yield* rawTcp("127.0.0.1", transport.localAddress.port + 1)
      yield* client.write(encode([frame(6, 1)]))
      const [fromClient] = yield* receiveCount(transport, 1)
      assert.strictEqual(Address.ipToV6String(fromClient!.from.ip), "::ffff:127.0.0.1")

      // an IPv4-mapped destination is reached over IPv4
      const to = Address.fromHostPort("127.0.0.1", transport.localAddress.port)!
      yield* transport.sendFrames(to, [frame(7, 2)])
      const [fromSelf] = yield* receiveCount(transport, 1)
      assert.deepStrictEqual(fromSelf!.payload, frame(7, 2))
      assert.strictEqual(Address.ipToV6String(fromSelf!.from.ip), "::ffff:127.0.0.1")
    })
  )

  it.live("a taken TCP port (UDP port + 1) fails the transport with AddressInUse", () =>
    Effect.gen(function* () {
      const tcpPort = yield* silentTcpServer("::1")
      const error = yield* Effect.flip(UdpTransport.make({ host: "::1", port: tcpPort - 1 }))
      assert.strictEqual(error.reason, "AddressInUse")
      assert.include(error.message, `TCP listen on [::1]:${tcpPort}`)
      // and the UDP port it had bound is free again
      const udpOnly = yield* UdpTransport.make({ host: "::1", port: tcpPort - 1, tcp: false })
      assert.strictEqual(udpOnly.localAddress.port, tcpPort - 1)
    })
  )

  it.live("a bad length closes that connection while the node keeps serving", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({ host: "::1", port: 0, tcpReadDeadlineMs: 5000 })
      const tcpPort = transport.localAddress.port + 1
      const tooLong = yield* rawTcp("::1", tcpPort)
      yield* tooLong.write(encode([frame(10, 1)]))
      yield* tooLong.write(lengthPrefix(1425))
      assert.isBelow(yield* tooLong.closedAfterMs(2000), 2000)
      const zero = yield* rawTcp("::1", tcpPort)
      yield* zero.write(lengthPrefix(0))
      assert.isBelow(yield* zero.closedAfterMs(2000), 2000)

      const good = yield* rawTcp("::1", tcpPort)
      yield* good.write(encode([frame(4, 9)]))
      const received = yield* receiveCount(transport, 2)
      assert.deepStrictEqual(
        received.map((m) => m.payload),
        [frame(10, 1), frame(4, 9)]
      )
      assert.include(yield* transport.stats, { tcpBadFrames: 2, tcpFramesIn: 2, tcpConnectionsAccepted: 3 })
    })
  )

  it.live("an idle or stalled connection is closed after the read deadline", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({ host: "::1", port: 0, tcpReadDeadlineMs: 300 })
      const tcpPort = transport.localAddress.port + 1
      const idle = yield* rawTcp("::1", tcpPort)
      const stalled = yield* rawTcp("::1", tcpPort)
      // a frame arrives in time and re-arms the deadline; then half a frame, then nothing
      yield* stalled.write(encode([frame(2, 1)]))
      yield* stalled.write(Uint8Array.of(10, 0, 1, 2))
      const idleMs = yield* idle.closedAfterMs(3000)
      const stalledMs = yield* stalled.closedAfterMs(3000)
      assert.isAtLeast(idleMs, 250)
      assert.isBelow(idleMs, 2000)
      assert.isAtLeast(stalledMs, 250)
      const [message] = yield* receiveCount(transport, 1)
      assert.deepStrictEqual(message!.payload, frame(2, 1))
      assert.include(yield* transport.stats, { tcpDeadlineClosed: 2, tcpFramesIn: 1 })
    })
  )

  it.live("connections over the cap are closed at once and counted", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({
        host: "::1",
        port: 0,
        maxTcpConnections: 2,
        tcpReadDeadlineMs: 5000
      })
      const tcpPort = transport.localAddress.port + 1
      const first = yield* rawTcp("::1", tcpPort)
      const second = yield* rawTcp("::1", tcpPort)
      // make sure the server has accepted both before the third arrives
      yield* first.write(encode([frame(1, 1)]))
      yield* second.write(encode([frame(1, 2)]))
      yield* receiveCount(transport, 2)
      const third = yield* rawTcp("::1", tcpPort)
      assert.isBelow(yield* third.closedAfterMs(2000), 2000)
      assert.isTrue(first.isOpen())
      assert.isTrue(second.isOpen())
      assert.include(yield* transport.stats, { tcpConnectionsAccepted: 2, tcpConnectionsRefused: 1 })
    })
  )

  it.live("sendFrames to a closed port fails quickly with ConnectionRefused", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({ host: "::1", port: 0, tcp: false })
      const tcpPort = yield* closedTcpPort("::1")
      const started = performance.now()
      const error = yield* Effect.flip(transport.sendFrames(Address.fromHostPort("::1", tcpPort - 1)!, [frame(3, 1)]))
      assert.strictEqual(error.reason, "ConnectionRefused")
      assert.isBelow(performance.now() - started, 1000)
      assert.include(yield* transport.stats, { tcpSendErrors: 1, tcpFramesOut: 0 })
    })
  )

  it.live("a transport with tcp: false serves no side channel", () =>
    Effect.gen(function* () {
      const udpOnly = yield* UdpTransport.make({ host: "::1", port: 0, tcp: false })
      const sender = yield* UdpTransport.make({ host: "::1", port: 0, tcp: false })
      const error = yield* Effect.flip(sender.sendFrames(udpOnly.localAddress, [frame(1, 1)]))
      assert.strictEqual(error.reason, "ConnectionRefused")
      yield* expectSilence(udpOnly, 100)
    })
  )

  it.live("sendFrames times out when the peer never closes", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({ host: "::1", port: 0, tcp: false, tcpSendTimeoutMs: 300 })
      const tcpPort = yield* silentTcpServer("::1")
      const started = performance.now()
      const error = yield* Effect.flip(transport.sendFrames(Address.fromHostPort("::1", tcpPort - 1)!, [frame(3, 1)]))
      assert.strictEqual(error.reason, "Timeout")
      assert.isAtLeast(performance.now() - started, 250)
    })
  )

  it.live("sendFrames refuses bad frames, too many frames and impossible ports before connecting", () =>
    Effect.gen(function* () {
      const transport = yield* UdpTransport.make({ host: "::1", port: 0, maxFramesPerSend: 2 })
      const to = transport.localAddress
      const tooMany = yield* Effect.flip(transport.sendFrames(to, [frame(1, 1), frame(1, 1), frame(1, 1)]))
      assert.strictEqual(tooMany.reason, "InvalidFrame")
      const empty = yield* Effect.flip(transport.sendFrames(to, [frame(0, 0)]))
      assert.strictEqual(empty.reason, "InvalidFrame")
      const oversize = yield* Effect.flip(transport.sendFrames(to, [frame(1425, 0)]))
      assert.strictEqual(oversize.reason, "InvalidFrame")
      const lastPort = yield* Effect.flip(transport.sendFrames({ ip: to.ip, port: 65535 }, [frame(1, 1)]))
      assert.strictEqual(lastPort.reason, "InvalidAddress")
      yield* expectSilence(transport, 100)
      assert.include(yield* transport.stats, { tcpConnectionsAccepted: 0 })
    })
  )
})
