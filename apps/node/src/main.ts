/**
 * The Dave daemon entry point: `pnpm --filter node start -- [flags]`, or `node dist/main.js` for
 * systemd. Flags fall back to DAVE_* environment variables; `--help` lists them.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Config, Console, Effect, Layer, Logger, Option, Result } from "effect"
import { Command, Flag } from "effect/cli"
import * as Daemon from "./Daemon.ts"
import * as DaemonConfig from "./DaemonConfig.ts"

const listen = Flag.String("listen").pipe(
  Flag.withDescription(`UDP listen address, host:port or [v6]:port; TCP PUTs on port + 1 (env DAVE_LISTEN)`),
  Flag.withFallbackConfig(Config.String("DAVE_LISTEN")),
  Flag.withDefault(DaemonConfig.DEFAULT_LISTEN)
)
const edge = Flag.String("edge").pipe(
  Flag.withDescription("a bootstrap peer, host:port; repeat for several (env DAVE_EDGES, comma-separated)"),
  Flag.atLeast(0)
)
const dataDir = Flag.String("data-dir").pipe(
  Flag.withDescription("directory for the key file and the backup (env DAVE_DATA_DIR; default ~/.dave)"),
  Flag.withFallbackConfig(Config.String("DAVE_DATA_DIR")),
  Flag.optional
)
const keyFile = Flag.String("key-file").pipe(
  Flag.withDescription("Ed25519 key file (64 bytes: seed ‖ public key), created if missing (env DAVE_KEY_FILE)"),
  Flag.withFallbackConfig(Config.String("DAVE_KEY_FILE")),
  Flag.optional
)
const backup = Flag.String("backup").pipe(
  Flag.withDescription("backup file, relative to the data directory (env DAVE_BACKUP; default backup.dave)"),
  Flag.withFallbackConfig(Config.String("DAVE_BACKUP")),
  Flag.optional
)
const noBackup = Flag.Boolean("no-backup").pipe(Flag.withDescription("run without a backup file"), Flag.withDefault(false))
const capacity = Flag.String("capacity").pipe(
  Flag.withDescription("store byte budget, e.g. 1GiB or 67108864 (env DAVE_CAPACITY)"),
  Flag.withFallbackConfig(Config.String("DAVE_CAPACITY")),
  Flag.withDefault(DaemonConfig.DEFAULT_CAPACITY)
)
const peerLimits = Flag.String("peer-limits").pipe(
  Flag.withDescription("internet (default) or loopback: raise the per-IP caps for many nodes on one address"),
  Flag.withFallbackConfig(Config.String("DAVE_PEER_LIMITS")),
  Flag.withDefault("internet")
)

const edgesFromEnv = Config.String("DAVE_EDGES").pipe(
  Config.map((s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0)),
  Config.withDefault<ReadonlyArray<string>>([])
)

const command = Command.make(
  "daved-ts",
  { listen, edge, dataDir, keyFile, backup, noBackup, capacity, peerLimits },
  Effect.fn(function* (flags) {
    const edges = flags.edge.length > 0 ? flags.edge : yield* edgesFromEnv
    const config = DaemonConfig.make({
      listen: flags.listen,
      edges,
      dataDir: Option.getOrUndefined(flags.dataDir),
      keyFile: Option.getOrUndefined(flags.keyFile),
      backup: Option.getOrUndefined(flags.backup),
      noBackup: flags.noBackup,
      capacity: flags.capacity,
      peerLimits: flags.peerLimits
    })
    if (Result.isFailure(config)) {
      // A usage error: say what is wrong and exit 1, without a stack trace.
      yield* Console.error(`error: ${config.failure.message}`)
      return yield* Effect.sync(() => {
        process.exitCode = 1
      })
    }
    return yield* Daemon.run(config.success)
  })
).pipe(Command.withDescription("The Dave node daemon: a peer-to-peer key-value store over UDP"))

const LoggerLive = Logger.layer([Logger.withConsoleError(Logger.formatJson)])

command.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.provide(Layer.mergeAll(LoggerLive, NodeServices.layer)),
  NodeRuntime.runMain
)
