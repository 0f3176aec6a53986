import { Effect } from "effect"

/**
 * What the command prints. Results go to stdout (raw value bytes, tables, JSON); messages, progress
 * and logs go to stderr only, so `dave get key > file` and `dave peers --json | jq` stay clean.
 * The process streams are used directly because values are raw bytes and the progress line is
 * redrawn in place, which Console (strings, whole lines) cannot do.
 */

const write = (stream: NodeJS.WriteStream, data: string | Uint8Array): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    // Resumes once the data is handed to the OS; a closed pipe (EPIPE) is not our failure.
    stream.write(data, () => resume(Effect.void))
  })

/** Bytes or text, exactly as given. */
export const stdout = (data: string | Uint8Array): Effect.Effect<void> => write(process.stdout, data)

export const stdoutLine = (text: string): Effect.Effect<void> => write(process.stdout, `${text}\n`)

export const stderr = (text: string): Effect.Effect<void> => write(process.stderr, text)

export const stderrLine = (text: string): Effect.Effect<void> => write(process.stderr, `${text}\n`)

export const json = (value: unknown): Effect.Effect<void> => stdoutLine(JSON.stringify(value, null, 2))

export const stdoutIsTerminal = (): boolean => process.stdout.isTTY === true
export const stderrIsTerminal = (): boolean => process.stderr.isTTY === true

/** Ignores EPIPE on stdout and stderr (`dave get key | head -c 1`) instead of crashing. */
export const ignoreClosedPipes = (): void => {
  process.stdout.on("error", () => {})
  process.stderr.on("error", () => {})
}
