import type { Scenario } from "./Scenario.ts"
import { churn } from "./scenarios/Churn.ts"
import { conflicts } from "./scenarios/Conflicts.ts"
import { form } from "./scenarios/Form.ts"
import { hour } from "./scenarios/Hour.ts"
import { partition } from "./scenarios/Partition.ts"
import { puts } from "./scenarios/Puts.ts"
import { reliability } from "./scenarios/Reliability.ts"
import { restart } from "./scenarios/Restart.ts"
import { sybil } from "./scenarios/Sybil.ts"

/** Every scenario the runner knows, by name. */
export const all: ReadonlyArray<Scenario> = [form, puts, churn, conflicts, partition, sybil, reliability, restart, hour]

export const byName = (name: string): Scenario | undefined => all.find((s) => s.name === name)

export { churn, conflicts, form, hour, partition, puts, reliability, restart, sybil }
