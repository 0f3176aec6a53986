import { AddressConversion } from "@dave/network"
import { Address } from "@dave/protocol"
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as NetAddress from "effect/net/NetAddress"
import * as fc from "fast-check"

const addrPortArb = fc.record({
  ip: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  port: fc.integer({ min: 0, max: 0xffff })
})

describe("AddressConversion", () => {
  it("AddrPort → InetAddress → AddrPort is the identity", () =>
    fc.assert(
      fc.property(addrPortArb, (addr) => {
        const inet = AddressConversion.toInetAddress(addr)
        assert.isDefined(inet)
        assert.isTrue(Address.equals(AddressConversion.fromInetAddress(inet!), addr))
      })
    ))

  it("keeps IPv4-mapped addresses mapped, so a dual-stack socket can send to them", () => {
    const inet = AddressConversion.toInetAddress(Address.fromHostPort("10.1.2.3", 9)!)
    assert.strictEqual(inet?._tag, "InetAddressV6")
    assert.strictEqual(NetAddress.formatHost(inet!), "::ffff:10.1.2.3")
  })

  it("maps an IPv4 InetAddress to ::ffff:a.b.c.d", () => {
    const v4 = NetAddress.inetAddressFromIpStringUnsafe("192.0.2.7", 4000)
    const addr = AddressConversion.fromInetAddress(v4)
    assert.strictEqual(Address.toString(addr), "[::ffff:192.0.2.7]:4000")
  })

  it("refuses an IP that is not 16 bytes or a bad port", () => {
    assert.isUndefined(AddressConversion.toInetAddress({ ip: new Uint8Array(4), port: 1 }))
    assert.isUndefined(AddressConversion.toInetAddress({ ip: new Uint8Array(16), port: 70_000 }))
  })

  it("parses node host strings, dropping a zone", () => {
    assert.strictEqual(
      Address.toString(AddressConversion.fromNativeHost("::ffff:127.0.0.1", 5)!),
      "[::ffff:127.0.0.1]:5"
    )
    assert.strictEqual(Address.toString(AddressConversion.fromNativeHost("127.0.0.1", 5)!), "[::ffff:127.0.0.1]:5")
    assert.strictEqual(Address.toString(AddressConversion.fromNativeHost("fe80::1%eth0", 5)!), "[fe80::1]:5")
    assert.isUndefined(AddressConversion.fromNativeHost("not an ip", 5))
  })

  it("binds IPv4 hosts in mapped form and refuses hostnames", () => {
    assert.strictEqual(Result.getOrThrow(AddressConversion.bindHostFor("127.0.0.1")), "::ffff:127.0.0.1")
    assert.strictEqual(Result.getOrThrow(AddressConversion.bindHostFor("::")), "::")
    assert.strictEqual(Result.getOrThrow(AddressConversion.bindHostFor("[::1]")), "::1")
    const bad = AddressConversion.bindHostFor("localhost")
    assert.isTrue(Result.isFailure(bad))
    if (Result.isFailure(bad)) {
      assert.strictEqual(bad.failure.reason, "InvalidOption")
      assert.include(bad.failure.message, "localhost")
    }
  })
})
