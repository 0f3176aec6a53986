import type { DaveClient } from "@dave/client"
import type { Effect } from "effect"
import * as Output from "./Output.ts"

/**
 * The proof-of-work progress line on stderr: redrawn in place on a terminal (at most every 100 ms),
 * one line every 2 s otherwise, and a summary when the work is done.
 */

const TTY_EVERY_MS = 100
const PIPE_EVERY_MS = 2_000

const count = (n: number): string => n.toLocaleString("en-US")

const describe = (difficulty: number, p: DaveClient.WorkProgress): string => {
  const percent = Math.min(99, Math.floor((100 * p.hashes) / p.expectedHashes))
  const rate = p.elapsedMs > 0 ? ` ${count(Math.round((p.hashes * 1000) / p.elapsedMs))}/s` : ""
  return `solving work (${difficulty} bits): ${count(p.hashes)} hashes, ~${percent}% of the expected,${rate}`
}

export interface ProgressLine {
  readonly onProgress: (progress: DaveClient.WorkProgress) => void
  /** The summary after the work is done. */
  readonly done: (hashes: number, elapsedMs: number) => Effect.Effect<void>
}

export const make = (difficulty: number): ProgressLine => {
  const tty = Output.stderrIsTerminal()
  let lastMs = 0
  let drawn = false
  return {
    onProgress: (p) => {
      const nowMs = Date.now()
      if (nowMs - lastMs < (tty ? TTY_EVERY_MS : PIPE_EVERY_MS)) return
      lastMs = nowMs
      drawn = true
      // Progress is a callback from the solver, outside any fiber: write directly.
      process.stderr.write(tty ? `\r\x1b[K${describe(difficulty, p)}` : `${describe(difficulty, p)}\n`)
    },
    done: (hashes, elapsedMs) =>
      Output.stderrLine(
        `${tty && drawn ? "\r\x1b[K" : ""}work solved: ${difficulty} bits, ${count(hashes)} hashes in ${elapsedMs} ms`
      )
  }
}
