import * as Os from "node:os"
import * as Path from "node:path"
import { type AddrPort, Address } from "@dave/protocol"
import { Data, Result } from "effect"

/**
 * The daemon's settings, checked: every value is parsed here, and a bad one is a ConfigError naming
 * the setting and what is wrong with it.
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
}

export class ConfigError extends Data.TaggedError("ConfigError")<{ readonly setting: string; readonly problem: string }> {
  override get message(): string {
    return `invalid setting ${this.setting}: ${this.problem}`
  }
}

export interface RawConfig {
  readonly listen: string
  readonly edges: ReadonlyArray<string>
  readonly dataDir: string | undefined
  readonly keyFile: string | undefined
  readonly backup: string | undefined
  readonly noBackup: boolean
  readonly capacity: string
  readonly peerLimits: string
}

export const DEFAULT_PORT = 1618
export const DEFAULT_LISTEN = `[::]:${DEFAULT_PORT}`
export const DEFAULT_CAPACITY = "1GiB"
export const defaultDataDir = (): string => Path.join(Os.homedir(), ".dave")

const UNITS: Record<string, number> = { "": 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }

/** Parses a byte count: `1073741824`, `64MiB`, `1GB`. */
export const parseBytes = (text: string): number | undefined => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  if (m === null) return undefined
  const unit = UNITS[m[2]!.toLowerCase()]
  if (unit === undefined) return undefined
  const n = Math.floor(Number(m[1]) * unit)
  return Number.isSafeInteger(n) ? n : undefined
}

/** Parses `host:port`, `[v6]:port` or a bare port. */
const parseListen = (text: string): Result.Result<{ host: string; port: number }, ConfigError> => {
  const bad = (problem: string) => Result.fail(new ConfigError({ setting: "listen", problem }))
  if (/^\d+$/.test(text)) {
    const port = Number(text)
    return port <= 0xffff ? Result.succeed({ host: "::", port }) : bad(`port ${port} is out of range`)
  }
  const addr = Address.parse(text)
  if (addr === undefined) return bad(`"${text}" is not host:port (e.g. [::]:${DEFAULT_PORT}, 127.0.0.1:${DEFAULT_PORT})`)
  if (addr.port === 0xffff) return bad("port 65535 leaves no room for the TCP side channel on port + 1")
  return Result.succeed({ host: Address.ipToV6String(addr.ip), port: addr.port })
}

export const make = (raw: RawConfig): Result.Result<DaemonConfig, ConfigError> => {
  const listen = parseListen(raw.listen)
  if (Result.isFailure(listen)) return Result.fail(listen.failure)
  const edges: Array<AddrPort> = []
  for (const text of raw.edges) {
    const addr = Address.parse(text)
    if (addr === undefined || addr.port === 0) {
      return Result.fail(new ConfigError({ setting: "edge", problem: `"${text}" is not host:port` }))
    }
    edges.push(addr)
  }
  const capacityBytes = parseBytes(raw.capacity)
  if (capacityBytes === undefined || capacityBytes < 1024) {
    return Result.fail(
      new ConfigError({ setting: "capacity", problem: `"${raw.capacity}" is not a byte count of at least 1024 (e.g. 1GiB)` })
    )
  }
  if (raw.peerLimits !== "internet" && raw.peerLimits !== "loopback") {
    return Result.fail(new ConfigError({ setting: "peer-limits", problem: `"${raw.peerLimits}" is not internet or loopback` }))
  }
  const dataDir = Path.resolve(raw.dataDir ?? defaultDataDir())
  return Result.succeed({
    listenHost: listen.success.host,
    listenPort: listen.success.port,
    edges,
    dataDir,
    keyFile: Path.resolve(dataDir, raw.keyFile ?? "key"),
    backupFile: raw.noBackup ? undefined : Path.resolve(dataDir, raw.backup ?? "backup.dave"),
    capacityBytes,
    peerLimits: raw.peerLimits
  })
}
