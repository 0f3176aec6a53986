import { Confirm } from "@dave/client"
import { describe, expect, it } from "@effect/vitest"

describe("Confirm", () => {
  it("asks a replica again after 5, 10, 20, ... ms, never more than 150 ms apart", () => {
    const delays = Array.from({ length: 10 }, (_, attempt) => Confirm.retryDelayMs(attempt))
    expect(delays).toEqual([5, 10, 20, 40, 80, 150, 150, 150, 150, 150])
    expect(Confirm.retryDelayMs(1_000_000)).toBe(150)
  })
})
