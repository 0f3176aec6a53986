import { Backup } from "@dave/backup"
import { Challenge, DatSigning, Hasher, Signer, Verifier, VerifyPool } from "@dave/crypto"
import { NetPrefix, PeerTable, type PeerTableCore, Rng } from "@dave/peers"

type PeerTableService = PeerTable.PeerTable

import { type AddrPort, Codec, Constants, Dat, type Entry, type Message, NodeId } from "@dave/protocol"
import { type EntryRejected, type PutAccepted, ShardStore, type StoreChange } from "@dave/store"
import {
  Clock,
  Context,
  Data,
  Effect,
  FiberSet,
  Layer,
  Metric,
  Option,
  PubSub,
  Queue,
  Random,
  Result,
  Schedule,
  Scheduler,
  Scope,
  Stream
} from "effect"
import * as Deadlines from "./Deadlines.ts"
import { HeldGets } from "./HeldGets.ts"
import * as Inbox from "./Inbox.ts"
import * as M from "./NodeMetrics.ts"
import { PendingReads, slotKey } from "./PendingReads.ts"
import * as Reads from "./Reads.ts"
import * as Replication from "./Replication.ts"
import { type Inbound, Transport } from "./Transport.ts"
import { VerifiedDats } from "./VerifiedDats.ts"

/**
 * The running node (PROTOCOL 2.6, 5, 6 and 13): it decodes what the Transport receives, dispatches
 * by op to the PeerTable, the ShardStore and waiting reads, answers PINGs and GETs, verifies and
 * stores PUTs, sends writes to the FANOUT closest nodes, reads from them, repairs stale replicas,
 * brings entries to new replicas when the closest set changes, and runs storage challenges. All
 * periodic work runs on fibers owned by the layer's scope, so closing it stops them; the Backup
 * logs every accepted change and is flushed by its own layer on close.
 */

export interface DaveNodeOptions {
  /** Bootstrap peers: pinged every second and never dropped. */
  readonly edges?: ReadonlyArray<AddrPort>
  /** Least proof-of-work bits accepted (default MIN_WORK, 8). */
  readonly minWork?: number
  /** How long a read waits for the replicas (default 2000, as daved). */
  readonly readTimeoutMs?: number
  /** Once one replica gave a valid entry, how long to wait for the others (default 50). */
  readonly readGraceMs?: number
  /**
   * A read of the closest replicas ends once this many gave the same newest version (default: a
   * majority of those asked); the others are still heard, and repaired if stale, within the grace.
   */
  readonly readQuorum?: number
  readonly maxPendingReads?: number
  /** Period of the peer table tick (default 250; the table spreads PINGs over its budget). */
  readonly tickEveryMs?: number
  readonly storageChallengeEveryMs?: number
  /** Period of the re-replication check (default 30 s; runs only when the active set changed). */
  readonly replicateEveryMs?: number
  /** Period of the own-address query to an edge (default 10 min; every 5 s until first learned). */
  readonly addrQueryEveryMs?: number
  /** How often the node's counters reach the Metrics (default 1000; 0: only at shutdown). */
  readonly metricsFlushEveryMs?: number
  /** PUTs waiting for verification before new ones are dropped (default 4096). */
  readonly maxQueuedPuts?: number
  /**
   * Messages that arrive while an earlier one's work (a PUT being stored) is not done wait, in order,
   * up to this many; beyond it they are dropped and counted (default 4096).
   */
  readonly maxWaitingMessages?: number
  /** GETs held until a queued PUT of their slot is verified, in all (default 4096; 0: none held). */
  readonly maxHeldGets?: number
  /** Valid dats remembered so that the same answer is not verified twice (default 1024). */
  readonly verifiedCacheSize?: number
  /** Period of backup compaction (default 10 min; 0 turns it off). */
  readonly compactEveryMs?: number
  /**
   * Whether accepted changes go to the Backup (default true). False when the Backup is the disabled
   * one (NodeStack without a backup file): the node then neither follows the store's changes nor
   * compacts, so the store collects no changes (a copy and a decode per stored entry, and a fiber
   * woken per PUT, for nothing).
   */
  readonly backup?: boolean
  /** Added to this node's metric series, e.g. `{ node: "n3" }` when many nodes share a process. */
  readonly metricAttributes?: Readonly<Record<string, string>>
  /**
   * A light client (the CLI, @dave/client): it reads and writes through the network but holds
   * nobody's data. It never names itself a replica, ignores PUTs sent to it, answers GETs with "not
   * found", and lists no addresses in its PONGs.
   */
  readonly light?: boolean
}

export interface PutReport {
  readonly entry: Entry
  /** The replica node IDs written into the entry. */
  readonly replicas: ReadonlyArray<bigint>
  /** Remote replicas the PUT was sent to. */
  readonly sentTo: ReadonlyArray<AddrPort>
  readonly storedLocally: boolean
}

export interface NodeStatus {
  readonly nodeId: bigint
  readonly publicKey: Uint8Array
  readonly localAddress: AddrPort
  readonly ownAddress: Option.Option<AddrPort>
  readonly peersActive: number
  readonly peersTotal: number
  readonly store: ShardStore.StoreStats
  readonly uptimeMs: number
}

export class PutRefused extends Data.TaggedError("PutRefused")<{
  readonly reason: DatSigning.Rejection | EntryRejected["reason"]
  readonly detail: string
}> {}

/**
 * A read that could not be answered, as opposed to "not found" (Option.none):
 * - TooManyReads: maxPendingReads reads are already waiting;
 * - NoPeers: a light client knows no replica to ask;
 * - Unanswered: no replica answered within the timeout and we hold no copy.
 */
export class ReadFailed extends Data.TaggedError("ReadFailed")<{
  readonly reason: "TooManyReads" | "NoPeers" | "Unanswered"
}> {}

export interface GetOptions {
  readonly timeoutMs?: number
  /** Ask exactly these nodes instead of the closest replicas (and ignore our own copy). */
  readonly targets?: ReadonlyArray<AddrPort>
}

export interface DaveNodeShape {
  readonly nodeId: bigint
  readonly publicKey: Uint8Array
  readonly localAddress: AddrPort
  /** Verifies a signed dat, stores it here if we are a replica, and sends it to the other replicas. */
  readonly put: (dat: Message.Dat) => Effect.Effect<PutReport, PutRefused>
  /** Reads the newest valid entry from the replicas (and our own store), repairing stale replicas. */
  readonly get: (
    pubKey: Uint8Array,
    key: Uint8Array,
    options?: GetOptions
  ) => Effect.Effect<Option.Option<Entry>, ReadFailed>
  /**
   * Asks each of `targets` once for a slot and gives each one's answer, in the order of `targets`:
   * the entry it served if valid; none if it said "not found", served something invalid, or did not
   * answer within `timeoutMs`. Stores and repairs nothing: a writer confirming its PUT uses it.
   */
  readonly ask: (
    pubKey: Uint8Array,
    key: Uint8Array,
    targets: ReadonlyArray<AddrPort>,
    timeoutMs: number
  ) => Effect.Effect<ReadonlyArray<Option.Option<Entry>>, ReadFailed>
  readonly status: Effect.Effect<NodeStatus>
  readonly peers: Effect.Effect<ReadonlyArray<PeerTableCore.PeerView>>
}

export class DaveNode extends Context.Service<DaveNode, DaveNodeShape>()("@dave/network/DaveNode") {}

const ADDR_RETRY_MS = 5_000

/** A PUT that passed the cheap checks, waiting for its work and signature to be verified. */
interface PutJob {
  readonly inbound: Inbound
  readonly entry: Entry
  /** `slotKey` of the entry and its place in the queue, for the GETs held until it is done. */
  readonly slot: string
  readonly seq: number
}

/** A GET held until the PUT of its slot is verified. */
interface HeldGet {
  readonly from: AddrPort
  readonly request: Message.Get
}

/** Most GETs held for one slot (a writer confirms with one per replica; others come rarely). */
const MAX_HELD_PER_SLOT = 16

const encodeOrDie = (m: Message.Message): Uint8Array => {
  const r = Codec.encode(m)
  if (Result.isFailure(r)) throw new Error(`bug: cannot encode our own ${m._tag}: ${r.failure.message}`)
  return r.success
}

/** Logs every change the store accepts to the backup, for the scope's lifetime. */
const followChanges = (
  store: ShardStore.ShardStore["Service"],
  backup: Backup.Backup["Service"]
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const changes = yield* store.changes
    const logChanges = (batch: ReadonlyArray<StoreChange>) =>
      Effect.forEach(
        batch,
        (change) => (change._tag === "Stored" ? Effect.ignore(backup.append(change.entry)) : Effect.void),
        {
          discard: true
        }
      )
    // At shutdown, after the forwarder below has stopped, hand the backup every change still queued:
    // an entry the store accepted must reach the log before the Backup layer flushes and closes.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        // Bounded: the subscription holds at most its buffer, and nothing stores any more.
        for (let round = 0; round < 1_024; round++) {
          const rest = yield* PubSub.takeUpTo(changes, 4_096)
          if (rest.length === 0) return
          yield* logChanges(rest)
        }
      })
    )
    // A batch, once taken, is appended whole even if the scope closes meanwhile.
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.uninterruptibleMask((restore) => Effect.flatMap(restore(PubSub.takeAll(changes)), logChanges))
      )
    )
  })

/** The services a node runs on: NodeStack provides them all. */
export type Requirements =
  | Transport
  | PeerTableService
  | ShardStore.ShardStore
  | Backup.Backup
  | Signer.Signer
  | Verifier.Verifier
  | Hasher.Hasher
  | VerifyPool.VerifyPool

export const make = (options: DaveNodeOptions = {}): Effect.Effect<DaveNodeShape, never, Requirements | Scope.Scope> =>
  Effect.gen(function* () {
    const transport = yield* Transport
    const peers = yield* PeerTable.PeerTable
    const store = yield* ShardStore.ShardStore
    const backup = yield* Backup.Backup
    const signer = yield* Signer.Signer
    const verifier = yield* Verifier.Verifier
    const hasher = yield* Hasher.Hasher
    const pool = yield* VerifyPool.VerifyPool
    const crypto = { signer, verifier, hasher }
    const minWork = options.minWork ?? Constants.MIN_WORK
    const readTimeoutMs = options.readTimeoutMs ?? 2_000
    const readGraceMs = options.readGraceMs ?? 50
    const nodeScope = yield* Scope.Scope
    const rng = Rng.fromRandom(yield* Effect.service(Random.Random), peers.core.options.challengeBytes)
    const light = options.light ?? false
    const pending = new PendingReads(options.maxPendingReads ?? 4_096)
    const deadlines = yield* Deadlines.make()
    const counts = new M.Counts(options.metricAttributes)
    const startedMs = yield* Clock.currentTimeMillis
    const nowMs = Clock.currentTimeMillis

    const send = (to: AddrPort, m: Message.Message): void => {
      counts.inc("packetsOut", m._tag)
      transport.send(to, encodeOrDie(m))
    }

    const checkDat = (dat: Message.Dat, now: number) => DatSigning.check(crypto, dat, { nowMs: now, minWork })
    const verified = new VerifiedDats(options.verifiedCacheSize ?? 1_024)

    // ------------------------------------------------------------------------------------------------
    // Start: restore the backup, then log every accepted change to it.

    const restoreReport = yield* backup
      .restore((entry) => Effect.ignore(store.put(entry)))
      .pipe(
        Effect.tapError((e) => Effect.logError("backup restore failed", e)),
        Effect.option
      )
    if (Option.isSome(restoreReport) && restoreReport.value.path !== "") {
      yield* Effect.logInfo("backup restored").pipe(Effect.annotateLogs({ ...restoreReport.value }))
    }
    const backupOn = options.backup ?? true
    if (backupOn) yield* followChanges(store, backup)
    // Restored entries passed their checksum; their signatures and work are checked in the background,
    // in batches on the VerifyPool, with a turn of the event loop between batches: checked in one go
    // on the loop, 20,000 entries kept a restarted node from answering anything for seconds. A 1 ms
    // sleep (a real timer here, virtual time in the simulator) lets pending I/O run.
    const yieldToLoop = Effect.sleep(1)
    yield* Effect.forkScoped(
      Effect.gen(function* () {
        const now = yield* nowMs
        let evicted = 0
        yield* store.entries.pipe(
          Stream.grouped(VerifyPool.MAX_BATCH),
          Stream.runForEach((batch) =>
            Effect.gen(function* () {
              const verdicts = yield* pool.check(
                batch.map((e) => e.dat),
                { nowMs: now, minWork }
              )
              for (let i = 0; i < batch.length; i++) {
                if (verdicts[i] === "Valid") continue
                evicted++
                yield* store.remove(batch[i]!.dat.pubKey, batch[i]!.dat.key)
              }
              yield* yieldToLoop
            })
          )
        )
        if (evicted > 0) yield* Effect.logWarning("evicted restored entries that fail verification", { evicted })
      })
    )
    for (const edge of options.edges ?? []) yield* peers.addEdge(edge)

    // ------------------------------------------------------------------------------------------------
    // Writes and replication.

    // The FANOUT closest replicas, ourselves included, asked of the table each time: a scan of the
    // active peers takes a few µs. (A cache per author held them for a second, and with many authors
    // writing once each, every young GC promoted its entries: megabytes of copying a second.)
    const closestFor = (target: bigint, now: number): ReadonlyArray<Replication.Candidate> =>
      peers.core.closest(target, Constants.FANOUT, now, { includeSelf: !light })
    const replicasFor = (entry: Entry) => Effect.map(nowMs, (now) => closestFor(Replication.targetOf(entry), now))

    /** Sends an entry to replicas, offering each a storage challenge for it (PROTOCOL 5.6). */
    const sendTo = (targets: ReadonlyArray<AddrPort>, entry: Entry, cause: string): Effect.Effect<void> =>
      targets.length === 0 ? Effect.void : Effect.map(nowMs, (now) => sendToAt(targets, entry, cause, now))

    // One encoding for every copy; the storage challenges on the core directly (through the service
    // each was an Effect and a counter flush).
    const sendToAt = (targets: ReadonlyArray<AddrPort>, entry: Entry, cause: string, now: number): void => {
      if (targets.length === 0) return
      const bytes = encodeOrDie({ _tag: "Put", entry })
      const spec = {
        pubKey: entry.dat.pubKey,
        key: entry.dat.key,
        expiresMs: Number(entry.dat.time) + Constants.TTL_MS
      }
      for (const to of targets) {
        peers.core.offerStorageChallenge(to, spec, now, rng)
        counts.inc("replicated", cause)
      }
      sendAll(targets, bytes, "Put")
    }

    /** The same datagram to each of `targets`. */
    const sendAll = (targets: ReadonlyArray<AddrPort>, bytes: Uint8Array, op: string): void => {
      for (const to of targets) sendBytes(to, bytes, op)
    }

    const sendBytes = (to: AddrPort, bytes: Uint8Array, op: string): void => {
      counts.inc("packetsOut", op)
      transport.send(to, bytes)
    }

    const put = (dat: Message.Dat): Effect.Effect<PutReport, PutRefused> =>
      Effect.gen(function* () {
        const now = yield* nowMs
        const verdict = checkDat(dat, now)
        if (verdict !== "Valid") return yield* new PutRefused({ reason: verdict, detail: "the dat does not verify" })
        // The replicas' answers to a confirmation will carry this very dat.
        verified.add(dat)
        const candidates = closestFor(NodeId.fromPublicKey(dat.pubKey), now)
        const entry: Entry = { replicas: Replication.replicaIds(candidates), dat }
        const local = !light && (candidates.some((c) => c.self) || candidates.length === 0)
        if (local) {
          yield* store
            .put(entry)
            .pipe(
              Effect.catchTag("EntryRejected", (e) =>
                e.reason === "RanksLowest"
                  ? Effect.void
                  : Effect.fail(new PutRefused({ reason: e.reason, detail: e.detail }))
              )
            )
        }
        const sentTo = Replication.remoteAddrs(candidates)
        sendToAt(sentTo, entry, "write", now)
        return { entry, replicas: entry.replicas, sentTo, storedLocally: local }
      })

    /** Re-replication (13.6): entries whose closest set changed go to the replicas that lack them. */
    let lastActiveKey = ""
    const replicate = Effect.gen(function* () {
      const active = yield* peers.active
      const key = active
        .map((p) => p.nodeId ?? 0n)
        .sort()
        .join(",")
      if (key === lastActiveKey) return
      lastActiveKey = key
      const byAuthor = new Map<bigint, ReadonlyArray<Replication.Candidate>>()
      yield* store.entries.pipe(
        Stream.runForEach((entry) =>
          Effect.gen(function* () {
            const author = Replication.targetOf(entry)
            const cached = byAuthor.get(author)
            const candidates = cached ?? (yield* replicasFor(entry))
            if (cached === undefined) byAuthor.set(author, candidates)
            const ids = Replication.replicaIds(candidates)
            if (Replication.sameReplicas(ids, entry.replicas)) return
            const fresh = Replication.remoteAddrs(Replication.newcomers(candidates, entry.replicas))
            yield* Effect.ignore(store.setReplicas(entry.dat.pubKey, entry.dat.key, ids))
            yield* sendTo(fresh, { replicas: ids, dat: entry.dat }, "rereplicate")
          })
        )
      )
    })

    // ------------------------------------------------------------------------------------------------
    // Reads.

    const ask = (
      pubKey: Uint8Array,
      key: Uint8Array,
      targets: ReadonlyArray<AddrPort>,
      timeoutMs: number
    ): Effect.Effect<ReadonlyArray<Option.Option<Entry>>, ReadFailed> =>
      Effect.gen(function* () {
        const indexOf = new Map(targets.map((t, i) => [NetPrefix.addrKey(t), i] as const))
        const got: Array<Option.Option<Entry> | undefined> = targets.map(() => undefined)
        let answered = 0
        const done = new Deadlines.Signal()
        if (indexOf.size === 0) return []
        const unregister = pending.register(pubKey, key, targets, (answer) => {
          const i = indexOf.get(NetPrefix.addrKey(answer.from))
          if (i === undefined || got[i] !== undefined) return
          got[i] = answer.valid ? Option.some(answer.entry) : Option.none()
          if (++answered === indexOf.size) done.fire()
        })
        if (unregister === undefined) return yield* new ReadFailed({ reason: "TooManyReads" })
        sendAll(targets, encodeOrDie({ _tag: "Get", pubKey, key }), "Get")
        yield* deadlines.wait(done, timeoutMs).pipe(Effect.ensuring(Effect.sync(unregister)))
        counts.inc("reads", "asked", "", targets.length)
        return got.map((g) => g ?? Option.none())
      })

    const lateReads: Reads.Late = {
      scope: nodeScope,
      repair: (stale, newest) =>
        Effect.suspend(() => {
          counts.inc("repairs", "", "", stale.length)
          return sendTo(stale, newest, "repair")
        })
    }

    const get = (
      pubKey: Uint8Array,
      key: Uint8Array,
      getOptions?: GetOptions
    ): Effect.Effect<Option.Option<Entry>, ReadFailed> =>
      Effect.gen(function* () {
        const startMs = yield* nowMs
        const explicit = getOptions?.targets
        const local = explicit === undefined ? yield* store.get(pubKey, key) : Option.none()
        const targets =
          explicit ??
          Replication.remoteAddrs(peers.core.getTargets(NodeId.fromPublicKey(pubKey), Constants.FANOUT, startMs))
        const plan: Reads.ReadPlan = {
          pubKey,
          key,
          targets,
          local,
          timeoutMs: getOptions?.timeoutMs ?? readTimeoutMs,
          graceMs: readGraceMs,
          quorum: options.readQuorum ?? Math.floor(targets.length / 2) + 1
        }
        const result = yield* Reads.run(
          pending,
          deadlines,
          plan,
          Effect.sync(() => sendAll(targets, encodeOrDie({ _tag: "Get", pubKey, key }), "Get")),
          // Asked for exactly these nodes, the caller wants each one's answer: no early end.
          explicit === undefined ? lateReads : undefined
        ).pipe(Effect.mapError(() => new ReadFailed({ reason: "TooManyReads" })))
        if (targets.length === 0 && light) return yield* new ReadFailed({ reason: "NoPeers" })
        if (targets.length > 0 && result.answered === 0 && Option.isNone(result.newest)) {
          counts.inc("reads", "unanswered")
          return yield* new ReadFailed({ reason: "Unanswered" })
        }
        if (Option.isSome(result.newest)) {
          const newest = result.newest.value
          if (result.newerThanLocal && explicit === undefined && !light) yield* Effect.ignore(store.put(newest))
          yield* sendTo(result.stale, newest, "repair")
          counts.inc("repairs", "", "", result.stale.length)
        }
        counts.inc("reads", Option.isSome(result.newest) ? "found" : "not_found")
        yield* Metric.update(M.readLatencyMs, (yield* nowMs) - startMs)
        return result.newest
      })

    // ------------------------------------------------------------------------------------------------
    // Inbound dispatch. Each message is handled synchronously against the peer table's core; only work
    // that may wait (a store write) becomes an Effect. Per-datagram Effect overhead was most of the
    // cost of serving a GET (bench/node.ts).

    const core = peers.core
    const verifyAnswer = (challenge: Uint8Array, salt: Uint8Array, pubKey: Uint8Array, sig: Uint8Array) =>
      Challenge.check(crypto, challenge, salt, pubKey, sig)

    const onPing = (from: AddrPort, ping: Message.Ping, now: number): undefined => {
      const reply = core.onPing(from, ping, now, rng)
      if (!reply.replyAllowed) return void counts.inc("dropped", "amplification")
      const salt = new Uint8Array(Constants.SALT_LEN)
      rng.fillBytes(salt)
      const answer = Challenge.answer(crypto, ping.challenge, salt)
      const addrs = light ? [] : reply.addrs
      send(from, { _tag: "Pong", addrs, challenge: ping.challenge, ...answer })
    }

    const onPong = (from: AddrPort, pong: Message.Pong, now: number): undefined => {
      const outcome = core.onPong(from, pong, now, verifyAnswer)
      if (outcome._tag === "Rejected") counts.inc("dropped", `pong_${outcome.reason}`)
      return undefined
    }

    const putQueue = yield* Queue.bounded<PutJob>(options.maxQueuedPuts ?? 4_096)
    const held = new HeldGets<HeldGet>({ maxHeld: options.maxHeldGets ?? 4_096, maxPerSlot: MAX_HELD_PER_SLOT })
    /** Checks a dat, or finds it among the ones already found valid (same bytes, same verdict). */
    const verify = (dat: Message.Dat, now: number): DatSigning.Verdict => {
      if (verified.has(dat)) {
        counts.inc("verifications", "ValidCached")
        return "Valid"
      }
      const verdict = checkDat(dat, now)
      counts.inc("verifications", verdict)
      if (verdict === "Valid") verified.add(dat)
      return verdict
    }

    /**
     * PUTs pass cheap checks here. While the node keeps up (no PUT waiting, and the pool would check
     * it on this thread anyway) one is verified and stored at once, before the next message of the
     * batch: a writer's confirming GET right behind it finds it. Otherwise it waits in a bounded
     * queue for the VerifyPool, which checks work and signatures on another core while this loop
     * goes on; verified ones are stored in order.
     */
    const onPut = (inbound: Inbound, entry: Entry, now: number): Effect.Effect<void> | undefined => {
      if (light) return void counts.inc("dropped", "light_client_put")
      // A byte-identical version was verified when it was stored: no need to check it again.
      const stored = store.getRecordUnsafe(entry.dat.pubKey, entry.dat.key, 0)
      if (
        stored !== undefined &&
        Dat.bytesEqual(stored.subarray(42), inbound.payload.subarray(Constants.ENTRY_HEADER_LEN))
      ) {
        return void counts.inc("putsAccepted", "Duplicate")
      }
      if (Number(entry.dat.time) > now) return void counts.inc("putsRejected", "FutureTime")
      const verdict = held.anyQueued ? undefined : pool.checkHere(entry.dat, { nowMs: now, minWork })
      if (verdict !== undefined) {
        counts.inc("verifications", verdict)
        if (verdict !== "Valid") return void counts.inc("putsRejected", verdict)
        return storeVerified(inbound, entry, now)
      }
      const slot = slotKey(entry.dat.pubKey, entry.dat.key)
      const seq = held.putQueued(slot)
      if (Queue.offerUnsafe(putQueue, { inbound, entry, slot, seq })) return undefined
      // Not queued after all: no GET was held for it meanwhile (this runs without yielding).
      held.putDone(slot, seq)
      return void counts.inc("dropped", "put_queue_full")
    }

    // Plain callbacks rather than Effect.gen: this runs for every stored PUT.
    const storeVerified = (inbound: Inbound, entry: Entry, now: number): Effect.Effect<void> =>
      Effect.map(Effect.result(store.put(entry)), (result) => afterStore(inbound, entry, result, now))

    const afterStore = (
      inbound: Inbound,
      entry: Entry,
      result: Result.Result<PutAccepted, EntryRejected>,
      now: number
    ): void => {
      if (Result.isFailure(result)) return void counts.inc("putsRejected", result.failure.reason)
      counts.inc("putsAccepted", result.success._tag)
      if (result.success._tag === "Duplicate") return
      if (inbound.via === "udp") core.recordContribution(inbound.from, now)
      // Fill the gaps of the writer's view: our closest replicas that its list does not name.
      const candidates = closestFor(Replication.targetOf(entry), now)
      const fresh = Replication.remoteAddrs(Replication.newcomers(candidates, entry.replicas)).filter(
        (a) => inbound.via !== "udp" || a.port !== inbound.from.port || !Dat.bytesEqual(a.ip, inbound.from.ip)
      )
      sendToAt(fresh, entry, "forward", now)
    }

    const verifyAndStore = Effect.gen(function* () {
      const jobs = yield* Queue.takeBetween(putQueue, 1, VerifyPool.MAX_BATCH)
      const now = yield* nowMs
      const verdicts = yield* pool.check(
        jobs.map((j) => j.entry.dat),
        { nowMs: now, minWork }
      )
      for (let i = 0; i < jobs.length; i++) {
        const verdict = verdicts[i]!
        counts.inc("verifications", verdict)
        if (verdict !== "Valid") counts.inc("putsRejected", verdict)
        else yield* contain(storeVerified(jobs[i]!.inbound, jobs[i]!.entry, now))
        for (const get of held.putDone(jobs[i]!.slot, jobs[i]!.seq)) answerGet(get.from, get.request, now, false)
      }
    })

    const onGet = (from: AddrPort, request: Message.Get, now: number): undefined => {
      // A PUT of this slot waits for verification: answer once it is stored (or refused).
      if (!light && held.anyQueued && held.hold(slotKey(request.pubKey, request.key), { from, request })) {
        return void counts.inc("getsHeld")
      }
      answerGet(from, request, now, true)
    }

    const answerGet = (from: AddrPort, request: Message.Get, now: number, asArrived: boolean): undefined => {
      // 13.9: no data toward an address that has not answered our challenges.
      const verified = core.isVerified(from)
      const record = light || !verified ? undefined : store.getRecordUnsafe(request.pubKey, request.key, 3)
      let bytes: Uint8Array
      if (record !== undefined) {
        // The stored record is the GET_ACK body: add the op and entry length, no decode or encode.
        record[0] = Constants.Op.GetAck
        record[1] = (record.length - 3) & 0xff
        record[2] = (record.length - 3) >>> 8
        bytes = record
      } else {
        bytes = encodeOrDie({ _tag: "GetAck", entry: Dat.notFound(request.pubKey, request.key) })
      }
      // A verified peer's replies are free: no second look-up of it.
      if (!verified && !core.trySpendReply(from, bytes.length, now)) return void counts.inc("dropped", "amplification")
      counts.inc("getsServed", record !== undefined ? "found" : verified ? "not_found" : "unverified")
      if (asArrived) counts.observeServe(performance.now() - arrivedMs)
      sendBytes(from, bytes, "GetAck")
    }

    const onGetAck = (from: AddrPort, entry: Entry, now: number): undefined => {
      const slot = pending.size === 0 ? undefined : slotKey(entry.dat.pubKey, entry.dat.key)
      const wanted = slot !== undefined && pending.wants(from, entry.dat.pubKey, entry.dat.key, slot)
      if (!wanted && !core.isVerified(from)) return void counts.inc("dropped", "unsolicited_get_ack")
      const valid = !Dat.isNotFound(entry.dat) && verify(entry.dat, now) === "Valid"
      if (wanted) pending.deliver({ from, entry, valid }, slot)
      core.onChallengeReply(from, entry.dat.pubKey, entry.dat.key, valid, now)
      return undefined
    }

    const onGetMyAddrPort = (from: AddrPort, now: number): undefined => {
      if (!core.trySpendReply(from, Constants.GETMYADDRPORT_ACK_LEN, now)) {
        return void counts.inc("dropped", "amplification")
      }
      send(from, { _tag: "GetMyAddrPortAck", addr: from })
    }

    /** Handles one message; returns the Effect still to run, if any. */
    const dispatch = (inbound: Inbound, now: number): Effect.Effect<void> | undefined => {
      if (inbound.via === "udp") {
        const admission = core.admit(inbound.from, inbound.payload.length, now)
        if (!admission.admitted) return void counts.inc("dropped", admission.reason)
      }
      const decoded = Codec.decode(inbound.payload)
      if (Result.isFailure(decoded)) {
        counts.inc("dropped", `malformed_${decoded.failure.reason}`)
        return Effect.logDebug("malformed message", decoded.failure.message)
      }
      const m = decoded.success
      counts.inc("packetsIn", m._tag, inbound.via)
      if (inbound.via === "tcp") {
        // The side channel carries PUTs only (PROTOCOL 2.1); its source port is not a UDP address.
        if (m._tag === "Put") return onPut(inbound, m.entry, now)
        return void counts.inc("dropped", "tcp_not_put")
      }
      switch (m._tag) {
        case "Ping":
          return onPing(inbound.from, m, now)
        case "Pong":
          return onPong(inbound.from, m, now)
        case "Put":
          return onPut(inbound, m.entry, now)
        case "Get":
          return onGet(inbound.from, m, now)
        case "GetAck":
          return onGetAck(inbound.from, m.entry, now)
        case "GetMyAddrPort":
          return onGetMyAddrPort(inbound.from, now)
        case "GetMyAddrPortAck":
          core.setOwnAddress(inbound.from, m.addr, now)
          return undefined
      }
    }

    // A bug in one handler must not stop the node: log it, count it, and go on.
    const contain = (effect: Effect.Effect<void>): Effect.Effect<void> =>
      Effect.catchCause(effect, (cause) =>
        Effect.sync(() => counts.inc("dropped", "handler_error")).pipe(
          Effect.andThen(Effect.logError("handler failed", cause))
        )
      )

    // Each message is handled in the transport's callback or at the end of its turn (Inbox.ts), with
    // the time read once; work it leaves (a PUT to store) runs on a fiber of the node's scope.
    const runWork = yield* FiberSet.makeRuntime<never, void, never>()
    const clock = yield* Clock.Clock
    const dispatcher = (yield* Scheduler.Scheduler).makeDispatcher()
    /** When the message being handled arrived (performance.now()), for the serve latency. */
    let arrivedMs = 0
    const inbox = Inbox.make({
      handle: (inbound, arrived) => {
        arrivedMs = arrived
        try {
          return dispatch(inbound, clock.currentTimeMillisUnsafe())
        } catch (error) {
          counts.inc("dropped", "handler_error")
          return Effect.logError("handler failed", error)
        }
      },
      run: (work) => runWork(contain(work)),
      atEndOfTurn: (task) => dispatcher.scheduleTask(task, 0),
      maxWaiting: options.maxWaitingMessages ?? 4_096,
      onDropped: () => counts.inc("dropped", "receive_backlog")
    })
    // Runs before the FiberSet's finalizer: work interrupted at shutdown lets no waiting message in.
    yield* Effect.addFinalizer(() => Effect.sync(inbox.close))
    yield* transport.listen(inbox.offer)
    yield* Effect.forkScoped(Effect.forever(verifyAndStore))

    // ------------------------------------------------------------------------------------------------
    // Periodic work.

    const every = (periodMs: number, work: Effect.Effect<void>) =>
      Effect.forkScoped(
        work.pipe(
          Effect.catchCause((cause) => Effect.logError("periodic work failed", cause)),
          Effect.repeat(Schedule.spaced(periodMs))
        )
      )

    let lastActive = -1
    const tick = Effect.gen(function* () {
      const result = yield* peers.tick
      const active = core.activeCount(yield* nowMs)
      if (active !== lastActive) {
        lastActive = active
        yield* Effect.logInfo("peers").pipe(Effect.annotateLogs({ active, dropped: result.dropped.length }))
      }
      if (result.pings.length === 0) return
      const stats = yield* store.stats
      // A light client reports no capacity, so peers neither list it nor pick it as a replica.
      const used = light ? 0n : BigInt(stats.usedBytes)
      const capacity = light ? 0n : BigInt(stats.capacityBytes)
      for (const ping of result.pings) send(ping.to, { _tag: "Ping", challenge: ping.challenge, used, capacity })
    })
    yield* every(options.tickEveryMs ?? 250, tick)
    const metricsFlushEveryMs = options.metricsFlushEveryMs ?? 1_000
    if (metricsFlushEveryMs > 0) yield* every(metricsFlushEveryMs, counts.flush)
    yield* Effect.addFinalizer(() => counts.flush)

    yield* every(
      options.storageChallengeEveryMs ?? Constants.STORAGE_CHALLENGE_EVERY_MS,
      Effect.gen(function* () {
        for (const c of yield* peers.pickChallenges) send(c.to, { _tag: "Get", pubKey: c.pubKey, key: c.key })
      })
    )

    // Until an edge has told us our address, ask again after 5 s, doubling up to the usual period:
    // an edge answers only once it has verified us, which may take it a ping interval or more.
    const addrQueryEveryMs = options.addrQueryEveryMs ?? Constants.GETMYADDRPORT_EVERY_MS
    let ownAddressKnown = false
    let addrRetryMs = Math.min(ADDR_RETRY_MS, addrQueryEveryMs)
    yield* Effect.forkScoped(
      Effect.gen(function* () {
        const edge = yield* peers.edgeForAddrQuery
        if (Option.isSome(edge)) send(edge.value, { _tag: "GetMyAddrPort" })
        ownAddressKnown ||= core.size > 0 && (yield* peers.isOwnAddress(transport.localAddress))
        yield* Effect.sleep(ownAddressKnown ? addrQueryEveryMs : addrRetryMs)
        addrRetryMs = Math.min(2 * addrRetryMs, addrQueryEveryMs)
      }).pipe(Effect.forever)
    )

    yield* every(options.replicateEveryMs ?? 30_000, replicate)

    const compactEveryMs = options.compactEveryMs ?? 10 * 60_000
    if (compactEveryMs > 0 && backupOn) {
      yield* Effect.forkScoped(
        Effect.gen(function* () {
          const live = yield* Stream.runCollect(store.entries)
          const report = yield* backup.compact(live)
          yield* Effect.logInfo("backup compacted").pipe(Effect.annotateLogs({ records: report.records }))
        }).pipe(
          Effect.catchCause((cause) => Effect.logError("backup compaction failed", cause)),
          Effect.delay(compactEveryMs),
          Effect.forever
        )
      )
    }

    const status = Effect.gen(function* () {
      const snapshot = yield* peers.snapshot
      return {
        nodeId: signer.nodeId,
        publicKey: signer.publicKey,
        localAddress: transport.localAddress,
        ownAddress: Option.fromUndefinedOr(peers.core.ownAddress),
        peersActive: snapshot.filter((p) => p.active).length,
        peersTotal: snapshot.length,
        store: yield* store.stats,
        uptimeMs: (yield* nowMs) - startedMs
      } satisfies NodeStatus
    })

    return DaveNode.of({
      nodeId: signer.nodeId,
      publicKey: signer.publicKey,
      localAddress: transport.localAddress,
      put,
      get,
      ask,
      status,
      peers: peers.snapshot
    })
  })

export const layer = (options: DaveNodeOptions = {}): Layer.Layer<DaveNode, never, Requirements> =>
  Layer.effect(DaveNode, make(options))
