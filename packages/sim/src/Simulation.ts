import { KeyHash } from "@dave/store"
import { Cause, Data, Effect, Exit, type Fiber } from "effect"
import { EventLoop, LivelockError, type RunOutcome } from "./EventLoop.ts"
import * as LinkModel from "./LinkModel.ts"
import { Prng } from "./Prng.ts"
import * as SimCrypto from "./SimCrypto.ts"
import * as SimNetwork from "./SimNetwork.ts"
import { defaultOptions, type NetworkOptions, type NetworkStats } from "./SimNetwork.ts"
import type { SimParams } from "./SimParams.ts"
import { TraceHash } from "./TraceHash.ts"
import { World } from "./World.ts"

/**
 * Runs a scenario on a simulated network: builds the loop, network and world from the seed, starts
 * the scenario as a fiber on the loop's scheduler, and drives the loop until the scenario ends, the
 * virtual deadline passes, or nothing can happen any more. The loop runs in slices of events, and
 * the calling fiber yields between slices so the process stays responsive. Then every node still
 * running is shut down. The result carries the scenario's exit and a summary with the trace hash.
 */

export interface Options {
  readonly seed: number | string
  readonly crypto: SimCrypto.Mode
  readonly params: SimParams
  readonly network?: NetworkOptions
  /** Virtual time at the start, Unix ms (default 2026-01-01T00:00:00Z). */
  readonly startMs?: number
  /** The scenario must end within this much virtual time. */
  readonly maxVirtualMs: number
  /** Bound on pending events (default 20 million). */
  readonly maxPendingEvents?: number
  /** Bound on all events fired (default 2 billion). */
  readonly maxTotalEvents?: number
  /**
   * Checked between slices of events; true ends the run (a benchmark's wall-time cap). What it
   * reads never reaches the simulation, so it cannot change a run, only cut it short.
   */
  readonly abortWhen?: () => boolean
}

export const DEFAULT_START_MS = Date.UTC(2026, 0, 1)
const EVENTS_PER_SLICE = 100_000
const MAX_TASKS_PER_INSTANT = 20_000_000

export class SimulationError extends Data.TaggedError("SimulationError")<{
  readonly reason: "Deadline" | "Stalled" | "Livelock" | "EventBudget" | "Defect" | "Aborted" | "InvalidOptions"
  readonly detail: string
}> {
  override get message(): string {
    return `simulation ${this.reason}: ${this.detail}`
  }
}

export interface Summary {
  readonly seed: number | string
  readonly crypto: SimCrypto.Mode
  readonly traceHash: string
  readonly traceRecords: number
  readonly virtualMs: number
  readonly eventsFired: number
  readonly tasksRun: number
  readonly nodes: number
  readonly nodesRunning: number
  readonly network: NetworkStats
  readonly logErrors: number
  readonly logWarnings: number
  readonly firstErrors: ReadonlyArray<string>
}

export interface Result<A, E> {
  readonly exit: Exit.Exit<A, E | SimulationError>
  readonly summary: Summary
}

/** Drives the loop until `fiber` ends or the loop cannot go on; why it stopped. */
const drive = (
  loop: EventLoop,
  fiber: Fiber.Fiber<unknown, unknown>,
  untilMs: number,
  maxEvents: number,
  abortWhen: () => boolean = () => false
): Effect.Effect<RunOutcome | SimulationError> =>
  Effect.gen(function* () {
    const slices = Math.ceil(maxEvents / EVENTS_PER_SLICE)
    for (let slice = 0; slice < slices; slice++) {
      let outcome: RunOutcome
      try {
        outcome = loop.run({ untilMs, maxEvents: EVENTS_PER_SLICE, stop: () => fiber.pollUnsafe() !== undefined })
      } catch (error) {
        if (error instanceof LivelockError) return new SimulationError({ reason: "Livelock", detail: error.message })
        return new SimulationError({
          reason: "Defect",
          detail: error instanceof Error ? (error.stack ?? error.message) : String(error)
        })
      }
      if (outcome !== "Paused") return outcome
      if (abortWhen()) return new SimulationError({ reason: "Aborted", detail: `cut short at virtual ${loop.nowMs}` })
      yield* Effect.yieldNow
    }
    return new SimulationError({ reason: "EventBudget", detail: `more than ${maxEvents} events` })
  })

export const run = <A, E>(
  options: Options,
  scenario: (world: World) => Effect.Effect<A, E>
): Effect.Effect<Result<A, E>> =>
  Effect.gen(function* () {
    const badLink = LinkModel.invalidField((options.network ?? defaultOptions).link)
    if (badLink !== undefined || !(options.maxVirtualMs > 0)) {
      const detail = badLink === undefined ? "maxVirtualMs must be > 0" : `invalid link profile: ${badLink}`
      return {
        exit: Exit.fail(new SimulationError({ reason: "InvalidOptions", detail })),
        summary: emptySummary(options)
      }
    }
    // Both load WASM asynchronously; inside the simulation nothing may wait on the real world.
    yield* KeyHash.make
    const crypto = yield* SimCrypto.make(options.crypto)
    const root = Prng.fromSeed(options.seed)
    const identities = root.split()
    const networkRandom = root.split()
    const nodeStreams = root.split()
    const scenarioRandom = root.split()
    const startMs = options.startMs ?? DEFAULT_START_MS
    const loop = new EventLoop({
      startMs,
      maxEvents: options.maxPendingEvents ?? 20_000_000,
      maxTasksPerInstant: MAX_TASKS_PER_INSTANT
    })
    const trace = new TraceHash()
    const network = new SimNetwork.SimNetwork(loop, networkRandom, trace, options.network ?? defaultOptions)
    const world = new World({
      seed: options.seed,
      loop,
      network,
      crypto,
      params: options.params,
      trace,
      identities,
      nodeStreams,
      scenario: scenarioRandom
    })
    const fork = Effect.runForkWith(world.context)
    const maxTotal = options.maxTotalEvents ?? 2_000_000_000
    const fiber = fork(scenario(world), { scheduler: loop.scheduler })
    const outcome = yield* drive(loop, fiber, startMs + options.maxVirtualMs, maxTotal, options.abortWhen)
    const virtualMs = loop.nowMs - startMs

    let exit: Exit.Exit<A, E | SimulationError> | undefined = fiber.pollUnsafe()
    if (exit === undefined) {
      const error =
        outcome instanceof SimulationError
          ? outcome
          : outcome === "Idle"
            ? new SimulationError({ reason: "Stalled", detail: "the scenario waits but no event is pending" })
            : new SimulationError({ reason: "Deadline", detail: `not done after ${options.maxVirtualMs} virtual ms` })
      exit = Exit.fail(error)
    }
    const summary = summarize(world, options, virtualMs)
    if (!(outcome instanceof SimulationError)) yield* shutdown(world, fiber)
    return { exit, summary }
  })

/** Interrupts the scenario if it still runs and stops every node, inside the simulation. */
const shutdown = (world: World, scenario: Fiber.Fiber<unknown, unknown>): Effect.Effect<void> =>
  Effect.gen(function* () {
    const stop = Effect.andThen(
      Effect.sync(() => scenario.interruptUnsafe()),
      Effect.forEach(world.running(), (node) => node.crash(world.env), { discard: true })
    )
    const fiber = Effect.runForkWith(world.context)(stop, { scheduler: world.loop.scheduler })
    const outcome = yield* drive(world.loop, fiber, Number.MAX_SAFE_INTEGER, 10_000_000)
    if (outcome instanceof SimulationError || fiber.pollUnsafe() === undefined) {
      yield* Effect.logWarning("simulation shutdown did not finish", outcome)
    }
  })

const emptySummary = (options: Options): Summary => ({
  seed: options.seed,
  crypto: options.crypto,
  traceHash: new TraceHash().hex(),
  traceRecords: 0,
  virtualMs: 0,
  eventsFired: 0,
  tasksRun: 0,
  nodes: 0,
  nodesRunning: 0,
  network: SimNetwork.emptyStats(),
  logErrors: 0,
  logWarnings: 0,
  firstErrors: []
})

const summarize = (world: World, options: Options, virtualMs: number): Summary => ({
  seed: options.seed,
  crypto: options.crypto,
  traceHash: world.trace.hex(),
  traceRecords: world.trace.records,
  virtualMs,
  eventsFired: world.loop.eventsFired,
  tasksRun: world.loop.tasksRun,
  nodes: world.nodes.length,
  nodesRunning: world.running().length,
  network: world.network.stats,
  logErrors: world.logs.errors,
  logWarnings: world.logs.warnings,
  firstErrors: world.logs.firstErrors
})

/** The failure of an exit as text (for reports). */
export const describeFailure = <A, E>(exit: Exit.Exit<A, E>): string | undefined =>
  Exit.isSuccess(exit) ? undefined : Cause.pretty(exit.cause)
