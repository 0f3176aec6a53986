import { monitorEventLoopDelay } from "node:perf_hooks"
import * as KernelUdp from "./KernelUdp.ts"

/** Started on the first render, so only a daemon that serves /metrics pays for its 10 ms timer. */
let loopDelay: ReturnType<typeof monitorEventLoopDelay> | undefined

/**
 * Process gauges for /metrics, in the names Prometheus' own client libraries use, read when scraped:
 * memory is what operators (and the hardening scripts) watch for leaks, CPU what a flood costs.
 * With `udpPort`, the kernel's counters for that UDP socket too (drops before node reads anything).
 */
export const render = (udpPort?: number): string => {
  const memory = process.memoryUsage()
  const cpu = process.cpuUsage()
  const sample = (type: string, name: string, help: string, value: number) =>
    `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`
  const gauge = (name: string, help: string, value: number) => sample("gauge", name, help, value)
  const kernel = udpPort === undefined ? undefined : KernelUdp.read(udpPort)
  if (loopDelay === undefined) {
    loopDelay = monitorEventLoopDelay({ resolution: 10 })
    loopDelay.enable()
  }
  // Since the previous scrape: a stall of the event loop (or of the whole process) shows here.
  const loopDelayMaxSeconds = loopDelay.count === 0 ? 0 : loopDelay.max / 1e9
  loopDelay.reset()
  return (
    sample(
      "counter",
      "process_cpu_seconds_total",
      "User and system CPU time in seconds.",
      (cpu.user + cpu.system) / 1e6
    ) +
    gauge("process_resident_memory_bytes", "Resident memory size in bytes.", memory.rss) +
    gauge("nodejs_heap_used_bytes", "V8 heap in use in bytes.", memory.heapUsed) +
    gauge("nodejs_heap_total_bytes", "V8 heap allocated in bytes.", memory.heapTotal) +
    gauge("nodejs_external_memory_bytes", "Memory of C++ objects bound to JavaScript objects.", memory.external) +
    gauge("process_uptime_seconds", "Seconds since the process started.", Math.round(process.uptime())) +
    gauge(
      "nodejs_eventloop_delay_max_seconds",
      "Longest event-loop delay since the previous scrape (10 ms resolution).",
      loopDelayMaxSeconds
    ) +
    (kernel === undefined
      ? ""
      : sample(
          "counter",
          "dave_transport_kernel_drops_total",
          "UDP datagrams the kernel dropped on a full receive buffer (Linux /proc/net/udp*).",
          kernel.drops
        ) +
        gauge(
          "dave_transport_kernel_receive_queue_bytes",
          "Bytes waiting unread in the UDP socket's receive buffer.",
          kernel.receiveQueueBytes
        ))
  )
}

type Gc = () => void

/**
 * Runs a full garbage collection when the process was started with --expose-gc, and returns the heap
 * in use afterwards; undefined otherwise. For leak checks: heap after GC is the figure that matters.
 */
export const collect = (): number | undefined => {
  const gc = (globalThis as { gc?: Gc }).gc
  if (gc === undefined) return undefined
  gc()
  return process.memoryUsage().heapUsed
}
