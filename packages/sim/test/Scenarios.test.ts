import { Scenarios } from "@dave/sim"
import { describe, it } from "@effect/vitest"
import { passes } from "./support.ts"

describe("scenarios (small networks, fake crypto)", () => {
  it.live("the network forms: every node has >= k active peers", () => passes(Scenarios.form, 20))
  it.live("every PUT is retrievable from every node", () => passes(Scenarios.puts, 16))
  it.live("conflicting writes converge on all replicas", () => passes(Scenarios.conflicts, 16))
  it.live("a partition heals and converges", () => passes(Scenarios.partition, 16))
  it.live("crashed nodes restart with or without their backup", () => passes(Scenarios.restart, 16))
  it.live("the scale benchmark's hour (coarse profile): forms, idles, serves a sample of PUTs", () =>
    passes(Scenarios.hour, 60)
  )
})

describe("real crypto (Ed25519 and BLAKE3)", () => {
  it.live("conflicting writes converge, with real signatures and work", () => passes(Scenarios.conflicts, 8, "real"))
})
