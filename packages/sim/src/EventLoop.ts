import { Data } from "effect"
import type * as Fiber from "effect/Fiber"
import type * as Scheduler from "effect/Scheduler"
import { type Event, EventQueue } from "./EventQueue.ts"

/**
 * The one scheduler of a simulated network: virtual time, the event queue, and the Effect
 * Scheduler every fiber of every node runs on. Nothing here reads real time or waits: `run` pops
 * the earliest event, sets the time to it, fires it (a datagram arrives, a sleep ends), then runs
 * every fiber task that became ready, and repeats. Fiber tasks run in the order they were
 * scheduled, so a run is a pure function of its inputs.
 */

/** Ops a fiber may run before it yields to the others, as effect's default scheduler. */
const MAX_OPS_BEFORE_YIELD = 2048

export class LivelockError extends Data.TaggedError("LivelockError")<{
  readonly timeMs: number
  readonly tasks: number
}> {
  override get message(): string {
    return `fibers ran ${this.tasks} tasks at virtual time ${this.timeMs} without time advancing`
  }
}

/** Why `run` returned. */
export type RunOutcome =
  /** `stop()` turned true. */
  | "Stopped"
  /** The next event is after `untilMs`; the time is now `untilMs`. */
  | "Reached"
  /** No event is pending and no fiber is ready: nothing can ever happen again. */
  | "Idle"
  /** `maxEvents` events fired (the caller may continue with another `run`). */
  | "Paused"

export interface RunOptions {
  readonly untilMs: number
  /** Events to fire in this call at most. */
  readonly maxEvents: number
  readonly stop?: () => boolean
}

export class EventLoop {
  #nowMs: number
  readonly #queue: EventQueue
  #tasks: Array<() => void> = []
  #taskHead = 0
  readonly maxTasksPerInstant: number
  eventsFired = 0
  tasksRun = 0
  /** Events refused because the queue was full. */
  eventsRefused = 0
  readonly scheduler: Scheduler.Scheduler

  constructor(options: { readonly startMs: number; readonly maxEvents: number; readonly maxTasksPerInstant: number }) {
    this.#nowMs = options.startMs
    this.#queue = new EventQueue(options.maxEvents)
    this.maxTasksPerInstant = options.maxTasksPerInstant
    const dispatcher: Scheduler.SchedulerDispatcher = {
      scheduleTask: (task) => {
        this.#tasks.push(task)
      },
      flush: () => this.#drainTasks()
    }
    this.scheduler = {
      executionMode: "sync",
      shouldYield: (fiber: Fiber.Fiber<unknown, unknown>) => fiber.currentOpCount >= MAX_OPS_BEFORE_YIELD,
      makeDispatcher: () => dispatcher
    }
  }

  get nowMs(): number {
    return this.#nowMs
  }

  /** Events pending. */
  get pending(): number {
    return this.#queue.size
  }

  /** Schedules `fire` `delayMs` from now (whole milliseconds, at least 0); undefined if the queue is full. */
  after(delayMs: number, fire: () => void): Event | undefined {
    const delay = Number.isFinite(delayMs) ? Math.max(0, Math.ceil(delayMs)) : 0
    const event = this.#queue.push(this.#nowMs + delay, fire)
    if (event === undefined) this.eventsRefused++
    return event
  }

  cancel(event: Event): void {
    this.#queue.cancel(event)
  }

  /** Queues a plain task to run after the current one, at the current instant. */
  defer(task: () => void): void {
    this.#tasks.push(task)
  }

  run(options: RunOptions): RunOutcome {
    let fired = 0
    for (;;) {
      this.#drainTasks()
      if (options.stop?.() === true) return "Stopped"
      const next = this.#queue.peekTimeMs()
      if (next === undefined) return "Idle"
      if (next > options.untilMs) {
        this.#nowMs = Math.max(this.#nowMs, options.untilMs)
        return "Reached"
      }
      if (fired >= options.maxEvents) return "Paused"
      this.#nowMs = Math.max(this.#nowMs, next)
      // Everything due now fires before the fibers it wakes run, so arrivals batch.
      while (this.#queue.peekTimeMs() === next) {
        this.#queue.pop()!.fire()
        fired++
        this.eventsFired++
      }
    }
  }

  #drainTasks(): void {
    let ran = 0
    while (this.#taskHead < this.#tasks.length) {
      const task = this.#tasks[this.#taskHead]!
      this.#taskHead++
      task()
      if (++ran > this.maxTasksPerInstant) throw new LivelockError({ timeMs: this.#nowMs, tasks: ran })
      // Keep the array from growing without bound while tasks schedule more tasks.
      if (this.#taskHead >= 4096 && this.#taskHead * 2 >= this.#tasks.length) {
        this.#tasks = this.#tasks.slice(this.#taskHead)
        this.#taskHead = 0
      }
    }
    this.tasksRun += ran
    this.#tasks.length = 0
    this.#taskHead = 0
  }
}
