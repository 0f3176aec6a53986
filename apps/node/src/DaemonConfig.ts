import * as Os from "node:os"
import * as Path from "node:path"
import { Address, type AddrPort } from "@dave/protocol"
import { Data, type LogLevel, Result } from "effect"

/**
 * The daemon's settings, checked: every value is parsed here, whatever its source (flag,
 * environment variable, config file), and a bad one is a ConfigError naming the setting, where it
 * came from, and what is wrong with it. Sources are tried in order (flags, env, file): the first one
 * that sets a value wins, and a setting no source sets takes its default.
 */

export interface DaemonConfig {
  /** UDP listen address; the TCP side channel is on port + 1. */
  readonly listenHost: string
  readonly listenPort: number
  readonly edges: ReadonlyArray<AddrPort>
  readonly dataDir: string
  readonly keyFile: string
  /** Undefined: no backup. */
  readonly backupFile: string | undefined
  readonly capacityBytes: number
  /** Peer limits: "internet" defaults, or "loopback" for many nodes on one address (tests). */
  readonly peerLimits: "internet" | "loopback"
  /** The admin HTTP API, always on a loopback address; undefined: off. Port 0 = ephemeral. */
  readonly admin: AdminAddress | undefined
  readonly logLevel: LogLevel.LogLevel
  /** Threads verifying PUTs; undefined: one per core beyond the first (NodeStack's default). */
  readonly verifyWorkers: number | undefined
}

export interface AdminAddress {
  /** An IP literal a socket binds: `127.0.0.1` or `::1`. */
  readonly host: string
  readonly port: number
}

/** The settings as a source gives them, before any check. `false` turns backup or admin off. */
export interface RawSettings {
  readonly listen?: string | number | undefined
  readonly edges?: ReadonlyArray<string> | undefined
  readonly dataDir?: string | undefined
  readonly keyFile?: string | undefined
  readonly backup?: string | boolean | undefined
  readonly capacity?: string | number | undefined
  readonly peerLimits?: string | undefined
  readonly admin?: string | boolean | undefined
  readonly logLevel?: string | undefined
  readonly verifyWorkers?: string | number | undefined
}

export type Setting = keyof RawSettings

export const SETTINGS: ReadonlyArray<Setting> = [
  "listen",
  "edges",
  "dataDir",
  "keyFile",
  "backup",
  "capacity",
  "peerLimits",
  "admin",
  "logLevel",
  "verifyWorkers"
]

/** One source of settings and how to say where a setting came from ("from flag --capacity"). */
export interface Source {
  readonly settings: RawSettings
  readonly describe: (setting: Setting) => string
}

export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly setting: string
  readonly problem: string
  /** Where the value came from, e.g. "in /etc/dave/dave.yaml" or "from env DAVE_CAPACITY". */
  readonly source?: string | undefined
}> {
  override get message(): string {
    const where = this.source === undefined ? "" : ` ${this.source}`
    return `invalid setting ${this.setting}${where}: ${this.problem}`
  }
}

export const DEFAULT_PORT = 1618
export const DEFAULT_LISTEN = `[::]:${DEFAULT_PORT}`
/** The UDP port is 1618 and its TCP side channel 1619; the admin API takes the next one. */
export const DEFAULT_ADMIN = "127.0.0.1:1620"
export const DEFAULT_CAPACITY = "1GiB"
const DEFAULT_CAPACITY_BYTES = 1024 ** 3
const DEFAULT_ADMIN_ADDRESS: AdminAddress = { host: "127.0.0.1", port: 1620 }
export const DEFAULT_BACKUP_FILE = "backup.dave"
export const DEFAULT_KEY_FILE = "key"
export const defaultDataDir = (): string => Path.join(Os.homedir(), ".dave")

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3
}

/** Parses a byte count: `1073741824`, `64MiB`, `1GB`. */
export const parseBytes = (text: string): number | undefined => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  if (m === null) return undefined
  const unit = UNITS[m[2]!.toLowerCase()]
  if (unit === undefined) return undefined
  const n = Math.floor(Number(m[1]) * unit)
  return Number.isSafeInteger(n) ? n : undefined
}

/** The level names of effect's global `--log-level` flag, for the env variable and the file. */
const LOG_LEVELS: Record<string, LogLevel.LogLevel> = {
  all: "All",
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  warning: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None"
}

type Check<A> = Result.Result<A, string>

const ok = Result.succeed
const bad = (problem: string): Check<never> => Result.fail(problem)
const quoted = (value: unknown): string => JSON.stringify(value)

/** Parses `host:port`, `[v6]:port` or a bare port. */
const checkListen = (value: string | number): Check<{ host: string; port: number }> => {
  const text = String(value).trim()
  if (/^\d+$/.test(text)) {
    const port = Number(text)
    if (port > 0xfffe) return bad(`port ${port} is out of range (0 to 65534; the TCP side channel takes port + 1)`)
    return ok({ host: "::", port })
  }
  const addr = Address.parse(text)
  if (addr === undefined)
    return bad(`${quoted(text)} is not host:port (e.g. [::]:${DEFAULT_PORT}, 127.0.0.1:${DEFAULT_PORT})`)
  if (addr.port === 0xffff) return bad("port 65535 leaves no room for the TCP side channel on port + 1")
  return ok({ host: Address.ipToV6String(addr.ip), port: addr.port })
}

const checkEdges = (values: ReadonlyArray<string>): Check<ReadonlyArray<AddrPort>> => {
  const edges: Array<AddrPort> = []
  for (const text of values) {
    const addr = Address.parse(text.trim())
    if (addr === undefined || addr.port === 0) return bad(`${quoted(text)} is not host:port (e.g. [2001:db8::1]:1618)`)
    edges.push(addr)
  }
  return ok(edges)
}

const checkPath = (value: string): Check<string> =>
  value.trim().length === 0
    ? bad("the path is empty")
    : value.includes("\0")
      ? bad("the path contains a NUL")
      : ok(value)

const checkCapacity = (value: string | number): Check<number> => {
  const bytes = typeof value === "number" ? (Number.isSafeInteger(value) ? value : undefined) : parseBytes(value)
  if (bytes === undefined || bytes < 1024)
    return bad(`${quoted(value)} is not a byte count of at least 1024 (e.g. 1GiB)`)
  return ok(bytes)
}

/** A file name in the data directory (or an absolute path); `off` or false: no backup. */
const checkBackup = (value: string | boolean): Check<string | undefined> =>
  value === false || value === "off" ? ok(undefined) : value === true ? ok(DEFAULT_BACKUP_FILE) : checkPath(value)

const checkPeerLimits = (value: string): Check<"internet" | "loopback"> =>
  value === "internet" || value === "loopback" ? ok(value) : bad(`${quoted(value)} is not internet or loopback`)

const isLoopback = (ip: Uint8Array): boolean =>
  Address.isIpv4Mapped(ip) ? ip[12] === 127 : ip.every((b, i) => b === (i === 15 ? 1 : 0))

/** `off` (or false), or a loopback `host:port`: the admin API must not be reachable from outside. */
const checkAdmin = (value: string | boolean): Check<AdminAddress | undefined> => {
  if (value === false || value === "off") return ok(undefined)
  if (value === true) return ok(DEFAULT_ADMIN_ADDRESS)
  const text = value.trim().replace(/^localhost:/, "127.0.0.1:")
  const addr = Address.parse(text)
  if (addr === undefined) return bad(`${quoted(value)} is not off or host:port (e.g. ${DEFAULT_ADMIN}, [::1]:1620)`)
  if (!isLoopback(addr.ip))
    return bad(`${quoted(value)} is not a loopback address (127.0.0.0/8 or ::1): the admin API has no authentication`)
  return ok({ host: Address.ipToString(addr.ip), port: addr.port })
}

/** `auto`, or 0..16 threads. */
const checkVerifyWorkers = (value: string | number): Check<number | undefined> => {
  if (value === "auto") return ok(undefined)
  const n = typeof value === "number" ? value : /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN
  return Number.isSafeInteger(n) && n >= 0 && n <= 16
    ? ok(n)
    : bad(`${quoted(value)} is not auto or a thread count 0..16`)
}

const checkLogLevel = (value: string): Check<LogLevel.LogLevel> => {
  const level = LOG_LEVELS[value.trim().toLowerCase()]
  return level === undefined ? bad(`${quoted(value)} is not one of ${Object.keys(LOG_LEVELS).join(", ")}`) : ok(level)
}

/** The admin address as logged and shown: `127.0.0.1:1620`, `[::1]:1620`. */
export const formatHostPort = (host: string, port: number): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`

/** Checks the first value the sources give for each setting, or its default; the first bad one fails. */
export const make = (sources: ReadonlyArray<Source>): Result.Result<DaemonConfig, ConfigError> => {
  const pick = <S extends Setting, A>(
    setting: S,
    check: (value: NonNullable<RawSettings[S]>) => Check<A>,
    fallback: () => A
  ): Result.Result<A, ConfigError> => {
    const source = sources.find((s) => s.settings[setting] !== undefined)
    if (source === undefined) return ok(fallback())
    return Result.mapError(
      check(source.settings[setting] as NonNullable<RawSettings[S]>),
      (problem) => new ConfigError({ setting, problem, source: source.describe(setting) })
    )
  }
  return Result.gen(function* () {
    const listen = yield* pick("listen", checkListen, () => ({ host: "::", port: DEFAULT_PORT }))
    const dataDir = Path.resolve(yield* pick("dataDir", checkPath, defaultDataDir))
    const backup = yield* pick("backup", checkBackup, () => DEFAULT_BACKUP_FILE)
    return {
      listenHost: listen.host,
      listenPort: listen.port,
      edges: yield* pick("edges", checkEdges, () => []),
      dataDir,
      keyFile: Path.resolve(dataDir, yield* pick("keyFile", checkPath, () => DEFAULT_KEY_FILE)),
      backupFile: backup === undefined ? undefined : Path.resolve(dataDir, backup),
      capacityBytes: yield* pick("capacity", checkCapacity, () => DEFAULT_CAPACITY_BYTES),
      peerLimits: yield* pick("peerLimits", checkPeerLimits, () => "internet" as const),
      admin: yield* pick("admin", checkAdmin, () => DEFAULT_ADMIN_ADDRESS),
      logLevel: yield* pick("logLevel", checkLogLevel, () => "Info" as const),
      verifyWorkers: yield* pick("verifyWorkers", checkVerifyWorkers, () => undefined)
    }
  })
}
