/** Latency samples, quantiles and number formatting. */

/** Nearest-rank quantile of unsorted samples (NaN when there are none). */
export const quantile = (samples: ReadonlyArray<number>, q: number): number => {
  if (samples.length === 0) return Number.NaN
  const sorted = Float64Array.from(samples).sort()
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

export const mean = (samples: ReadonlyArray<number>): number =>
  samples.length === 0 ? Number.NaN : samples.reduce((a, b) => a + b, 0) / samples.length

/** A number with thousands separators and `digits` decimals; "n/a" when not finite. */
export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "n/a"

/** Three significant digits or so: 0.123, 1.23, 12.3, 123, 1,234. */
export const fmtSig = (n: number): string => {
  if (!Number.isFinite(n)) return "n/a"
  const a = Math.abs(n)
  return fmt(n, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3)
}

export const mib = (bytes: number): number => bytes / (1024 * 1024)

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves with `promise`'s value, or with `onTimeout()` if it takes longer than `ms`. */
export const withTimeout = <A>(promise: Promise<A>, ms: number, onTimeout: () => A): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<A>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
