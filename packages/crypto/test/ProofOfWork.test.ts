import { Hasher, ProofOfWork, Work } from "@dave/crypto"
import * as V from "@dave/protocol/vectors"
import { assert, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer } from "effect"
import * as fc from "fast-check"

const hasher = Hasher.makeNoble()

describe("ProofOfWork helpers", () => {
  it("leadingZeroBits counts from byte 0, most significant bit first", () => {
    expect(ProofOfWork.leadingZeroBits(Uint8Array.from([0x80, 0]))).toBe(0)
    expect(ProofOfWork.leadingZeroBits(Uint8Array.from([0x01, 0xff]))).toBe(7)
    expect(ProofOfWork.leadingZeroBits(Uint8Array.from([0x00, 0x40]))).toBe(9)
    expect(ProofOfWork.leadingZeroBits(Uint8Array.from([0x00, 0x00, 0x0f]))).toBe(20)
    expect(ProofOfWork.leadingZeroBits(new Uint8Array(32))).toBe(256)
    expect(ProofOfWork.leadingZeroBits(V.datWork)).toBe(V.datWorkBits)
  })

  it("meetsDifficulty agrees with leadingZeroBits", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 256 }),
        fc.nat(40),
        (work, difficulty, zeros) => {
          work.fill(0, 0, Math.min(32, zeros >>> 3))
          expect(ProofOfWork.meetsDifficulty(work, difficulty)).toBe(ProofOfWork.leadingZeroBits(work) >= difficulty)
        }
      ),
      { numRuns: 2000 }
    )
  })

  it("computeWork and verifyWork reproduce the PROTOCOL.md 2.7 vector", () => {
    expect(ProofOfWork.computeWork(hasher, V.datSalt, V.datSig)).toEqual(V.datWork)
    const proof = { salt: V.datSalt, sig: V.datSig, work: V.datWork }
    assert.isTrue(ProofOfWork.verifyWork(hasher, proof, 8))
    assert.isFalse(ProofOfWork.verifyWork(hasher, proof, 9))
    const otherSalt = V.datSalt.slice()
    otherSalt[8] = 0xd1
    assert.isFalse(ProofOfWork.verifyWork(hasher, { ...proof, salt: otherSalt }, 0))
    assert.isFalse(ProofOfWork.verifyWork(hasher, { ...proof, salt: V.datSalt.subarray(1) }, 0))
    assert.isFalse(ProofOfWork.verifyWork(hasher, { ...proof, work: V.datWork.subarray(0, 31) }, 0))
  })
})

const singleThread = Work.layerSingleThread.pipe(Layer.provide(Hasher.layerWasm))

describe("Work, single thread", () => {
  it.effect("finds the reference's first salt for difficulty 8 (PROTOCOL.md 2.7)", () =>
    Effect.gen(function* () {
      const work = yield* Work.Work
      const solution = yield* work.solve(V.datSig, 8)
      expect(solution.salt).toEqual(V.datSalt)
      expect(solution.work).toEqual(V.datWork)
    }).pipe(Effect.provide(singleThread))
  )

  it.effect("solves small difficulties with valid work, and reports progress", () =>
    Effect.gen(function* () {
      const work = yield* Work.Work
      for (const difficulty of [0, 1, 5, 12]) {
        const progress: Array<number> = []
        const sig = hasher.blake3(Uint8Array.of(difficulty))
        const solution = yield* work.solve(sig, difficulty, { onProgress: (n) => progress.push(n) })
        assert.isTrue(ProofOfWork.verifyWork(hasher, { salt: solution.salt, sig, work: solution.work }, difficulty))
        assert.isTrue(progress.length > 0)
        for (let i = 1; i < progress.length; i++) assert.isTrue(progress[i]! > progress[i - 1]!)
      }
    }).pipe(Effect.provide(singleThread))
  )

  it.effect("a bad difficulty is a defect, not a hang", () =>
    Effect.gen(function* () {
      const work = yield* Work.Work
      for (const difficulty of [-1, 1.5, 257]) {
        const exit = yield* Effect.exit(work.solve(V.datSig, difficulty))
        assert.isTrue(exit._tag === "Failure")
      }
    }).pipe(Effect.provide(singleThread))
  )

  it.live("is interruptible", () =>
    Effect.gen(function* () {
      const work = yield* Work.Work
      const fiber = yield* Effect.forkChild(work.solve(V.datSig, 64))
      yield* Effect.sleep(Duration.millis(50))
      yield* Fiber.interrupt(fiber).pipe(Effect.timeout(Duration.seconds(2)))
    }).pipe(Effect.provide(singleThread))
  )
})

const workers = (options: Work.WorkersOptions) => Work.layerWorkers(options).pipe(Layer.provide(Hasher.layerWasm))

/** CPU time of this process (all threads) over `ms` of wall time, as a fraction of one core. */
const cpuShareOver = (ms: number) =>
  Effect.gen(function* () {
    const before = process.cpuUsage()
    const start = performance.now()
    yield* Effect.sleep(Duration.millis(ms))
    const used = process.cpuUsage(before)
    return (used.user + used.system) / 1000 / (performance.now() - start)
  })

describe("Work, worker threads", () => {
  it.live(
    "finds valid work at difficulty 15 on 2 workers and reports progress",
    () =>
      Effect.gen(function* () {
        const work = yield* Work.Work
        const progress: Array<number> = []
        const sig = hasher.blake3(new TextEncoder().encode("workers"))
        const solution = yield* work.solve(sig, 15, { onProgress: (n) => progress.push(n) })
        assert.isTrue(ProofOfWork.verifyWork(hasher, { salt: solution.salt, sig, work: solution.work }, 15))
        assert.isTrue(progress.length > 0)
        expect(Work.activeWorkerCount()).toBe(0)
      }).pipe(Effect.provide(workers({ workers: 2, thresholdBits: 14 }))),
    20_000
  )

  it.live(
    "interruption terminates every worker",
    () =>
      Effect.gen(function* () {
        const work = yield* Work.Work
        let reported = 0
        const fiber = yield* Effect.forkChild(work.solve(V.datSig, 60, { onProgress: (n) => (reported = n) }))
        // Wait (bounded) until the workers are searching.
        for (let i = 0; i < 100 && reported === 0; i++) yield* Effect.sleep(Duration.millis(50))
        assert.isTrue(reported > 0, "workers reported progress")
        expect(Work.activeWorkerCount()).toBe(2)
        yield* Fiber.interrupt(fiber).pipe(Effect.timeout(Duration.seconds(5)))
        expect(Work.activeWorkerCount()).toBe(0)
        // Nothing keeps spinning: the process is nearly idle afterwards.
        const share = yield* cpuShareOver(300)
        assert.isBelow(share, 0.5, `CPU share after interruption: ${share}`)
      }).pipe(Effect.provide(workers({ workers: 2, thresholdBits: 16 }))),
    20_000
  )

  it.effect("below the threshold it solves in-process, in the reference's order", () =>
    Effect.gen(function* () {
      const work = yield* Work.Work
      const solution = yield* work.solve(V.datSig, 8)
      expect(solution.salt).toEqual(V.datSalt)
      expect(Work.activeWorkerCount()).toBe(0)
    }).pipe(Effect.provide(workers({ workers: 2, thresholdBits: 16 })))
  )
})
