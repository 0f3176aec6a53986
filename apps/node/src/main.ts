/**
 * The Dave daemon entry point: `pnpm --filter node start -- [flags]`, or `node dist/main.js` for
 * systemd. Settings come from flags, then DAVE_* environment variables, then the config file
 * (`--config`, YAML or JSON), then defaults; `--help` lists them. A bad setting is reported on one
 * line naming it, with exit code 1; SIGINT/SIGTERM stop the node cleanly with exit code 0.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Config, Console, Data, Effect, Exit, Layer, Logger, Option, References, Result, Runtime } from "effect"
import { Command, Flag, GlobalFlag } from "effect/cli"
import * as ConfigFile from "./ConfigFile.ts"
import * as DaemonConfig from "./DaemonConfig.ts"
import { VERSION } from "./Version.ts"

const optionalString = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)

const flags = {
  config: optionalString("config", "config file, YAML or JSON, with the settings below in camelCase (env DAVE_CONFIG)"),
  listen: optionalString(
    "listen",
    `UDP listen address, host:port or [v6]:port; TCP PUTs on port + 1 (env DAVE_LISTEN; default ${DaemonConfig.DEFAULT_LISTEN})`
  ),
  edge: Flag.String("edge").pipe(
    Flag.withDescription("a bootstrap peer, host:port; repeat for several (env DAVE_EDGES, comma-separated)"),
    Flag.atLeast(0)
  ),
  dataDir: optionalString("data-dir", "directory for the key file and the backup (env DAVE_DATA_DIR; default ~/.dave)"),
  keyFile: optionalString(
    "key-file",
    "Ed25519 key file (64 bytes: seed ‖ public key), created (mode 0600) if missing (env DAVE_KEY_FILE; default key)"
  ),
  backup: optionalString("backup", "backup file in the data directory, or off (env DAVE_BACKUP; default backup.dave)"),
  noBackup: Flag.Boolean("no-backup").pipe(
    Flag.withDescription("run without a backup file (same as --backup off)"),
    Flag.withDefault(false)
  ),
  capacity: optionalString(
    "capacity",
    `store byte budget, e.g. 1GiB or 67108864 (env DAVE_CAPACITY; default ${DaemonConfig.DEFAULT_CAPACITY})`
  ),
  peerLimits: optionalString(
    "peer-limits",
    "internet (default) or loopback: raise the per-IP caps for many nodes on one address (env DAVE_PEER_LIMITS)"
  ),
  verifyWorkers: optionalString(
    "verify-workers",
    "threads verifying PUT signatures once PUTs back up: auto (one per core beyond the first, at most 4) or 0..16 (env DAVE_VERIFY_WORKERS)"
  ),
  admin: optionalString(
    "admin",
    `admin HTTP API on a loopback host:port, or off (env DAVE_ADMIN; default ${DaemonConfig.DEFAULT_ADMIN})`
  )
}

type Flags = {
  readonly [K in keyof typeof flags]: (typeof flags)[K] extends Flag.Flag<infer A> ? A : never
}

const FLAG_NAMES: Record<DaemonConfig.Setting, string> = {
  listen: "--listen",
  edges: "--edge",
  dataDir: "--data-dir",
  keyFile: "--key-file",
  backup: "--backup/--no-backup",
  capacity: "--capacity",
  peerLimits: "--peer-limits",
  admin: "--admin",
  logLevel: "--log-level",
  verifyWorkers: "--verify-workers"
}

const ENV_NAMES: Record<DaemonConfig.Setting, string> = {
  listen: "DAVE_LISTEN",
  edges: "DAVE_EDGES",
  dataDir: "DAVE_DATA_DIR",
  keyFile: "DAVE_KEY_FILE",
  backup: "DAVE_BACKUP",
  capacity: "DAVE_CAPACITY",
  peerLimits: "DAVE_PEER_LIMITS",
  admin: "DAVE_ADMIN",
  logLevel: "DAVE_LOG_LEVEL",
  verifyWorkers: "DAVE_VERIFY_WORKERS"
}

const fromFlags = (f: Flags, logLevel: Option.Option<string>): DaemonConfig.Source => ({
  settings: {
    listen: Option.getOrUndefined(f.listen),
    edges: f.edge.length > 0 ? f.edge : undefined,
    dataDir: Option.getOrUndefined(f.dataDir),
    keyFile: Option.getOrUndefined(f.keyFile),
    backup: f.noBackup ? false : Option.getOrUndefined(f.backup),
    capacity: Option.getOrUndefined(f.capacity),
    peerLimits: Option.getOrUndefined(f.peerLimits),
    admin: Option.getOrUndefined(f.admin),
    verifyWorkers: Option.getOrUndefined(f.verifyWorkers),
    logLevel: Option.getOrUndefined(Option.map(logLevel, (l) => l.toLowerCase()))
  },
  describe: (setting) => `from flag ${FLAG_NAMES[setting]}`
})

/** An environment variable; empty counts as unset, so `DAVE_EDGES=` leaves the config file's edges. */
const env = (name: string) =>
  Config.option(Config.String(name)).pipe(
    Config.map((o) => Option.getOrUndefined(Option.filter(o, (s) => s.trim().length > 0)))
  )

const fromEnv = Effect.gen(function* () {
  const edgeList = (yield* env(ENV_NAMES.edges))
    ?.split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0)
  const settings: DaemonConfig.RawSettings = {
    listen: yield* env(ENV_NAMES.listen),
    edges: edgeList !== undefined && edgeList.length > 0 ? edgeList : undefined,
    dataDir: yield* env(ENV_NAMES.dataDir),
    keyFile: yield* env(ENV_NAMES.keyFile),
    backup: yield* env(ENV_NAMES.backup),
    capacity: yield* env(ENV_NAMES.capacity),
    peerLimits: yield* env(ENV_NAMES.peerLimits),
    admin: yield* env(ENV_NAMES.admin),
    verifyWorkers: yield* env(ENV_NAMES.verifyWorkers),
    logLevel: yield* env(ENV_NAMES.logLevel)
  }
  return { settings, describe: (setting: DaemonConfig.Setting) => `from env ${ENV_NAMES[setting]}` }
})

/** A failure already printed on stderr: exit 1 without another report. */
class Reported extends Data.TaggedError("Reported") {
  override readonly [Runtime.errorReported] = false
}

const report = (message: string) => Effect.andThen(Console.error(`error: ${message}`), Effect.fail(new Reported()))

/** The sources in precedence order: flags, environment, config file. */
const sources = (f: Flags) =>
  Effect.gen(function* () {
    const logLevel = yield* GlobalFlag.LogLevel
    const environment = yield* fromEnv
    const configEnv = yield* env("DAVE_CONFIG")
    const list: Array<DaemonConfig.Source> = [fromFlags(f, logLevel), environment]
    const configPath = Option.getOrUndefined(f.config) ?? configEnv
    if (configPath !== undefined) {
      const where = Option.isSome(f.config) ? "from flag --config" : "from env DAVE_CONFIG"
      const settings = yield* ConfigFile.load(configPath, where)
      list.push({ settings, describe: () => `in ${configPath}` })
    }
    return list
  })

const command = Command.make(
  "daved-ts",
  flags,
  Effect.fn(function* (f) {
    const list = yield* sources(f).pipe(Effect.catch((e) => report(e.message)))
    const config = DaemonConfig.make(list)
    if (Result.isFailure(config)) return yield* report(config.failure.message)
    // Loaded only now: the node's modules take a second to load, which a bad setting need not wait for.
    const Daemon = yield* Effect.promise(() => import("./Daemon.ts"))
    return yield* Daemon.run(config.success).pipe(
      Effect.catch((e) => report(e.message)),
      Effect.provideService(References.MinimumLogLevel, config.success.logLevel)
    )
  })
).pipe(Command.withDescription("The Dave node daemon: a peer-to-peer key-value store over UDP"))

/** JSON lines on stderr: stdout stays free for --help and --version. */
const LoggerLive = Logger.layer([Logger.withConsoleError(Logger.formatJson)])

/** Exit 0 when a signal stopped the node (effect's default is 130 for an interruption). */
const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

command.pipe(
  Command.run({ version: VERSION }),
  Effect.provide(Layer.mergeAll(LoggerLive, NodeServices.layer)),
  NodeRuntime.runMain({ teardown })
)
