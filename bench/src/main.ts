/**
 * `pnpm bench` (in bench/): ours against bittorrent-dht and hyperdht on loopback, the same workload
 * on networks of 20 and 100 nodes, plus the micro-benchmarks of the packages beside their physical
 * limits. Each system runs in its own child process (one process tree, one run), torn down before the
 * next starts. Prints a table and writes bench/results/latest.{json,md}, and the table into
 * bench/README.md. Env: BENCH_QUICK=1 (20 nodes, 50 operations, ~2 min), BENCH_SIZES, BENCH_PROCESS_SIZES,
 * BENCH_SYSTEMS, BENCH_OPS, BENCH_WARMUP, BENCH_MICRO=0, BENCH_PROFILE=1 (profile our in-process run at the largest size).
 * `--render` rewrites latest.md and the README from latest.json without measuring.
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { type BenchConfig, fromEnv, type SystemName } from "./Config.ts"
import { describe } from "./Machine.ts"
import * as Micro from "./micro/Micro.ts"
import * as Profile from "./Profile.ts"
import * as Report from "./Report.ts"
import { runSystem, type SystemReport } from "./RunSystem.ts"
import { fmt, mib } from "./Stats.ts"

const SELF = fileURLToPath(import.meta.url)
const BENCH_DIR = Path.resolve(import.meta.dirname, "..")
const RESULTS_DIR = Path.join(BENCH_DIR, "results")
const README = Path.join(BENCH_DIR, "README.md")
const RESULT_PREFIX = "RESULT "
const MICRO_LIMIT_MS = 300_000

type Task =
  | { readonly kind: "system"; readonly system: SystemName; readonly nodes: number; readonly config: BenchConfig }
  | { readonly kind: "micro"; readonly config: BenchConfig }

const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}

// ---------------------------------------------------------------- child side

const runTask = async (task: Task): Promise<unknown> =>
  task.kind === "micro" ? Micro.run(task.config, log) : runSystem(task.system, task.nodes, task.config, log)

// ---------------------------------------------------------------- parent side

const live = new Set<number>()
/** Kills a child's whole process group: the daemons it started die with it. */
const killGroup = (pid: number): void => {
  try {
    process.kill(-pid, "SIGKILL")
  } catch {
    // already gone
  }
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const pid of live) killGroup(pid)
    process.exit(130)
  })
}

/** Runs `task` in a child process (its own process group), killed after `limitMs`. */
const runChild = (task: Task, limitMs: number, execArgv: ReadonlyArray<string> = []): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...execArgv, "--conditions=source", "--expose-gc", SELF, "--task", JSON.stringify(task)],
      { stdio: ["ignore", "pipe", "inherit"], detached: true }
    )
    const pid = child.pid!
    live.add(pid)
    let output = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk
    })
    const timer = setTimeout(() => {
      log(`  killed after ${limitMs} ms`)
      killGroup(pid)
    }, limitMs)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      live.delete(pid)
      // Whatever the child left behind in its group goes too.
      killGroup(pid)
      const line = output.split("\n").find((l) => l.startsWith(RESULT_PREFIX))
      if (line !== undefined) return resolve(JSON.parse(line.slice(RESULT_PREFIX.length)))
      reject(new Error(`exited with ${signal ?? code} and no result`))
    })
  })

const processNote = (reports: ReadonlyArray<SystemReport>, config: BenchConfig): Array<string> => {
  const measured = reports.filter((r) => r.system === "ours-processes")
  const largest = Math.max(...config.sizes)
  if (measured.length === 0 || config.processSizes.includes(largest)) return []
  const r = measured[measured.length - 1]!
  // Each node pings min(peers, 32) others a second (the peer table's budget), each exchange a sign and a verify.
  const pingScale = Math.min(largest - 1, 32) / Math.min(r.nodes - 1, 32)
  const idleCpu = r.idleCpuPercent * (largest / r.nodes) * pingScale
  return [
    `ours as ${largest} processes was not run: at ${r.nodes} processes each daemon took ` +
      `${fmt(mib(r.rssPerNodeBytes), 0)} MiB RSS and the idle network ${fmt(r.idleCpuPercent)} % of a core, so ` +
      `${largest} would take ~${fmt((mib(r.rssPerNodeBytes) * largest) / 1024, 1)} GiB and ~${fmt(idleCpu)} % of a core ` +
      `idle (pings scale with the peers each node has), on ${Os.availableParallelism()} shared cores; ` +
      "set BENCH_PROCESS_SIZES to try"
  ]
}

const STATIC_NOTES = [
  "Every system runs in its own child process on 127.0.0.1 (ours as processes: N daemons plus the driver); " +
    "nodes of one network share that process's event loop.",
  "Workload: a warm-up of sequential puts and gets not counted (100; 10 in the quick run; BENCH_WARMUP), so " +
    "every system runs JIT-compiled code, then N puts one at a time and N gets of them, then N puts and gets with 64 in flight, " +
    "one Ed25519 author per value (hyperdht holds one mutable value per key pair), ~110-byte values; " +
    "writes through one node, reads through another.",
  "bittorrent-dht: BEP 44 mutable put (ok when ≥ 1 node stored it) and get with cache: false (always asks the " +
    "network), verify = the faster of node:crypto and sodium-native measured in that process.",
  "hyperdht: its testnet, mutablePut (ok when the query found closest nodes) and mutableGet (latest over the query).",
  "Ours: two light nodes (@dave/client LightNode) joined through different nodes; put = sign + proof of work at " +
    "difficulty 8 (column sign+PoW ms) + PUT to the 5 closest replicas + confirmation as DaveClient.put does " +
    "(@dave/client's Confirm: each replica asked until it serves the version back, again after 5, 10, 20, ... ms " +
    "capped at 150; ok when ≥ 1 confirmed); get = the " +
    "light node's read from the replicas (newest valid answer).",
  "ops/s = successful operations per second of phase time; p50/p99 over all finished operations (a failure " +
    "counts with its time); RSS/node = the process's RSS growth over the network's life ÷ N (in-process) or " +
    "the daemons' RSS ÷ N; idle CPU = the whole network over 3 s before the workload, % of one core.",
  "Ratios: ours ÷ the peer with the most ops/s in the same phase and size (p99 ÷ that peer's p99: ≤ 1 is no worse)."
]

const writeResults = (results: Report.Results): void => {
  Fs.mkdirSync(RESULTS_DIR, { recursive: true })
  Fs.writeFileSync(Path.join(RESULTS_DIR, "latest.json"), `${JSON.stringify(results, null, 2)}\n`)
  const markdown = Report.toMarkdown(results)
  Fs.writeFileSync(Path.join(RESULTS_DIR, "latest.md"), markdown)
  if (!Fs.existsSync(README)) return
  const readme = Fs.readFileSync(README, "utf8")
  const begin = "<!-- latest results: begin -->"
  const end = "<!-- latest results: end -->"
  const from = readme.indexOf(begin)
  const to = readme.indexOf(end)
  if (from < 0 || to < from) return
  Fs.writeFileSync(README, `${readme.slice(0, from + begin.length)}\n${markdown}${readme.slice(to)}`)
}

const main = async (): Promise<void> => {
  const config = fromEnv(process.env)
  const machine = describe()
  log(
    `bench: ${config.quick ? "quick" : "full"} run, sizes ${config.sizes.join(", ")}, systems ${config.systems.join(", ")}`
  )
  let micro: Micro.MicroReport | undefined
  const failures: Array<Report.Failure> = []
  if (config.micro) {
    try {
      micro = (await runChild({ kind: "micro", config }, MICRO_LIMIT_MS)) as Micro.MicroReport
    } catch (error) {
      log(`micro-benchmarks failed: ${String(error)}`)
    }
  }
  const reports: Array<SystemReport> = []
  let profile: Array<string> | undefined
  const inProcess: ReadonlyArray<SystemName> = ["bittorrent-dht", "hyperdht", "ours"]
  const plan: Array<{ system: SystemName; nodes: number }> = [
    ...config.sizes.flatMap((nodes) =>
      inProcess.filter((s) => config.systems.includes(s)).map((system) => ({ system, nodes }))
    ),
    ...(config.systems.includes("ours-processes")
      ? config.processSizes.map((nodes) => ({ system: "ours-processes" as const, nodes }))
      : [])
  ]
  const largest = Math.max(...config.sizes)
  for (const { system, nodes } of plan) {
    const profileDir =
      config.profile && system === "ours" && nodes === largest
        ? Fs.mkdtempSync(Path.join(Os.tmpdir(), "dave-bench-prof-"))
        : undefined
    const execArgv = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]
    try {
      reports.push(
        (await runChild({ kind: "system", system, nodes, config }, config.taskLimitMs, execArgv)) as SystemReport
      )
    } catch (error) {
      log(`  ${system} at ${nodes} nodes failed: ${String(error)}`)
      failures.push({ system, nodes, error: String(error) })
    }
    if (profileDir !== undefined) {
      profile = Profile.summarizeDir(profileDir, 25).flatMap((s) => [
        `Profile of ours, ${nodes} nodes in one process (whole child: start, workload, teardown):`,
        ...Profile.format(s)
      ])
      Fs.rmSync(profileDir, { recursive: true, force: true })
    }
  }
  machine.loadAtEnd = Os.loadavg()[0]!
  const network = Report.networkRows(reports)
  const results: Report.Results = {
    machine,
    config,
    network,
    systems: reports,
    failures,
    goals: Report.goals(network),
    micro: micro?.rows ?? [],
    notes: [
      ...STATIC_NOTES,
      ...reports.map((r) => {
        const outcomes = r.notes.find((n) => n.startsWith("outcomes: "))
        return `${r.system} at ${r.nodes} nodes: ${r.formation}${outcomes === undefined ? "" : `; ${outcomes}`}.`
      }),
      ...processNote(reports, config)
    ],
    ...(profile === undefined ? {} : { profile }),
    ...(micro === undefined ? {} : { microOutputs: micro.outputs })
  }
  writeResults(results)
  console.log(Report.toText(results))
  console.log(`\nwritten: ${Path.relative(process.cwd(), RESULTS_DIR)}/latest.json, latest.md`)
}

const argument = (name: string): string | undefined => {
  const at = process.argv.indexOf(name)
  return at < 0 ? undefined : process.argv[at + 1]
}

const taskText = argument("--task")
if (process.argv.includes("--render")) {
  // Rewrites latest.md and the README's table from latest.json (after a change to the report's format).
  const results = JSON.parse(Fs.readFileSync(Path.join(RESULTS_DIR, "latest.json"), "utf8")) as Report.Results
  writeResults(results)
  console.log(Report.toText(results))
} else if (taskText !== undefined) {
  try {
    const result = await runTask(JSON.parse(taskText) as Task)
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`)
    process.exitCode = 0
  } catch (error) {
    log(`task failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    process.exitCode = 1
  } finally {
    // Sockets and timers of a finished or failed run must not keep the process alive.
    setTimeout(() => process.exit(), 100).unref()
  }
} else {
  await main()
}
