/**
 * Process gauges for /metrics, in the names Prometheus' own client libraries use, read when scraped:
 * memory is what operators (and the hardening scripts) watch for leaks.
 */
export const render = (): string => {
  const memory = process.memoryUsage()
  const gauge = (name: string, help: string, value: number) =>
    `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${value}\n`
  return (
    gauge("process_resident_memory_bytes", "Resident memory size in bytes.", memory.rss) +
    gauge("nodejs_heap_used_bytes", "V8 heap in use in bytes.", memory.heapUsed) +
    gauge("nodejs_heap_total_bytes", "V8 heap allocated in bytes.", memory.heapTotal) +
    gauge("nodejs_external_memory_bytes", "Memory of C++ objects bound to JavaScript objects.", memory.external) +
    gauge("process_uptime_seconds", "Seconds since the process started.", Math.round(process.uptime()))
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
