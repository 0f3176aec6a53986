import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Backup, readBackupEntries } from "@dave/backup"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { eventually, seedOf, signedDat, startNode } from "./cluster.ts"

describe("restore", () => {
  it.live("serves restored entries and evicts those whose signature or work does not verify", () =>
    Effect.gen(function* () {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-restore-"))
      const path = Path.join(dir, "backup.dave")
      const good = yield* signedDat(seedOf(9), "good", "kept", Date.now() - 1_000)
      const forged = yield* signedDat(seedOf(9), "forged", "original", Date.now() - 1_000)
      // The backup's CRC covers what it was given: a record written with a changed value is intact
      // on disk but its signature no longer verifies.
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backup = yield* Backup.make({ path })
          yield* backup.append({ replicas: [0n, 0n, 0n, 0n, 0n], dat: good })
          yield* backup.append({
            replicas: [0n, 0n, 0n, 0n, 0n],
            dat: { ...forged, value: new TextEncoder().encode("tampered") }
          })
          yield* backup.flush
        })
      ).pipe(Effect.provide(NodeFileSystem.layer))
      // Both records are intact on disk, so the restore hands both to the store (which does not verify).
      const onDisk = yield* readBackupEntries(path).pipe(Effect.provide(NodeFileSystem.layer))
      expect(onDisk.entries.map((e) => new TextDecoder().decode(e.dat.key))).toEqual(["good", "forged"])

      const node = yield* startNode({ seed: seedOf(1), backupPath: path })
      yield* eventually(
        "the forged entry is evicted",
        10_000,
        Effect.map(node.store.get(forged.pubKey, forged.key), Option.isNone)
      )
      const kept = yield* node.store.get(good.pubKey, good.key)
      expect(Option.isSome(kept) && new TextDecoder().decode(kept.value.dat.value)).toBe("kept")
      Fs.rmSync(dir, { recursive: true, force: true })
    }).pipe(Effect.scoped)
  )
})
