import { Effect, type Scope } from "effect"

/**
 * What every hardening script shares: `--name value` arguments with defaults, and a runner that
 * prints the figures, then the shortfalls, and exits 1 when there are any (or when the run fails).
 */

/** The number after `--name` on the command line, else `fallback`. */
export const numberArg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`)
  if (at < 0) return fallback
  const value = Number(process.argv[at + 1])
  if (!Number.isFinite(value)) {
    console.error(`--${name} needs a number, got ${JSON.stringify(process.argv[at + 1])}`)
    process.exit(2)
  }
  return value
}

export interface Outcome {
  readonly lines: ReadonlyArray<string>
  readonly shortfalls: ReadonlyArray<string>
}

/** Runs `program`, prints its lines and verdict, and exits: 0 when every goal is met, else 1. */
export const runScript = (name: string, program: Effect.Effect<Outcome, Error, Scope.Scope>): void => {
  const startedMs = Date.now()
  Effect.runPromise(
    Effect.scoped(program).pipe(
      Effect.match({
        onFailure: (error): Outcome => ({ lines: [], shortfalls: [`the run failed: ${error.message}`] }),
        onSuccess: (outcome) => outcome
      })
    )
  ).then(
    (outcome) => {
      for (const line of outcome.lines) console.log(line)
      for (const s of outcome.shortfalls) console.log(`SHORT: ${s}`)
      const seconds = ((Date.now() - startedMs) / 1000).toFixed(1)
      console.log(`${name}: ${outcome.shortfalls.length === 0 ? "PASS" : "FAIL"} in ${seconds} s`)
      process.exit(outcome.shortfalls.length === 0 ? 0 : 1)
    },
    (defect: unknown) => {
      console.error(`${name}: crashed: ${String(defect)}`)
      process.exit(1)
    }
  )
}
