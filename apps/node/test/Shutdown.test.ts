import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Message } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { getStatus, poll } from "./support/Admin.ts"
import { clientNode, putMessage, rawSocket, readFrom, seedOf, signedDat, valueOf } from "./support/Client.ts"
import { start, testArgs } from "./support/DaemonProcess.ts"

/**
 * Issue 5 acceptance: SIGTERM stops the daemon cleanly (exit 0) and flushes the backup, without
 * waiting for the 1 s group commit; a daemon restarted on the same data directory serves the same
 * entries.
 */

const ENTRIES = 20
/** Rounds to try for a kill that lands before the group commit wrote the round's entries. */
const MAX_ROUNDS = 5

describe("graceful shutdown", () => {
  it.live(
    "SIGTERM right after PUTs flushes the backup; the restarted daemon serves the entries",
    () =>
      Effect.gen(function* () {
        const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-shutdown-"))
        const backupFile = Path.join(dir, "backup.dave")
        const daemon = yield* start(testArgs(dir, [], 0, "auto"))
        expect(daemon.logs.find((l) => l.message === "listening")?.annotations.backup).toBe(backupFile)
        const raw = yield* rawSocket
        const author = seedOf(21)
        const dats: Array<Message.Dat> = []
        // Each round PUTs entries and waits until the daemon holds them; if the backup file has not
        // grown yet, they are only in the group-commit queue, and that is when SIGTERM goes out.
        let unflushedAtKill = false
        for (let round = 0; round < MAX_ROUNDS && !unflushedAtKill; round++) {
          const sizeBefore = Fs.statSync(backupFile).size
          for (let i = 0; i < ENTRIES; i++) {
            const dat = yield* signedDat(author, `key-${round}-${i}`, `value-${round}-${i}`, Date.now() - 10)
            dats.push(dat)
            yield* raw.send(daemon.address, putMessage(dat))
          }
          yield* poll(
            "entries stored",
            Effect.map(getStatus(daemon.admin!), (r) => (r.body.store.entries === dats.length ? true : undefined)),
            5_000,
            10
          )
          unflushedAtKill = Fs.statSync(backupFile).size === sizeBefore
        }
        expect(unflushedAtKill).toBe(true)
        const sizeAtKill = Fs.statSync(backupFile).size
        const code = yield* daemon.kill("SIGTERM")
        expect(code).toBe(0)
        const messages = daemon.logs.map((l) => l.message)
        expect(messages.indexOf("stopping")).toBeGreaterThan(messages.indexOf("listening"))
        expect(messages.indexOf("stopped")).toBeGreaterThan(messages.indexOf("stopping"))
        expect(daemon.logs.filter((l) => l.level === "ERROR" || l.level === "WARN")).toEqual([])
        expect(Fs.statSync(backupFile).size).toBeGreaterThan(sizeAtKill)

        // Restarted on the same directory (and port): it restores every entry and serves each one.
        const revived = yield* start(testArgs(dir, [], daemon.address.port, "auto"))
        expect(revived.nodeId).toBe(daemon.nodeId)
        const restored = revived.logs.find((l) => l.message === "backup restored")
        expect(restored?.annotations.restored).toBe(dats.length)
        expect((yield* getStatus(revived.admin!)).body.store.entries).toBe(dats.length)
        const client = yield* clientNode([revived.address], seedOf(22))
        for (const dat of dats) {
          const want = new TextDecoder().decode(dat.value)
          const got = yield* readFrom(client, revived.address, dat, (e) => valueOf(e) === want, 5_000)
          expect(valueOf(got)).toBe(want)
        }
        yield* revived.kill("SIGINT").pipe(Effect.tap((c) => Effect.sync(() => expect(c).toBe(0))))
        Fs.rmSync(dir, { recursive: true, force: true })
      }).pipe(Effect.scoped),
    60_000
  )
})
