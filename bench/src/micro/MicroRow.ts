/** One micro-benchmark figure beside the physical limit it is bounded by, both measured in the same run. */
export interface MicroRow {
  readonly group: string
  readonly figure: string
  readonly measured: number
  readonly unit: string
  /** The limit it is compared with (a raw primitive measured in this run), if any. */
  readonly limitFigure?: string
  readonly limit?: number
  /** measured / limit (for latencies: limit / measured, so higher is better either way). */
  readonly ratio?: number
  readonly goal?: string
}

/** Runs `op(i)` in growing chunks until `ms` pass or `maxOps` ran; returns operations per second. */
export const ratePerSecond = (op: (i: number) => unknown, ms: number, maxOps = 50_000_000): number => {
  for (let i = 0; i < 50; i++) op(i)
  const start = performance.now()
  let ops = 0
  let chunk = 8
  while (ops < maxOps) {
    for (let i = 0; i < chunk; i++) op(ops + i)
    ops += chunk
    const elapsed = performance.now() - start
    if (elapsed >= ms) return (ops * 1000) / elapsed
    if (elapsed < ms / 20) chunk *= 2
  }
  return (ops * 1000) / (performance.now() - start)
}

export const row = (
  group: string,
  figure: string,
  measured: number,
  unit: string,
  limit?: { readonly figure: string; readonly value: number; readonly goal?: string; readonly lowerIsBetter?: boolean }
): MicroRow => ({
  group,
  figure,
  measured,
  unit,
  ...(limit === undefined
    ? {}
    : {
        limitFigure: limit.figure,
        limit: limit.value,
        ratio: limit.lowerIsBetter === true ? limit.value / measured : measured / limit.value,
        ...(limit.goal === undefined ? {} : { goal: limit.goal })
      })
})
