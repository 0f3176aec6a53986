// biome-ignore-all assist/source/organizeImports: AsyncContextOff must load before effect does.
import * as AsyncContextOff from "./AsyncContextOff.ts"
import { parseArgs } from "node:util"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Data, Effect } from "effect"
import * as Runner from "./Runner.ts"
import * as Scenarios from "./Scenarios.ts"

AsyncContextOff.restore()

/**
 * The simulation runner:
 *   pnpm sim -- --scenario churn --nodes 1000 --seed 7 [--virtual-minutes 60] [--crypto fake|real]
 * prints the run's summary and trace hash; exits 1 when a check fails (the message names the seed
 * and the command that reproduces it), 2 on bad flags.
 */

const usage = `usage: sim [--scenario NAME] [--nodes N] [--seed S] [--virtual-minutes M] [--crypto fake|real]
           [--liveness-scale X] [--max-peers P] [--list]
scenarios: ${Scenarios.all.map((s) => s.name).join(", ")}`

class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

const positiveInt = (name: string, text: string | undefined, fallback: number): Effect.Effect<number, UsageError> => {
  if (text === undefined) return Effect.succeed(fallback)
  const n = Number(text)
  return Number.isSafeInteger(n) && n >= 0
    ? Effect.succeed(n)
    : Effect.fail(new UsageError({ message: `--${name} must be a whole number, got ${text}` }))
}

const parse = (argv: ReadonlyArray<string>): Effect.Effect<Runner.Request | "list", UsageError> =>
  Effect.gen(function* () {
    // pnpm may pass the "--" that separates its own flags from the script's.
    const args = argv[0] === "--" ? argv.slice(1) : argv
    const parsed = yield* Effect.try({
      try: () =>
        parseArgs({
          args: [...args],
          options: {
            scenario: { type: "string" },
            nodes: { type: "string" },
            seed: { type: "string" },
            "virtual-minutes": { type: "string" },
            crypto: { type: "string" },
            "liveness-scale": { type: "string" },
            "max-peers": { type: "string" },
            list: { type: "boolean" }
          },
          strict: true,
          allowPositionals: false
        }),
      catch: (error) => new UsageError({ message: error instanceof Error ? error.message : String(error) })
    })
    const v = parsed.values
    if (v.list === true) return "list" as const
    const scenario = Scenarios.byName(v.scenario ?? "form")
    if (scenario === undefined) return yield* new UsageError({ message: `unknown scenario ${v.scenario}` })
    const crypto = v.crypto ?? "fake"
    if (crypto !== "fake" && crypto !== "real") {
      return yield* new UsageError({ message: `--crypto must be fake or real, got ${crypto}` })
    }
    const nodes = yield* positiveInt("nodes", v.nodes, scenario.defaultNodes)
    if (nodes < 2) return yield* new UsageError({ message: "--nodes must be at least 2" })
    const optional = (name: string, text: string | undefined) =>
      text === undefined ? Effect.succeed(undefined) : positiveInt(name, text, 0)
    const livenessScale = yield* optional("liveness-scale", v["liveness-scale"])
    const maxPeers = yield* optional("max-peers", v["max-peers"])
    if (livenessScale === 0 || maxPeers === 0) {
      return yield* new UsageError({ message: "--liveness-scale and --max-peers must be at least 1" })
    }
    return {
      scenario,
      seed: yield* positiveInt("seed", v.seed, 1),
      nodes,
      virtualMinutes: yield* positiveInt("virtual-minutes", v["virtual-minutes"], 0),
      crypto,
      livenessScale,
      maxPeers
    } satisfies Runner.Request
  })

const program = Effect.gen(function* () {
  const request = yield* parse(process.argv.slice(2))
  if (request === "list") {
    for (const s of Scenarios.all) yield* Console.log(`${s.name.padEnd(12)} ${s.description}`)
    return
  }
  yield* Console.log(`running ${request.scenario.name}: ${request.scenario.description}`)
  const outcome = yield* Runner.run(request)
  for (const line of Runner.formatOutcome(outcome)) yield* Console.log(line)
  if (!outcome.passed) process.exitCode = 1
}).pipe(
  Effect.catchTag("UsageError", (e) =>
    Effect.andThen(
      Console.error(`${e.message}\n${usage}`),
      Effect.sync(() => {
        process.exitCode = 2
      })
    )
  )
)

NodeRuntime.runMain(program)
