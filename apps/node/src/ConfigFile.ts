import * as Path from "node:path"
import { Effect, FileSystem, Result, Schema, SchemaIssue } from "effect"
import * as Yaml from "yaml"
import { ConfigError, type RawSettings, SETTINGS } from "./DaemonConfig.ts"

/**
 * The optional config file (`--config`, DAVE_CONFIG): YAML or JSON, a mapping of the same settings
 * as the flags, in camelCase. Its shape (keys and value types) is checked here with Schema, unknown
 * keys refused; the values themselves are checked by DaemonConfig, like those of every other source.
 */

const StringOrNumber = Schema.Union([Schema.String, Schema.Finite])
const StringOrBoolean = Schema.Union([Schema.String, Schema.Boolean])

export const FileSettings = Schema.Struct({
  listen: Schema.optionalKey(StringOrNumber),
  edges: Schema.optionalKey(Schema.Array(Schema.String)),
  dataDir: Schema.optionalKey(Schema.String),
  keyFile: Schema.optionalKey(Schema.String),
  backup: Schema.optionalKey(StringOrBoolean),
  noBackup: Schema.optionalKey(Schema.Boolean),
  capacity: Schema.optionalKey(StringOrNumber),
  peerLimits: Schema.optionalKey(Schema.String),
  verifyWorkers: Schema.optionalKey(Schema.Union([Schema.String, Schema.Number])),
  admin: Schema.optionalKey(StringOrBoolean),
  logLevel: Schema.optionalKey(Schema.String)
})
export type FileSettings = typeof FileSettings.Type

/** Files bigger than this are not config files (a bound on what we read and parse). */
const MAX_FILE_BYTES = 1024 * 1024

const decodeSettings = Schema.decodeUnknownResult(FileSettings, { onExcessProperty: "error" })
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

type Format = "yaml" | "json"

const formatOf = (path: string): Format | undefined => {
  const ext = Path.extname(path).toLowerCase()
  return ext === ".json" ? "json" : ext === ".yaml" || ext === ".yml" ? "yaml" : undefined
}

const firstLine = (e: unknown): string => String(e instanceof Error ? e.message : e).split("\n")[0]!

/** Parses the text by the file's extension; without a known one, as JSON and then as YAML. */
export const parseText = (text: string, format: Format | undefined): Result.Result<unknown, string> => {
  const asJson = (): Result.Result<unknown, string> =>
    Result.try({ try: () => JSON.parse(text) as unknown, catch: (e) => `not valid JSON: ${firstLine(e)}` })
  const asYaml = (): Result.Result<unknown, string> =>
    Result.try({
      try: () => Yaml.parse(text, { uniqueKeys: true, maxAliasCount: 100 }) as unknown,
      catch: (e) => `not valid YAML: ${firstLine(e)} (quote values that start with [ or {, e.g. "[::]:1618")`
    })
  if (format === "json") return asJson()
  if (format === "yaml") return asYaml()
  const json = asJson()
  return Result.isSuccess(json) ? json : asYaml()
}

/** Checks the shape of a parsed file; an empty file sets nothing. */
export const decode = (parsed: unknown, path: string): Result.Result<RawSettings, ConfigError> => {
  const source = `in ${path}`
  const decoded = decodeSettings(parsed ?? {})
  if (Result.isFailure(decoded)) {
    const issue = formatIssue(decoded.failure.issue).issues[0]
    const key = issue?.path?.[0]
    if (key === undefined) {
      return Result.fail(
        new ConfigError({ setting: "config", problem: `${path} must hold a mapping of settings`, source })
      )
    }
    const known = typeof key === "string" && (SETTINGS as ReadonlyArray<string>).includes(key)
    const inner = issue?.path?.slice(1) ?? []
    const value = (parsed as Record<PropertyKey, unknown>)[key as PropertyKey]
    const problem =
      known || key === "noBackup"
        ? `${issue?.message ?? "bad value"}${inner.length > 0 ? ` (at item ${inner.join(".")})` : `, got ${JSON.stringify(value)}`}`
        : `unknown setting (known: ${[...SETTINGS, "noBackup"].join(", ")})`
    return Result.fail(new ConfigError({ setting: String(key), problem, source }))
  }
  const { noBackup, ...settings } = decoded.success
  if (noBackup === true && settings.backup !== undefined && settings.backup !== false && settings.backup !== "off") {
    return Result.fail(new ConfigError({ setting: "noBackup", problem: "contradicts the backup setting", source }))
  }
  return Result.succeed(noBackup === true ? { ...settings, backup: false } : settings)
}

/** Reads, parses and checks the file at `path`; `source` says where its name came from (for errors). */
export const load = (path: string, source: string): Effect.Effect<RawSettings, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const cannotRead = (why: string) =>
      new ConfigError({ setting: "config", problem: `cannot read ${path}: ${why}`, source })
    const info = yield* fs.stat(path).pipe(Effect.mapError((e) => cannotRead(e.message)))
    if (info.type !== "File") return yield* cannotRead("not a file")
    if (info.size > BigInt(MAX_FILE_BYTES)) return yield* cannotRead(`bigger than ${MAX_FILE_BYTES} bytes`)
    const text = yield* fs.readFileString(path).pipe(Effect.mapError((e) => cannotRead(e.message)))
    const parsed = parseText(text, formatOf(path))
    if (Result.isFailure(parsed)) {
      return yield* new ConfigError({ setting: "config", problem: `${path} is ${parsed.failure}`, source })
    }
    return yield* Effect.fromResult(decode(parsed.success, path))
  })
