import { Runner, Scenarios } from "@dave/sim"
import { Effect } from "effect"
const only = process.argv[2]?.split(",")
const sizes: Record<string, number> = { form: 20, puts: 20, churn: 24, conflicts: 16, partition: 20, sybil: 16, reliability: 20, restart: 20 }
for (const s of Scenarios.all) {
  if (only && !only.includes(s.name)) continue
  const c0 = process.cpuUsage()
  const o = await Effect.runPromise(Runner.run({ scenario: s, seed: 11, nodes: Number(process.argv[3] ?? sizes[s.name]), virtualMinutes: 0, crypto: "fake" }))
  const cpu = process.cpuUsage(c0)
  console.log(`${s.name}: ${o.passed ? "PASS" : "FAIL"} wall ${(o.wallMs / 1000).toFixed(1)} s cpu ${(cpu.user / 1e6).toFixed(1)} s virtual ${(o.summary.virtualMs / 60000).toFixed(1)} min datagrams ${o.summary.network.datagramsDelivered}`)
  for (const [n, v] of o.report?.figures ?? []) console.log(`   ${n}: ${v}`)
  for (const c of o.report?.checks ?? []) console.log(`   [${c.passed ? "ok" : "FAIL"}] ${c.name}: ${c.detail}`)
  if (!o.passed) console.log(o.failure)
}
