import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type ClientError, DaveClient } from "@dave/client"
import { KeyFile, type KeyPair } from "@dave/crypto"
import { Address, Constants, Dat } from "@dave/protocol"
import { DaemonProcess } from "@dave/testkit"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, Option, References } from "effect"

class Daemons extends Context.Service<Daemons, ReadonlyArray<DaemonProcess.Daemon>>()("test/Daemons") {}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
const seed = (n: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (n * 37 + i * 11) & 0xff)
const keyOf = (n: number): Effect.Effect<KeyPair> => Effect.orDie(KeyFile.fromSeed(seed(n)))

/** Builds a client layer in the test's scope, its light node logging warnings only. */
const build = (options: DaveClient.DaveClientOptions) =>
  Layer.build(DaveClient.layer(options)).pipe(
    Effect.map((context) => Context.get(context, DaveClient.DaveClient)),
    Effect.provideService(References.MinimumLogLevel, "Warn")
  )

/** A client joined through `daemon`. */
const clientVia = (daemon: DaemonProcess.Daemon, authorKey?: KeyPair, timeoutMs = 8_000) =>
  build({
    node: daemon.addressText,
    admin: daemon.admin,
    timeoutMs,
    peerLimits: "loopback",
    ...(authorKey === undefined ? {} : { authorKey })
  })

layer(Layer.effect(Daemons, DaemonProcess.startThree), { timeout: "60 seconds", excludeTestServices: true })(
  "DaveClient against three daemons on ::1",
  (it) => {
    it.effect(
      "puts through one node, every replica confirms, and a client joined through another node reads it",
      () =>
        Effect.gen(function* () {
          const [a, b, c] = yield* Daemons
          const author = yield* keyOf(1)
          const writer = yield* clientVia(a!, author)
          expect(writer.authorPublicKey).toEqual(Option.some(author.publicKey))
          const progress: Array<DaveClient.WorkProgress> = []
          const put = yield* writer.put({
            key: "color",
            value: "blue",
            difficulty: 12,
            onProgress: (p) => progress.push(p)
          })
          // Three nodes and FANOUT 5: all three are replicas, and all three serve the version back.
          expect(put.sentTo).toHaveLength(3)
          expect(put.replicas).toBe(3)
          expect(new Set(put.confirmedBy.map(Address.toString))).toEqual(
            new Set([a!, b!, c!].map((d) => d.addressText))
          )
          expect(DaveClient.workBits(put.entry)).toBeGreaterThanOrEqual(12)
          expect(progress.length).toBeGreaterThan(0)
          expect(progress.at(-1)!.hashes).toBe(put.workHashes)
          expect(progress[0]!.expectedHashes).toBe(2 ** 12)

          const reader = yield* clientVia(c!)
          const got = yield* reader.get(author.publicKey, "color")
          expect(Option.map(got, (e) => text(e.dat.value))).toEqual(Option.some("blue"))
          expect(Option.map(got, (e) => Dat.bytesEqual(e.dat.sig, put.entry.dat.sig))).toEqual(Option.some(true))

          // A newer write wins everywhere; bytes go through unchanged.
          const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff)
          const second = yield* writer.put({ key: new Uint8Array([0, 255, 1]), value: bytes })
          expect(second.replicas).toBe(3)
          const newer = yield* writer.put({ key: "color", value: "green", timeMs: Number(put.entry.dat.time) + 1 })
          expect(newer.replicas).toBe(3)
          const again = yield* reader.get(author.publicKey, "color")
          expect(Option.map(again, (e) => text(e.dat.value))).toEqual(Option.some("green"))
          const raw = yield* reader.get(author.publicKey, new Uint8Array([0, 255, 1]))
          expect(Option.map(raw, (e) => Array.from(e.dat.value))).toEqual(Option.some(Array.from(bytes)))

          // Nothing under another key, or by another author: None, not an error.
          expect(Option.isNone(yield* reader.get(author.publicKey, "shape"))).toBe(true)
          expect(Option.isNone(yield* reader.get((yield* keyOf(2)).publicKey, "color"))).toBe(true)
        }).pipe(Effect.scoped),
      40_000
    )

    it.effect(
      "status and peers come from the node's admin API",
      () =>
        Effect.gen(function* () {
          const [a, b, c] = yield* Daemons
          const client = yield* clientVia(b!)
          const status = yield* client.status
          expect(status.nodeId).toBe(b!.nodeId)
          expect(Buffer.from(status.publicKey).toString("hex")).toBe(b!.publicKey)
          expect(status.address).toBe(b!.addressText)
          expect(status.version).toBe("0.1.0")
          const peers = yield* client.peers
          const byAddress = new Map(peers.map((p) => [p.address, p]))
          expect(byAddress.get(a!.addressText)?.edge).toBe(true)
          expect(byAddress.get(a!.addressText)?.nodeId).toBe(a!.nodeId)
          // The third daemon was introduced by the first, the edge of both.
          expect(byAddress.get(c!.addressText)?.nodeId).toBe(c!.nodeId)
          expect(byAddress.get(c!.addressText)?.verified).toBe(true)
        }).pipe(Effect.scoped),
      30_000
    )

    it.effect(
      "bad input fails with reason Usage before anything is sent",
      () =>
        Effect.gen(function* () {
          const [a] = yield* Daemons
          const noAuthor = yield* clientVia(a!)
          expect((yield* Effect.flip(noAuthor.put({ key: "k", value: "v" }))).reason).toBe("Usage")
          const client = yield* clientVia(a!, yield* keyOf(3))
          const failures: ReadonlyArray<Effect.Effect<unknown, ClientError.ClientError>> = [
            client.put({ key: "k".repeat(Constants.MAX_KEY_LEN + 1), value: "" }),
            client.put({ key: "k", value: new Uint8Array(Constants.MAX_KEY_VALUE_LEN) }),
            client.put({ key: "k", value: "v", difficulty: Constants.MIN_WORK - 1 }),
            client.put({ key: "k", value: "v", difficulty: 8.5 }),
            client.put({ key: "k", value: "v", timeMs: -1 }),
            client.get(new Uint8Array(31), "k"),
            client.get(new Uint8Array(32), "k".repeat(Constants.MAX_KEY_LEN + 1))
          ]
          for (const failure of failures) {
            const error = yield* Effect.flip(failure)
            expect(error.reason).toBe("Usage")
            expect(error.message.length).toBeGreaterThan(0)
          }
          // The largest value that fits still goes through.
          const fits = yield* client.put({ key: "k", value: new Uint8Array(Constants.MAX_KEY_VALUE_LEN - 1) })
          expect(fits.replicas).toBe(3)
        }).pipe(Effect.scoped),
      30_000
    )

    it.effect(
      "layerConfig takes its settings from the environment and creates the author's key file",
      () =>
        Effect.gen(function* () {
          const [a] = yield* Daemons
          const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-client-"))
          yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
          const keyFile = Path.join(dir, "author.key")
          const fromEnv = (env: Record<string, string>) =>
            Layer.build(DaveClient.layerConfig()).pipe(
              Effect.map((context) => Context.get(context, DaveClient.DaveClient)),
              Effect.provide(
                Layer.mergeAll(ConfigProvider.layer(ConfigProvider.fromUnknown(env)), NodeFileSystem.layer)
              ),
              Effect.provideService(References.MinimumLogLevel, "Warn")
            )
          const env = {
            DAVE_NODE: a!.addressText,
            DAVE_ADMIN: a!.admin,
            DAVE_KEY_FILE: keyFile,
            DAVE_PEER_LIMITS: "loopback",
            DAVE_TIMEOUT_MS: "8000"
          }
          const client = yield* fromEnv(env)
          const publicKey = Uint8Array.from(Fs.readFileSync(keyFile).subarray(32))
          expect(Fs.statSync(keyFile).mode & 0o777).toBe(0o600)
          expect(client.authorPublicKey).toEqual(Option.some(publicKey))
          expect((yield* client.put({ key: "env", value: "configured" })).replicas).toBe(3)
          expect((yield* client.status).nodeId).toBe(a!.nodeId)
          // The same file next time: the same author.
          const again = yield* fromEnv(env)
          expect(again.authorPublicKey).toEqual(Option.some(publicKey))
          const bad = yield* Effect.flip(fromEnv({ ...env, DAVE_TIMEOUT_MS: "soon" }))
          expect(bad._tag).toBe("ConfigError")
        }).pipe(Effect.scoped),
      30_000
    )

    it.effect(
      "a lazy client serves the admin API without touching UDP; its first read then fails Unreachable",
      () =>
        Effect.gen(function* () {
          const [a] = yield* Daemons
          const port = yield* DaemonProcess.freeUdpPort
          const client = yield* build({ node: `[::1]:${port}`, admin: a!.admin, timeoutMs: 1_000, connect: "lazy" })
          expect((yield* client.status).nodeId).toBe(a!.nodeId)
          const startMs = Date.now()
          const error = yield* Effect.flip(client.get(new Uint8Array(32), "k"))
          expect(error.reason).toBe("Unreachable")
          expect(error.message).toContain(`[::1]:${port}`)
          expect(Date.now() - startMs).toBeGreaterThanOrEqual(900)
          // A failed join is not remembered: the next call tries again (and fails again here).
          expect((yield* Effect.flip(client.get(new Uint8Array(32), "k"))).reason).toBe("Unreachable")
        }).pipe(Effect.scoped),
      30_000
    )
  }
)

describe("DaveClient without a network", () => {
  it.live(
    "an eager layer fails Unreachable within its timeout when nobody listens",
    () =>
      Effect.gen(function* () {
        const port = yield* DaemonProcess.freeUdpPort
        const startMs = Date.now()
        const error = yield* Effect.flip(build({ node: `[::1]:${port}`, timeoutMs: 1_000 }))
        const elapsedMs = Date.now() - startMs
        expect(error.reason).toBe("Unreachable")
        expect(elapsedMs).toBeGreaterThanOrEqual(900)
        expect(elapsedMs).toBeLessThan(4_000)
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "bad options fail the layer with reason Usage",
    () =>
      Effect.gen(function* () {
        const bad: ReadonlyArray<DaveClient.DaveClientOptions> = [
          { node: "nowhere" },
          { node: "[::1]:1618", admin: "ftp://x" },
          { node: "[::1]:1618", timeoutMs: 0 },
          { node: "[::1]:1618", difficulty: 99 }
        ]
        for (const options of bad) {
          const error = yield* Effect.flip(build(options))
          expect(error.reason).toBe("Usage")
        }
      }).pipe(Effect.scoped),
    30_000
  )
})
