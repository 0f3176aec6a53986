import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Address, Dat } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Admin from "./support/Admin.ts"
import { clientNode, putMessage, rawSocket, readFrom, seedOf, signedDat, valueOf } from "./support/Client.ts"
import { type DaemonProcess, start, testArgs } from "./support/DaemonProcess.ts"

/** Waits until every other daemon's /peers lists `target` as active. */
const activeEverywhere = (daemons: ReadonlyArray<DaemonProcess>, target: DaemonProcess, timeoutMs: number) =>
  Admin.poll(
    `${Address.toString(target.address)} active at every peer`,
    Effect.map(
      Effect.forEach(
        daemons.filter((d) => d !== target),
        (d) => Admin.getPeers(d.admin!)
      ),
      (replies) =>
        replies.every((r) => r.body.peers.some((p) => p.active && p.address === Address.toString(target.address)))
          ? true
          : undefined
    ),
    timeoutMs
  )

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-net-"))
const activeAtLeast = (n: number) => (l: { message: string; annotations: Record<string, unknown> }) =>
  l.message === "peers" && Number(l.annotations.active) >= n

describe("five daemon processes on ::1", () => {
  it.live(
    "form a network, replicate, serve from any node, survive a kill, converge and repair",
    () =>
      Effect.gen(function* () {
        const root = tempDir()
        const dirs = [0, 1, 2, 3, 4].map((i) => Path.join(root, `n${i}`))
        const first = yield* start(testArgs(dirs[0]!))
        const rest = yield* Effect.forEach([1, 2, 3, 4], (i) => start(testArgs(dirs[i]!, [first.address])), {
          concurrency: "unbounded"
        })
        const daemons: Array<DaemonProcess> = [first, ...rest]
        const startedMs = Date.now()
        yield* Effect.forEach(daemons, (d) => d.waitForLog(activeAtLeast(4), 10_000), { concurrency: "unbounded" })
        const formedMs = Date.now() - startedMs
        expect(formedMs).toBeLessThan(10_000)

        const client = yield* clientNode(daemons.map((d) => d.address))
        const raw = yield* rawSocket
        const author = seedOf(7)

        // A PUT through one node reaches all five (the five closest of five), and each serves it.
        const v1 = yield* signedDat(author, "color", "blue", Date.now() - 100)
        yield* raw.send(first.address, putMessage(v1))
        for (const d of daemons) {
          expect(valueOf(yield* readFrom(client, d.address, v1, (e) => valueOf(e) === "blue", 5_000))).toBe("blue")
        }

        // A node killed (SIGKILL, after the group commit) and restarted from its backup serves it again.
        yield* Effect.sleep(1_500)
        const victim = daemons[2]!
        yield* victim.kill("SIGKILL")
        const revived = yield* start(testArgs(dirs[2]!, [first.address], victim.address.port))
        daemons[2] = revived
        expect(revived.nodeId).toBe(victim.nodeId)
        expect(valueOf(yield* readFrom(client, revived.address, v1, (e) => valueOf(e) === "blue", 10_000))).toBe("blue")
        // Writes reach a node only once its peers see it active again: wait for that before writing.
        yield* activeEverywhere(daemons, revived, 20_000)

        // Conflicting writes at the same time through two nodes converge on the greater work hash.
        const timeMs = Date.now() - 50
        const a = yield* signedDat(author, "shape", "circle", timeMs)
        const b = yield* signedDat(author, "shape", "square", timeMs)
        const winner = Dat.compareBytes(a.work, b.work) > 0 ? "circle" : "square"
        yield* raw.send(daemons[0]!.address, putMessage(a))
        yield* raw.send(daemons[3]!.address, putMessage(b))
        for (const d of daemons) {
          expect(valueOf(yield* readFrom(client, d.address, a, (e) => valueOf(e) === winner, 5_000))).toBe(winner)
        }

        // A replica that missed a write (down while it happened) is repaired by the next read.
        yield* Effect.sleep(1_500)
        const sleeper = daemons[4]!
        yield* sleeper.kill("SIGKILL")
        const v2 = yield* signedDat(author, "color", "green", Date.now() - 10)
        yield* raw.send(daemons[1]!.address, putMessage(v2))
        yield* readFrom(client, daemons[1]!.address, v2, (e) => valueOf(e) === "green", 5_000)
        const back = yield* start(testArgs(dirs[4]!, [first.address], sleeper.address.port))
        daemons[4] = back
        expect(valueOf(yield* readFrom(client, back.address, v1, (e) => valueOf(e) !== undefined, 10_000))).toBe("blue")
        yield* back.waitForLog(activeAtLeast(4), 15_000)
        // The client's read asks the replicas, sees the stale one, and sends it the newest.
        const deadline = Date.now() + 10_000
        let repaired = false
        while (!repaired && Date.now() < deadline) {
          const got = yield* client.get(v1.pubKey, v1.key)
          expect(valueOf(got)).toBe("green")
          const there = yield* client.get(v1.pubKey, v1.key, { targets: [back.address], timeoutMs: 500 })
          repaired = valueOf(there) === "green"
          if (!repaired) yield* Effect.sleep(300)
        }
        expect(repaired).toBe(true)
        for (const d of daemons) expect(d.exited()).toBe(false)
        Fs.rmSync(root, { recursive: true, force: true })
      }).pipe(Effect.scoped),
    120_000
  )
})
