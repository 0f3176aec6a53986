import * as Dgram from "node:dgram"
import * as Fs from "node:fs"
import { DaemonProcess } from "@dave/testkit"
import { it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { expect } from "vitest"

const healthOf = (admin: string) => Effect.promise(() => fetch(`${admin}/health`).then((r) => r.status))

/** True when a UDP bind on ::1 at `port` succeeds, i.e. nobody holds the port. */
const portFree = (port: number) =>
  Effect.promise(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = Dgram.createSocket("udp6")
        socket.once("error", () => resolve(false))
        socket.bind(port, "::1", () => socket.close(() => resolve(true)))
      })
  )

it.live(
  "start reports a live daemon; closing the scope kills it and removes its data",
  () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const daemon = yield* DaemonProcess.start().pipe(Scope.provide(scope))
      expect(daemon.address.port).toBeGreaterThan(0)
      expect(daemon.publicKey).toMatch(/^[0-9a-f]{64}$/)
      expect(yield* healthOf(daemon.admin)).toBe(200)
      expect(yield* portFree(daemon.address.port)).toBe(false)
      expect(Fs.existsSync(daemon.dataDir)).toBe(true)

      yield* Scope.close(scope, Exit.void)
      expect(daemon.child.signalCode ?? daemon.child.exitCode).not.toBeNull()
      expect(Fs.existsSync(daemon.dataDir)).toBe(false)
      expect(yield* portFree(daemon.address.port)).toBe(true)
    }),
  60_000
)

it.live("freeUdpPort gives a port nobody listens on", () =>
  Effect.gen(function* () {
    const port = yield* DaemonProcess.freeUdpPort
    expect(port).toBeGreaterThan(0)
    expect(yield* portFree(port)).toBe(true)
  })
)
