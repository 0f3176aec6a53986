import * as Os from "node:os"
import * as Path from "node:path"
import { AdminApi, type ClientError, DaveClient } from "@dave/client"
import type { KeyPair } from "@dave/crypto"
import { Config, Effect, type Scope } from "effect"
import { Command, Flag } from "effect/cli"
import { FetchHttpClient } from "effect/http"

/**
 * The `dave` command itself and the flags every subcommand shares, before or after its name. Each
 * falls back to an environment variable, then to a default.
 */

export const DEFAULT_NODE = "[::1]:1618"
export const defaultKeyFile = (): string => Path.join(Os.homedir(), ".dave", "key")

const node = Flag.String("node").pipe(
  Flag.withDescription(`a node to join through, host:port (UDP; env DAVE_NODE; default ${DEFAULT_NODE})`),
  Flag.withFallbackConfig(Config.String("DAVE_NODE")),
  Flag.withDefault(DEFAULT_NODE)
)
const edge = Flag.String("edge").pipe(
  Flag.withDescription("another bootstrap node, host:port; repeat for several (env DAVE_EDGES, comma-separated)"),
  Flag.atLeast(0)
)
const admin = Flag.String("admin").pipe(
  Flag.withDescription(`the node's admin API, URL or host:port (env DAVE_ADMIN; default ${AdminApi.DEFAULT_URL})`),
  Flag.withFallbackConfig(Config.String("DAVE_ADMIN")),
  Flag.withDefault(AdminApi.DEFAULT_URL)
)
const timeoutMs = Flag.Int("timeout-ms").pipe(
  Flag.withDescription(
    `bound on each network wait: joining, reading, confirming, admin requests (env DAVE_TIMEOUT_MS; default ${DaveClient.DEFAULT_TIMEOUT_MS})`
  ),
  Flag.withFallbackConfig(Config.Int("DAVE_TIMEOUT_MS")),
  Flag.withDefault(DaveClient.DEFAULT_TIMEOUT_MS)
)
const keyFile = Flag.String("key-file").pipe(
  Flag.withDescription("the author's Ed25519 key file (env DAVE_KEY_FILE; default ~/.dave/key)"),
  Flag.withFallbackConfig(Config.String("DAVE_KEY_FILE")),
  Flag.optional
)
const peerLimits = Flag.Literals("peer-limits", ["internet", "loopback"]).pipe(
  Flag.withDescription(
    "internet (default) or loopback: no per-IP caps, for test networks of many nodes on one address (env DAVE_PEER_LIMITS)"
  ),
  Flag.withFallbackConfig(Config.Literals(["internet", "loopback"], "DAVE_PEER_LIMITS")),
  Flag.withDefault("internet")
)
const json = Flag.Boolean("json").pipe(
  Flag.withDescription("print machine-readable JSON on stdout"),
  Flag.withDefault(false)
)

export const root = Command.make("dave").pipe(
  Command.withSharedFlags({ node, edge, admin, timeoutMs, keyFile, peerLimits, json }),
  Command.withDescription(
    "A client for a Dave network: keys, writes and reads over UDP through any node, and a node's peers and status. " +
      "Exit codes: 0 ok, 1 usage, 2 not found, 3 network or timeout."
  )
)

export interface Settings {
  readonly node: string
  readonly edges: ReadonlyArray<string>
  readonly admin: string
  readonly timeoutMs: number
  readonly keyFile: string
  readonly peerLimits: "internet" | "loopback"
  readonly json: boolean
}

const edgesFromEnv = Config.String("DAVE_EDGES").pipe(
  Config.map((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x.length > 0)
  ),
  Config.withDefault<ReadonlyArray<string>>([])
)

/** The shared flags of this invocation, with environment fallbacks applied. */
export const settings: Effect.Effect<Settings, Config.ConfigError, Command.CommandContext<"dave">> = Effect.gen(
  function* () {
    const flags = yield* root
    return {
      node: flags.node,
      edges: flags.edge.length > 0 ? flags.edge : yield* edgesFromEnv,
      admin: flags.admin,
      timeoutMs: flags.timeoutMs,
      keyFile: flags.keyFile._tag === "Some" ? flags.keyFile.value : defaultKeyFile(),
      peerLimits: flags.peerLimits,
      json: flags.json
    }
  }
)

/** A client for one command: it joins the network only when a put or get needs it. */
export const client = (
  s: Settings,
  authorKey?: KeyPair
): Effect.Effect<DaveClient.DaveClientShape, ClientError.ClientError, Scope.Scope> =>
  DaveClient.make({
    node: s.node,
    edges: s.edges,
    admin: s.admin,
    timeoutMs: s.timeoutMs,
    connect: "lazy",
    peerLimits: s.peerLimits,
    ...(authorKey === undefined ? {} : { authorKey })
  }).pipe(Effect.provide(FetchHttpClient.layer))
