import { DatSigning, Hasher, KeyFile, ProofOfWork, Signer, Work } from "@dave/crypto"
import { PeerOptions } from "@dave/peers"
import { Address, type AddrPort, Constants, type Entry } from "@dave/protocol"
import { Clock, Config, Context, Effect, Exit, type FileSystem, Layer, Option, Scope, Semaphore } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import * as AdminApi from "./AdminApi.ts"
import * as ClientError from "./ClientError.ts"
import * as Confirm from "./Confirm.ts"
import * as LightNode from "./LightNode.ts"
import * as NodeAddress from "./NodeAddress.ts"

/**
 * A Dave client for Effect apps: put and get through a light node (it joins the network through a
 * node you name, sends writes to the replicas and reads from them, and holds no data), and a node's
 * status and peers through its admin HTTP API.
 */

export interface DaveClientOptions {
  /** A node to join through (UDP), e.g. `[::1]:1618`; ours or the reference. */
  readonly node: AddrPort | string
  /** More bootstrap nodes; the client is ready when any of them answered. */
  readonly edges?: ReadonlyArray<AddrPort | string>
  /** Base URL of the node's admin API (default http://127.0.0.1:1620); `host:port` works too. */
  readonly admin?: URL | string
  /** The author key that signs writes; without one, `put` fails with reason Usage. */
  readonly authorKey?: KeyFile.KeyPair
  /** Bound on each network wait: joining, a read, confirming a write, an admin request (default 5000). */
  readonly timeoutMs?: number
  /** Proof-of-work bits of writes (default MIN_WORK, 8; more ranks the entry higher in stores). */
  readonly difficulty?: number
  /**
   * "eager" (default): the layer joins the network when built and fails Unreachable if no node
   * answers. "lazy": the first put or get joins, so status and peers never touch UDP.
   */
  readonly connect?: "eager" | "lazy"
  /** Local UDP bind address (default "::"). */
  readonly host?: string
  /**
   * "internet" (default) keeps the peer table's per-IP caps; "loopback" lifts them, for a test
   * network of many nodes on one address (as the daemon's `--peer-limits`).
   */
  readonly peerLimits?: "internet" | "loopback"
  /** Further peer table overrides (applied after `peerLimits`). */
  readonly peers?: Partial<PeerOptions.PeerOptions>
}

export interface WorkProgress {
  /** Salts tried so far. */
  readonly hashes: number
  /** Salts a solve takes on average: 2^difficulty. */
  readonly expectedHashes: number
  readonly elapsedMs: number
}

export interface PutRequest {
  /** UTF-8 text or bytes; at most 255 bytes. */
  readonly key: string | Uint8Array
  /** UTF-8 text or bytes; key + value at most 1224 bytes. */
  readonly value: string | Uint8Array
  readonly difficulty?: number
  /** The write's time, Unix ms (default now); the newest time wins. */
  readonly timeMs?: number
  /** Called from time to time while the proof of work runs. */
  readonly onProgress?: (progress: WorkProgress) => void
}

export interface PutResult {
  readonly entry: Entry
  /** Replicas that served this exact version back when asked. */
  readonly replicas: number
  /** Replicas the write was sent to. */
  readonly sentTo: ReadonlyArray<AddrPort>
  /** The replicas counted in `replicas`. */
  readonly confirmedBy: ReadonlyArray<AddrPort>
  readonly workHashes: number
  readonly workMs: number
}

export interface DaveClientShape {
  /** The author key's public half, if the client has one. */
  readonly authorPublicKey: Option.Option<Uint8Array>
  /** Signs, solves the work, sends to the closest replicas and confirms how many hold it. */
  readonly put: (request: PutRequest) => Effect.Effect<PutResult, ClientError.ClientError>
  /** The newest verified entry of `key` by `author` (a 32-byte public key), if any replica has one. */
  readonly get: (
    author: Uint8Array,
    key: string | Uint8Array
  ) => Effect.Effect<Option.Option<Entry>, ClientError.ClientError>
  /** The admin API's peer table. */
  readonly peers: Effect.Effect<ReadonlyArray<AdminApi.Peer>, ClientError.ClientError>
  /** The admin API's node status. */
  readonly status: Effect.Effect<AdminApi.Status, ClientError.ClientError>
}

export class DaveClient extends Context.Service<DaveClient, DaveClientShape>()("@dave/client/DaveClient") {}

export const DEFAULT_TIMEOUT_MS = 5_000
/** The highest difficulty accepted: 2^40 hashes already take days on one machine. */
export const MAX_DIFFICULTY = 40

const utf8 = new TextEncoder()
const bytesOf = (input: string | Uint8Array): Uint8Array => (typeof input === "string" ? utf8.encode(input) : input)

const checkKey = (key: Uint8Array): Effect.Effect<void, ClientError.ClientError> =>
  key.length <= Constants.MAX_KEY_LEN
    ? Effect.void
    : Effect.fail(ClientError.usage(`key is ${key.length} bytes, at most ${Constants.MAX_KEY_LEN}`))

export const checkDifficulty = (difficulty: number): Effect.Effect<void, ClientError.ClientError> =>
  Number.isInteger(difficulty) && difficulty >= Constants.MIN_WORK && difficulty <= MAX_DIFFICULTY
    ? Effect.void
    : Effect.fail(
        ClientError.usage(
          `difficulty must be an integer in ${Constants.MIN_WORK}..${MAX_DIFFICULTY}, got ${difficulty}`
        )
      )

/**
 * The checks `put` makes before any work: key and value sizes, difficulty, time. Callers with
 * side effects of their own (creating a key file) can run them first.
 */
export const checkPutRequest = (request: PutRequest): Effect.Effect<void, ClientError.ClientError> =>
  Effect.gen(function* () {
    const key = bytesOf(request.key)
    const value = bytesOf(request.value)
    yield* checkKey(key)
    if (key.length + value.length > Constants.MAX_KEY_VALUE_LEN) {
      return yield* ClientError.usage(
        `key + value is ${key.length + value.length} bytes, at most ${Constants.MAX_KEY_VALUE_LEN}`
      )
    }
    if (request.difficulty !== undefined) yield* checkDifficulty(request.difficulty)
    if (request.timeMs !== undefined && !(Number.isSafeInteger(request.timeMs) && request.timeMs >= 0)) {
      return yield* ClientError.usage(`timeMs must be a non-negative integer, got ${request.timeMs}`)
    }
  })

const checkTimeout = (timeoutMs: number): Effect.Effect<void, ClientError.ClientError> =>
  Number.isInteger(timeoutMs) && timeoutMs > 0
    ? Effect.void
    : Effect.fail(ClientError.usage(`timeout must be a positive number of ms, got ${timeoutMs}`))

/** A value computed once on first use; a failed attempt is not kept, so the next use tries again. */
const lazily = <A, E>(
  acquire: Effect.Effect<A, E, Scope.Scope>
): Effect.Effect<Effect.Effect<A, E>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const parent = yield* Effect.scope
    const lock = yield* Semaphore.make(1)
    let value: Option.Option<A> = Option.none()
    return lock.withPermits(1)(
      Effect.suspend(() => {
        if (Option.isSome(value)) return Effect.succeed(value.value)
        return Effect.gen(function* () {
          const scope = yield* Scope.fork(parent)
          const exit = yield* Effect.exit(Scope.provide(acquire, scope))
          if (Exit.isFailure(exit)) yield* Scope.close(scope, exit)
          else value = Option.some(exit.value)
          return yield* exit
        })
      })
    )
  })

/** Builds a client in the current scope: the light node, if eager, joins now. */
export const make = (
  options: DaveClientOptions
): Effect.Effect<DaveClientShape, ClientError.ClientError, Scope.Scope | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    yield* checkTimeout(timeoutMs)
    const defaultDifficulty = options.difficulty ?? Constants.MIN_WORK
    yield* checkDifficulty(defaultDifficulty)
    const adminText = options.admin ?? AdminApi.DEFAULT_URL
    const admin = typeof adminText === "string" ? AdminApi.parseUrl(adminText) : Option.some(adminText)
    if (Option.isNone(admin)) return yield* ClientError.usage(`"${String(adminText)}" is not an admin API URL`)
    const http = yield* HttpClient.HttpClient
    const hasher = yield* Hasher.makeWasm
    const work = Work.makeWorkers(hasher)
    const author =
      options.authorKey === undefined
        ? Option.none<Signer.Signer["Service"]>()
        : Option.some(
            yield* Signer.makeDefault(options.authorKey).pipe(
              Effect.mapError((e) => ClientError.usage(`bad author key: ${e.message}`))
            )
          )

    const node = yield* lazily(
      Effect.gen(function* () {
        const edges = yield* Effect.forEach([options.node, ...(options.edges ?? [])], (e) =>
          NodeAddress.resolveInput(e, timeoutMs)
        )
        return yield* LightNode.start({
          edges,
          timeoutMs,
          ...(options.host === undefined ? {} : { host: options.host }),
          peers: { ...(options.peerLimits === "loopback" ? PeerOptions.loopback : {}), ...options.peers }
        })
      })
    )
    if (options.connect !== "lazy") yield* node

    const sign = (
      signer: Signer.Signer["Service"],
      request: PutRequest,
      key: Uint8Array,
      value: Uint8Array,
      difficulty: number
    ) =>
      Effect.gen(function* () {
        const startMs = yield* Clock.currentTimeMillis
        let hashes = 0
        const expectedHashes = 2 ** difficulty
        const dat = yield* DatSigning.signDat({
          key,
          value,
          timeMs: request.timeMs ?? startMs,
          difficulty,
          onProgress: (h) => {
            hashes = h
            request.onProgress?.({ hashes: h, expectedHashes, elapsedMs: Date.now() - startMs })
          }
        }).pipe(
          Effect.provideService(Signer.Signer, signer),
          Effect.provideService(Hasher.Hasher, hasher),
          Effect.provideService(Work.Work, work)
        )
        const workMs = (yield* Clock.currentTimeMillis) - startMs
        return { dat, hashes, workMs }
      })

    const put = (request: PutRequest): Effect.Effect<PutResult, ClientError.ClientError> =>
      Effect.gen(function* () {
        if (Option.isNone(author)) return yield* ClientError.usage("no author key to sign with")
        const difficulty = request.difficulty ?? defaultDifficulty
        yield* checkPutRequest({ ...request, difficulty })
        const key = bytesOf(request.key)
        const value = bytesOf(request.value)
        // Joining the network and solving the work overlap: both take a while.
        const [light, signed] = yield* Effect.all([node, sign(author.value, request, key, value, difficulty)], {
          concurrency: 2
        })
        const report = yield* light
          .put(signed.dat)
          .pipe(Effect.mapError((e) => ClientError.usage(`the write does not verify (${e.reason}): ${e.detail}`)))
        if (report.sentTo.length === 0) {
          return yield* ClientError.unreachable("no replica to send the write to: the node knows no active peers")
        }
        const confirmedBy = yield* Confirm.confirm(light, report.entry, report.sentTo, timeoutMs)
        if (confirmedBy.length === 0) {
          const names = report.sentTo.map(Address.toString).join(", ")
          return yield* ClientError.timeout(`no replica confirmed the write within ${timeoutMs} ms (sent to ${names})`)
        }
        return {
          entry: report.entry,
          replicas: confirmedBy.length,
          sentTo: report.sentTo,
          confirmedBy,
          workHashes: signed.hashes,
          workMs: signed.workMs
        }
      })

    const get = (
      authorKey: Uint8Array,
      keyInput: string | Uint8Array
    ): Effect.Effect<Option.Option<Entry>, ClientError.ClientError> =>
      Effect.gen(function* () {
        if (authorKey.length !== Constants.PUBKEY_LEN) {
          return yield* ClientError.usage(
            `author must be a ${Constants.PUBKEY_LEN}-byte public key, got ${authorKey.length} bytes`
          )
        }
        const key = bytesOf(keyInput)
        yield* checkKey(key)
        const light = yield* node
        return yield* light
          .get(authorKey, key, { timeoutMs })
          .pipe(
            Effect.mapError((e) =>
              e.reason === "TooManyReads"
                ? ClientError.timeout("too many reads in flight in this client")
                : e.reason === "NoPeers"
                  ? ClientError.unreachable("no node to ask: the client knows no replica")
                  : ClientError.timeout(`no replica answered within ${timeoutMs} ms`)
            )
          )
      })

    const adminRequest = <A>(request: Effect.Effect<A, ClientError.ClientError, HttpClient.HttpClient>) =>
      Effect.provideService(request, HttpClient.HttpClient, http)

    return DaveClient.of({
      authorPublicKey: Option.map(author, (s) => s.publicKey),
      put,
      get,
      peers: adminRequest(AdminApi.peers(admin.value, timeoutMs)),
      status: adminRequest(AdminApi.status(admin.value, timeoutMs))
    })
  })

/** The client as a layer, with fetch as its HTTP client; fails if an eager join finds no node. */
export const layer = (options: DaveClientOptions): Layer.Layer<DaveClient, ClientError.ClientError> =>
  Layer.effect(DaveClient, make(options)).pipe(Layer.provide(FetchHttpClient.layer))

/**
 * The client configured from the environment, as the `dave` command is: DAVE_NODE (default
 * [::1]:1618), DAVE_EDGES (comma-separated), DAVE_ADMIN, DAVE_TIMEOUT_MS, DAVE_PEER_LIMITS, and
 * DAVE_KEY_FILE (the author key, created if missing; without it the client only reads).
 * `overrides` win over the environment.
 */
export const layerConfig = (
  overrides: Partial<DaveClientOptions> = {}
): Layer.Layer<DaveClient, ClientError.ClientError | Config.ConfigError, FileSystem.FileSystem> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const env = yield* Config.all({
        node: Config.String("DAVE_NODE").pipe(Config.withDefault("[::1]:1618")),
        edges: Config.String("DAVE_EDGES").pipe(Config.withDefault("")),
        admin: Config.String("DAVE_ADMIN").pipe(Config.withDefault(AdminApi.DEFAULT_URL)),
        timeoutMs: Config.Int("DAVE_TIMEOUT_MS").pipe(Config.withDefault(DEFAULT_TIMEOUT_MS)),
        peerLimits: Config.Literals(["internet", "loopback"], "DAVE_PEER_LIMITS").pipe(Config.withDefault("internet")),
        keyFile: Config.String("DAVE_KEY_FILE").pipe(Config.option)
      })
      const authorKey =
        overrides.authorKey ??
        (Option.isSome(env.keyFile)
          ? yield* KeyFile.loadOrCreate(env.keyFile.value).pipe(
              Effect.mapError((e) => ClientError.usage(`DAVE_KEY_FILE: ${e.message}`))
            )
          : undefined)
      return layer({
        node: env.node,
        edges: env.edges
          .split(",")
          .map((e) => e.trim())
          .filter((e) => e.length > 0),
        admin: env.admin,
        timeoutMs: env.timeoutMs,
        peerLimits: env.peerLimits,
        ...(authorKey === undefined ? {} : { authorKey }),
        ...overrides
      })
    })
  )

/** The leading zero bits of an entry's work (its difficulty as solved). */
export const workBits = (entry: Entry): number => ProofOfWork.leadingZeroBits(entry.dat.work)
