import * as Inspector from "node:inspector"

/**
 * Block coverage of chosen source files in this process, from V8's precise coverage (the
 * inspector's Profiler domain): the feedback of a coverage-guided fuzzer, written here because the
 * usual JS fuzzers need native builds this project does not carry. Start it before the files under
 * test are loaded: V8 adds block counters only to functions compiled after that.
 *
 * `take` returns the blocks run since the previous `take` (V8 resets its counters on each read). V8
 * reports a nested block only where its count differs from its parent's, so a block counts as run
 * when the innermost reported range around it has a count above 0; every block ever reported is
 * remembered for that.
 */

interface Range {
  readonly startOffset: number
  readonly endOffset: number
  readonly count: number
}

interface ScriptCoverage {
  readonly url: string
  readonly functions: ReadonlyArray<{ readonly functionName: string; readonly ranges: ReadonlyArray<Range> }>
}

export interface Block {
  readonly url: string
  readonly functionName: string
  readonly startOffset: number
  readonly endOffset: number
}

export interface Coverage {
  /** Keys of the blocks run since the last call. */
  readonly take: () => Set<string>
  /** Every block seen so far in the chosen files, by key. */
  readonly known: () => ReadonlyMap<string, Block>
  readonly stop: () => void
}

const keyOf = (url: string, r: { readonly startOffset: number; readonly endOffset: number }): string =>
  `${url}#${r.startOffset}-${r.endOffset}`

export const start = (chosen: (url: string) => boolean): Coverage => {
  const session = new Inspector.Session()
  session.connect()
  // An in-process session answers synchronously: the callback runs before `post` returns.
  const post = (method: string, params: object = {}): unknown => {
    let failure: Error | null = null
    let result: unknown
    session.post(method, params, (error, r) => {
      failure = error
      result = r
    })
    if (failure !== null) throw failure
    return result
  }
  post("Profiler.enable")
  post("Profiler.startPreciseCoverage", { callCount: true, detailed: true })
  const known = new Map<string, Block>()
  /** Blocks per function, by `url#functionStart`. */
  const blocksOf = new Map<string, Array<Block & { readonly key: string }>>()

  const take = (): Set<string> => {
    const { result } = post("Profiler.takePreciseCoverage") as { result: ReadonlyArray<ScriptCoverage> }
    const run = new Set<string>()
    for (const script of result) {
      if (!chosen(script.url)) continue
      for (const fn of script.functions) {
        const ranges = fn.ranges
        if (ranges.length === 0) continue
        const fnKey = `${script.url}#${ranges[0]!.startOffset}`
        let blocks = blocksOf.get(fnKey)
        if (blocks === undefined) {
          blocks = []
          blocksOf.set(fnKey, blocks)
        }
        for (const r of ranges) {
          const key = keyOf(script.url, r)
          if (known.has(key)) continue
          const block = {
            url: script.url,
            functionName: fn.functionName || "(anonymous)",
            startOffset: r.startOffset,
            endOffset: r.endOffset
          }
          known.set(key, block)
          blocks.push({ ...block, key })
        }
        for (const b of blocks) if (innermostCount(ranges, b) > 0) run.add(b.key)
      }
    }
    return run
  }

  return {
    take,
    known: () => known,
    stop: () => {
      post("Profiler.stopPreciseCoverage")
      session.disconnect()
    }
  }
}

/** The count of the smallest reported range that encloses `b` (0 when none does). */
const innermostCount = (ranges: ReadonlyArray<Range>, b: Block): number => {
  let best: Range | undefined
  for (const r of ranges) {
    if (r.startOffset > b.startOffset || r.endOffset < b.endOffset) continue
    if (best === undefined || r.endOffset - r.startOffset <= best.endOffset - best.startOffset) best = r
  }
  return best?.count ?? 0
}
