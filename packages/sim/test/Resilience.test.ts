import { Scenarios } from "@dave/sim"
import { describe, it } from "@effect/vitest"
import { passes } from "./support.ts"

describe("resilience scenarios (small networks, fake crypto)", () => {
  it.live("replication holds after 30% churn", () => passes(Scenarios.churn, 20))
  it.live("an attacker with one IP stays within its cap of every honest table", () => passes(Scenarios.sybil, 16))
  it.live("nodes that fail storage challenges lose reliability and stop being chosen", () =>
    passes(Scenarios.reliability, 20)
  )
})
