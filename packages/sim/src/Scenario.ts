import type { Effect } from "effect"
import type { SimParams as Params } from "./SimParams.ts"
import * as SimParams from "./SimParams.ts"
import type { World } from "./World.ts"

/**
 * A scenario: steps run in virtual time on a simulated network, then checks of the property it is
 * about. A check that fails makes the run fail; figures are what the run measured, for the summary.
 */

export interface Check {
  readonly name: string
  readonly passed: boolean
  readonly detail: string
}

export type Figure = readonly [name: string, value: number | string]

export interface Report {
  readonly checks: ReadonlyArray<Check>
  readonly figures: ReadonlyArray<Figure>
}

export interface Settings {
  readonly nodes: number
  /** Virtual minutes the network runs in steady state, on top of the scenario's own steps. */
  readonly virtualMinutes: number
  /** Overrides of SimParams.scaled's defaults. */
  readonly livenessScale?: number | undefined
  readonly maxPeers?: number | undefined
}

/** The node settings a run uses unless its scenario says otherwise. */
export const defaultParams = (settings: Settings): Params =>
  SimParams.scaled({
    nodes: settings.nodes,
    ...(settings.livenessScale === undefined ? {} : { livenessScale: settings.livenessScale }),
    ...(settings.maxPeers === undefined ? {} : { maxPeers: settings.maxPeers })
  })

export interface Scenario {
  readonly name: string
  readonly description: string
  readonly defaultNodes: number
  /** The node settings for a run; default `defaultParams(settings)`. */
  readonly params?: (settings: Settings) => Params
  /** A bound on the virtual time the scenario may take. */
  readonly maxVirtualMs: (settings: Settings) => number
  readonly run: (world: World, settings: Settings) => Effect.Effect<Report>
}

export const check = (name: string, passed: boolean, detail: string): Check => ({ name, passed, detail })

export const failedChecks = (report: Report): ReadonlyArray<Check> => report.checks.filter((c) => !c.passed)
