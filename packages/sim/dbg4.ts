import { EventLoop, VirtualClock } from "@dave/sim"
import { Clock, Context, Effect, Schedule } from "effect"
const loop = new EventLoop.EventLoop({ startMs: 0, maxEvents: 1e6, maxTasksPerInstant: 1e7 })
const clock = new VirtualClock.VirtualClock(loop)
const ctx = Context.empty().pipe(Context.add(Clock.Clock, clock))
const fork = Effect.runForkWith(ctx)
const mode = process.argv[2]
for (let i = 0; i < 1000; i++) {
  const eff = mode === "sleep" ? Effect.forever(Effect.sleep(1000)) : Effect.repeat(Effect.void, Schedule.spaced(1000))
  fork(eff, { scheduler: loop.scheduler })
}
const c0 = process.cpuUsage(); const t = performance.now()
loop.run({ untilMs: 100_000, maxEvents: 1e8 })
const cpu = process.cpuUsage(c0)
console.log(mode, "events", loop.eventsFired, "tasks", loop.tasksRun, "us per event (cpu)", (cpu.user / loop.eventsFired).toFixed(2), "wall us", ((performance.now() - t) * 1000 / loop.eventsFired).toFixed(2))
