/**
 * Crypto benchmark: Ed25519 verify and sign per layer, BLAKE3, the dat check, and proof-of-work
 * hashing in-process and on 1 and 2 worker threads. Every measurement is bounded in time (the whole
 * run takes ~30 s). Run: pnpm --filter @dave/crypto bench
 */

import { DatSigning, Hasher, Signer, Verifier, Work } from "@dave/crypto"
import { Dat, type Message } from "@dave/protocol"
import { Duration, Effect, Fiber } from "effect"

const MEASURE_MS = 1000
const POW_MS = 3000
const AUTHORS = 64

const rate = (ops: number, ms: number): number => (ops * 1000) / ms
const fmt = (perSecond: number): string =>
  perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)} M/s` : `${(perSecond / 1e3).toFixed(2)} k/s`
const line = (label: string, value: string, note = ""): void =>
  console.log(`${label.padEnd(52)} ${value.padStart(12)}  ${note}`)

/** Runs `op(i)` in chunks until `ms` have passed (at most `maxOps` times); returns operations per second. */
const measure = (op: (i: number) => unknown, ms = MEASURE_MS, maxOps = 50_000_000): number => {
  for (let i = 0; i < 50; i++) op(i) // warm-up
  const start = performance.now()
  let ops = 0
  let chunk = 16
  while (ops < maxOps) {
    for (let i = 0; i < chunk; i++) op(ops + i)
    ops += chunk
    const elapsed = performance.now() - start
    if (elapsed >= ms) return rate(ops, elapsed)
    if (elapsed < ms / 20) chunk *= 2
  }
  return rate(ops, performance.now() - start)
}

const randomBytes = (length: number, seed: number): Uint8Array => {
  const out = new Uint8Array(length)
  let x = seed * 2654435761 + 1
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

const program = Effect.gen(function* () {
  const wasm = yield* Hasher.makeWasm
  const noble = Hasher.makeNoble()
  console.log(`@dave/crypto benchmark, node ${process.version}, ${Date().slice(0, 24)}`)

  // ~1,200-byte dats by 64 authors: verification runs over BLAKE3(key ‖ value ‖ time), 32 bytes.
  const seeds = Array.from({ length: AUTHORS }, (_, i) => randomBytes(32, i + 1))
  const values = Array.from({ length: AUTHORS }, (_, i) => randomBytes(1200 - 16, 1000 + i))
  const key = new TextEncoder().encode("bench-key-000000")
  const messages = values.map((value, i) => wasm.blake3(Dat.signedBytes(key, value, 1_700_000_000_000n + BigInt(i))))

  const backends = [
    { name: "native (node:crypto)", signer: Signer.makeNative, verifier: Effect.succeed(Verifier.makeNative()) },
    { name: "sodium (sodium-native)", signer: Signer.makeSodium, verifier: Verifier.makeSodium },
    { name: "noble (@noble/curves)", signer: Signer.makeNoble, verifier: Effect.succeed(Verifier.makeNoble()) },
    { name: "fake (NOT secure)", signer: Signer.makeFake, verifier: Effect.succeed(Verifier.makeFake()) }
  ] as const

  console.log("\n-- Ed25519 over 32-byte messages (BLAKE3 of a 1,200-byte dat), 64 authors")
  let nativeVerify = 0
  for (const backend of backends) {
    const signers = yield* Effect.forEach(seeds, (seed) => backend.signer(seed))
    const verifier = yield* backend.verifier
    const sigs = signers.map((s, i) => s.sign(messages[i]!))
    const slow = backend.name.startsWith("noble")
    const verifyRate = measure(
      (i) => {
        const k = i % AUTHORS
        if (!verifier.verify(signers[k]!.publicKey, messages[k]!, sigs[k]!)) throw new Error("verify failed")
      },
      slow ? 1500 : MEASURE_MS
    )
    if (backend.name.startsWith("native")) nativeVerify = verifyRate
    const ratio = nativeVerify > 0 ? `${(verifyRate / nativeVerify).toFixed(2)}x native` : ""
    line(`verify/s ${backend.name}`, fmt(verifyRate), ratio)
    const signRate = measure((i) => signers[i % AUTHORS]!.sign(messages[i % AUTHORS]!), slow ? 1500 : MEASURE_MS)
    line(`sign/s   ${backend.name}`, fmt(signRate))
  }
  {
    // Every verification imports its key (cache of 1, 64 authors): what the cache saves.
    const signers = yield* Effect.forEach(seeds, (seed) => Signer.makeNative(seed))
    const sigs = signers.map((s, i) => s.sign(messages[i]!))
    const uncached = Verifier.makeNative({ cacheSize: 1 })
    const r = measure((i) =>
      uncached.verify(signers[i % AUTHORS]!.publicKey, messages[i % AUTHORS]!, sigs[i % AUTHORS]!)
    )
    line("verify/s native, key cache missed every time", fmt(r), `${(r / nativeVerify).toFixed(2)}x cached`)
  }

  console.log("\n-- BLAKE3")
  const powInput = randomBytes(48, 7)
  const dat1200 = randomBytes(1200, 8)
  const rawWasm = measure(() => wasm.blake3(powInput))
  line("BLAKE3 48 B (PoW input) hash-wasm, reused hasher", fmt(rawWasm))
  line("BLAKE3 48 B (PoW input) @noble/hashes", fmt(measure(() => noble.blake3(powInput))), "")
  line("BLAKE3 1,200 B hash-wasm", fmt(measure(() => wasm.blake3(dat1200))))
  line("BLAKE3 1,200 B @noble/hashes", fmt(measure(() => noble.blake3(dat1200))))

  console.log("\n-- Dat check (time, work, BLAKE3 of key+value+time, Ed25519 verify), 1,200-byte dats")
  {
    const signers = yield* Effect.forEach(seeds, (seed) => Signer.makeNative(seed))
    const single = Work.makeSingleThread(wasm)
    const dats: Array<Message.Dat> = []
    for (const [i, signer] of signers.entries()) {
      const time = 1_700_000_000_000n + BigInt(i)
      const sig = signer.sign(messages[i]!)
      const { salt, work } = yield* single.solve(sig, 8)
      dats.push({ time, salt, work, sig, pubKey: signer.publicKey, key, value: values[i]! })
    }
    for (const [name, verifier] of [
      ["native", Verifier.makeNative()],
      ["sodium", yield* Verifier.makeSodium]
    ] as const) {
      const crypto = { hasher: wasm, verifier }
      const r = measure((i) => {
        if (DatSigning.check(crypto, dats[i % AUTHORS]!, { nowMs: 1_800_000_000_000 }) !== "Valid")
          throw new Error("bad dat")
      })
      line(`DatSigning.check/s (${name} verify, hash-wasm)`, fmt(r))
    }
  }

  console.log("\n-- Proof of work: hashes/s while solving an unreachable difficulty (60 bits)")
  console.log("   (raw hash-wasm re-measured around each run, since the machine is shared; per CPU-second")
  console.log("    figures count this process's CPU time over all threads, so they ignore other load)")
  const sig = randomBytes(64, 9)
  const cpuMs = (): number => {
    const usage = process.cpuUsage()
    return (usage.user + usage.system) / 1000
  }
  /** Raw hash-wasm on the 48-byte PoW input: per wall second and per CPU second. */
  const raw = (): { readonly wall: number; readonly cpu: number } => {
    const cpu0 = cpuMs()
    const t0 = performance.now()
    const wall = measure(() => wasm.blake3(powInput), 500)
    const ops = (wall * (performance.now() - t0)) / 1000
    return { wall, cpu: rate(ops, cpuMs() - cpu0) }
  }
  const powRate = (work: Work.Work["Service"]) =>
    Effect.gen(function* () {
      const before = raw()
      const samples: Array<{ readonly t: number; readonly cpu: number; readonly hashes: number }> = []
      const fiber = yield* Effect.forkChild(
        work.solve(sig, 60, { onProgress: (hashes) => samples.push({ t: performance.now(), cpu: cpuMs(), hashes }) })
      )
      yield* Effect.sleep(Duration.millis(POW_MS))
      yield* Fiber.interrupt(fiber)
      const after = raw()
      // From the first report on, so thread start-up is not counted.
      const first = samples[0]
      const last = samples.at(-1)
      const ok = first !== undefined && last !== undefined && last !== first
      return {
        wall: ok ? rate(last.hashes - first.hashes, last.t - first.t) : 0,
        cpu: ok ? rate(last.hashes - first.hashes, last.cpu - first.cpu) : 0,
        cores: ok ? (last.cpu - first.cpu) / (last.t - first.t) : 0,
        rawWall: (before.wall + after.wall) / 2,
        rawCpu: (before.cpu + after.cpu) / 2
      }
    })
  const pct = (a: number, b: number): string => `${((a / b) * 100).toFixed(0)}%`
  const inProcess = yield* powRate(Work.makeSingleThread(wasm))
  line(
    "PoW in-process (single thread, yields every 4096)",
    fmt(inProcess.wall),
    `${pct(inProcess.wall, inProcess.rawWall)} of raw ${fmt(inProcess.rawWall)}; per CPU-s ${pct(inProcess.cpu, inProcess.rawCpu)}`
  )
  const one = yield* powRate(Work.makeWorkers(wasm, { workers: 1, thresholdBits: 0 }))
  const oneShare = one.wall / one.rawWall
  line(
    "PoW 1 worker",
    fmt(one.wall),
    `${pct(one.wall, one.rawWall)} of raw ${fmt(one.rawWall)}  goal >= 80%  ${oneShare >= 0.8 ? "ok" : "MISSED"}; per CPU-s ${pct(one.cpu, one.rawCpu)}`
  )
  const two = yield* powRate(Work.makeWorkers(wasm, { workers: 2, thresholdBits: 0 }))
  const scale = two.wall / one.wall
  line(
    "PoW 2 workers",
    fmt(two.wall),
    `${scale.toFixed(2)}x one  goal >= 1.6x  ${scale >= 1.6 ? "ok" : "MISSED"}; ${(two.wall / two.rawWall).toFixed(2)}x raw; got ${two.cores.toFixed(2)} cores (1 worker: ${one.cores.toFixed(2)})`
  )

  console.log("\n-- Worker start-up: time to solve by difficulty (median of 3)")
  const timeSolve = (work: Work.Work["Service"], difficulty: number) =>
    Effect.gen(function* () {
      const times: Array<number> = []
      for (let i = 0; i < 3; i++) {
        const start = performance.now()
        yield* work.solve(randomBytes(64, 100 + difficulty * 10 + i), difficulty)
        times.push(performance.now() - start)
      }
      return times.sort((a, b) => a - b)[1]!
    })
  const single = Work.makeSingleThread(wasm)
  const workers = Work.makeWorkers(wasm, { thresholdBits: 0 })
  for (const difficulty of [14, 16, 18]) {
    const a = yield* timeSolve(single, difficulty)
    const b = yield* timeSolve(workers, difficulty)
    line(`solve ${difficulty} bits: in-process / workers`, `${a.toFixed(0)} / ${b.toFixed(0)} ms`)
  }
})

const started = performance.now()
await Effect.runPromise(program)
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`)
