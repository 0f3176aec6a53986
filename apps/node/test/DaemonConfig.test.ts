import * as Os from "node:os"
import * as Path from "node:path"
import { Address } from "@dave/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
// The daemon has no package exports: its pieces are tested from their source files.
import * as ConfigFile from "../src/ConfigFile.js"
import * as DaemonConfig from "../src/DaemonConfig.js"

/** The checks behind every source of settings, and the config file's shape. */

const source = (name: string, settings: DaemonConfig.RawSettings): DaemonConfig.Source => ({
  settings,
  describe: (setting) => `from ${name} ${setting}`
})

const config = (...sources: Array<DaemonConfig.Source>) => {
  const r = DaemonConfig.make(sources)
  if (Result.isFailure(r)) throw new Error(`unexpected: ${r.failure.message}`)
  return r.success
}

const failure = (...sources: Array<DaemonConfig.Source>) => {
  const r = DaemonConfig.make(sources)
  if (Result.isSuccess(r)) throw new Error("expected a ConfigError")
  return r.failure
}

describe("DaemonConfig", () => {
  it("defaults that work on a first start", () => {
    const c = config()
    expect(c).toEqual({
      listenHost: "::",
      listenPort: 1618,
      edges: [],
      dataDir: Path.join(Os.homedir(), ".dave"),
      keyFile: Path.join(Os.homedir(), ".dave", "key"),
      backupFile: Path.join(Os.homedir(), ".dave", "backup.dave"),
      capacityBytes: 1024 ** 3,
      peerLimits: "internet",
      admin: { host: "127.0.0.1", port: 1620 },
      logLevel: "Info"
    })
  })

  it("the first source that sets a value wins, per setting", () => {
    const flags = source("flag", { capacity: "64MiB" })
    const env = source("env", { capacity: "2GiB", dataDir: "/tmp/env-dir", logLevel: "debug" })
    const file = source("file", {
      capacity: 4096,
      dataDir: "/tmp/file-dir",
      backup: "b.log",
      admin: "[::1]:0",
      logLevel: "warn"
    })
    const c = config(flags, env, file)
    expect(c.capacityBytes).toBe(64 * 1024 * 1024)
    expect(c.dataDir).toBe("/tmp/env-dir")
    expect(c.backupFile).toBe("/tmp/env-dir/b.log")
    expect(c.admin).toEqual({ host: "::1", port: 0 })
    expect(c.logLevel).toBe("Debug")
    expect(config(file).capacityBytes).toBe(4096)
  })

  it("backup and admin turn off with false or off", () => {
    expect(config(source("f", { backup: false })).backupFile).toBeUndefined()
    expect(config(source("f", { backup: "off" })).backupFile).toBeUndefined()
    expect(config(source("f", { backup: false }), source("g", { backup: "x" })).backupFile).toBeUndefined()
    expect(config(source("f", { admin: "off" })).admin).toBeUndefined()
    expect(config(source("f", { admin: false })).admin).toBeUndefined()
    expect(config(source("f", { admin: "localhost:9" })).admin).toEqual({ host: "127.0.0.1", port: 9 })
  })

  it("listen and edges", () => {
    expect(config(source("f", { listen: 7000 }))).toMatchObject({ listenHost: "::", listenPort: 7000 })
    expect(config(source("f", { listen: "127.0.0.1:7000" }))).toMatchObject({
      listenHost: "::ffff:127.0.0.1",
      listenPort: 7000
    })
    const edges = config(source("f", { edges: ["[::1]:1618", "10.0.0.1:1618"] })).edges
    expect(edges.map(Address.toString)).toEqual(["[::1]:1618", "[::ffff:10.0.0.1]:1618"])
  })

  it("a bad value names the setting, its source and the problem", () => {
    const cases: Array<[DaemonConfig.RawSettings, string, RegExp]> = [
      [{ listen: "nowhere" }, "listen", /not host:port/],
      [{ listen: "[::1]:65535" }, "listen", /TCP side channel/],
      [{ listen: 70000 }, "listen", /out of range/],
      [{ edges: ["[::1]:1618", "x"] }, "edges", /"x" is not host:port/],
      [{ edges: ["[::1]:0"] }, "edges", /not host:port/],
      [{ capacity: "12" }, "capacity", /at least 1024/],
      [{ capacity: "1 parsec" }, "capacity", /not a byte count/],
      [{ capacity: 1.5e3 + 0.5 }, "capacity", /not a byte count/],
      [{ peerLimits: "lan" }, "peerLimits", /internet or loopback/],
      [{ admin: "0.0.0.0:1620" }, "admin", /not a loopback address/],
      [{ admin: "[::]:1620" }, "admin", /not a loopback address/],
      [{ admin: "[2001:db8::1]:1620" }, "admin", /not a loopback address/],
      [{ admin: "on" }, "admin", /not off or host:port/],
      [{ logLevel: "loud" }, "logLevel", /not one of/],
      [{ dataDir: "  " }, "dataDir", /empty/],
      [{ keyFile: "a\0b" }, "keyFile", /NUL/]
    ]
    for (const [settings, setting, problem] of cases) {
      const e = failure(source("test", settings))
      expect(e._tag).toBe("ConfigError")
      expect(e.setting).toBe(setting)
      expect(e.problem).toMatch(problem)
      expect(e.message).toBe(`invalid setting ${setting} from test ${setting}: ${e.problem}`)
    }
  })

  it("only loopback admin addresses pass", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 65535 }), (ip, port) => {
        const r = DaemonConfig.make([source("f", { admin: `${ip}:${port}` })])
        expect(Result.isSuccess(r)).toBe(ip.startsWith("127."))
      })
    )
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const r = DaemonConfig.make([source("f", { admin: `[${ip}]:1620` })])
        const bytes = Address.parseIp(ip)!
        const loopback = Address.isIpv4Mapped(bytes)
          ? bytes[12] === 127
          : bytes.every((b, i) => b === (i === 15 ? 1 : 0))
        expect(Result.isSuccess(r)).toBe(loopback)
      })
    )
  })
})

describe("ConfigFile", () => {
  const decode = (text: string, format: "yaml" | "json" | undefined = "yaml") => {
    const parsed = ConfigFile.parseText(text, format)
    if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
    return Result.mapError(ConfigFile.decode(parsed.success, "/etc/dave.yaml"), (e) => e.message)
  }

  it("YAML and JSON give the same settings; noBackup turns the backup off; an empty file sets nothing", () => {
    const yaml = decode('listen: 7000\nedges:\n  - "[::1]:1618"\ncapacity: 64MiB\nnoBackup: true\nadmin: off\n')
    const json = decode(
      '{"listen":7000,"edges":["[::1]:1618"],"capacity":"64MiB","noBackup":true,"admin":"off"}',
      "json"
    )
    const guessed = decode(
      '{"listen":7000,"edges":["[::1]:1618"],"capacity":"64MiB","noBackup":true,"admin":"off"}',
      undefined
    )
    const expected = { listen: 7000, edges: ["[::1]:1618"], capacity: "64MiB", backup: false, admin: "off" }
    expect(yaml).toEqual(Result.succeed(expected))
    expect(json).toEqual(Result.succeed(expected))
    expect(guessed).toEqual(Result.succeed(expected))
    expect(decode("")).toEqual(Result.succeed({}))
    expect(decode("# only a comment\n")).toEqual(Result.succeed({}))
  })

  it("unknown keys, wrong types and broken syntax are refused, naming the setting and the file", () => {
    const bad = (text: string, format?: "yaml" | "json") => {
      const r = decode(text, format)
      if (Result.isSuccess(r)) throw new Error(`accepted: ${text}`)
      return r.failure
    }
    expect(bad("capcity: 1GiB\n")).toMatch(
      /^invalid setting capcity in \/etc\/dave.yaml: unknown setting \(known: listen,/
    )
    expect(bad("capacity: [1]\n")).toBe("invalid setting capacity in /etc/dave.yaml: Expected string | number, got [1]")
    expect(bad("capacity:\n")).toBe("invalid setting capacity in /etc/dave.yaml: Expected string | number, got null")
    expect(bad("edges: [1]\n")).toMatch(/^invalid setting edges in \/etc\/dave.yaml: Expected string \(at item 0\)/)
    expect(bad("noBackup: yes\n")).toMatch(/^invalid setting noBackup/)
    expect(bad("noBackup: true\nbackup: x.log\n")).toMatch(/^invalid setting noBackup .*contradicts/)
    expect(bad("- 1\n- 2\n")).toMatch(/^invalid setting config in \/etc\/dave.yaml: .* must hold a mapping/)
    expect(bad("listen: [::]:1618\n")).toMatch(/not valid YAML.*quote values/)
    expect(bad("a: 1\na: 2\n")).toMatch(/not valid YAML/)
    expect(bad("{listen: 1}", "json")).toMatch(/not valid JSON/)
  })
})
