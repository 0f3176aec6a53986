import { Effect } from "effect"

/**
 * The heap of a live daemon started with `--inspect` on a loopback port (`inspectEnv`): a forced
 * full GC through the V8 inspector, then `process.memoryUsage()` read in the daemon itself. This
 * needs nothing from the daemon's own code; the inspector listens on 127.0.0.1 only.
 */

export interface HeapReading {
  /** V8 heap in use after two full collections. */
  readonly heapUsedBytes: number
  readonly heapTotalBytes: number
  /** Memory of C++ objects bound to JS (Buffers included). */
  readonly externalBytes: number
  readonly rssBytes: number
}

/** Environment that makes a Node child listen for the inspector on 127.0.0.1:`port`. */
export const inspectEnv = (port: number): Record<string, string> => ({
  NODE_OPTIONS: `--inspect=127.0.0.1:${port}`
})

interface Pending {
  readonly resolve: (result: unknown) => void
  readonly reject: (error: Error) => void
}

/** One inspector session: `call` sends a method and resolves with its result. */
const session = async (port: number, timeoutMs: number) => {
  const response = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(timeoutMs) })
  const targets = (await response.json()) as Array<{ webSocketDebuggerUrl?: string }>
  const url = targets[0]?.webSocketDebuggerUrl
  if (url === undefined) throw new Error(`no inspector target on port ${port}`)
  const ws = new WebSocket(url)
  const pending = new Map<number, Pending>()
  let nextId = 0
  ws.onmessage = (event) => {
    const m = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } }
    const p = m.id === undefined ? undefined : pending.get(m.id)
    if (p === undefined) return
    pending.delete(m.id!)
    if (m.error !== undefined) p.reject(new Error(m.error.message))
    else p.resolve(m.result)
  }
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve()
    ws.onerror = () => reject(new Error(`cannot open the inspector session on port ${port}`))
  })
  const call = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = ++nextId
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error(`inspector ${method}: no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer)
          resolve(r)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        }
      })
      ws.send(JSON.stringify({ id, method, params }))
    })
  return { call, close: () => ws.close() }
}

/** Forces two full GCs in the process listening on `port` and reads its memory. */
export const heapAfterGc = (port: number, timeoutMs = 20_000): Effect.Effect<HeapReading, Error> =>
  Effect.tryPromise({
    try: async () => {
      const s = await session(port, timeoutMs)
      try {
        // Two rounds: the first may leave objects whose finalizers free more on the second.
        await s.call("HeapProfiler.collectGarbage")
        await s.call("HeapProfiler.collectGarbage")
        const result = (await s.call("Runtime.evaluate", {
          expression: "JSON.stringify(process.memoryUsage())",
          returnByValue: true
        })) as { result: { value: string } }
        const usage = JSON.parse(result.result.value) as NodeJS.MemoryUsage
        return {
          heapUsedBytes: usage.heapUsed,
          heapTotalBytes: usage.heapTotal,
          externalBytes: usage.external,
          rssBytes: usage.rss
        }
      } finally {
        s.close()
      }
    },
    catch: (e) => new Error(`heap reading through the inspector on port ${port} failed: ${String(e)}`)
  })
