import * as Dns from "node:dns/promises"
import { Address, type AddrPort } from "@dave/protocol"
import { Effect } from "effect"
import * as ClientError from "./ClientError.ts"

/**
 * Node addresses as users write them: `[::1]:1618`, `127.0.0.1:1618`, or `name:1618` (looked up in
 * DNS, first address). Port 0 is refused: nobody listens there.
 */

const HOST_PORT = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/

export const resolve = (text: string, timeoutMs = 5_000): Effect.Effect<AddrPort, ClientError.ClientError> => {
  const literal = Address.parse(text)
  if (literal !== undefined) {
    return literal.port === 0
      ? Effect.fail(ClientError.usage(`"${text}": port 0 is not a node's port`))
      : Effect.succeed(literal)
  }
  const match = HOST_PORT.exec(text)
  const port = Number(match?.[2])
  if (match === null || port < 1 || port > 0xffff) {
    return Effect.fail(ClientError.usage(`"${text}" is not host:port (e.g. [::1]:1618, 127.0.0.1:1618)`))
  }
  const host = match[1]!
  return Effect.tryPromise({
    // A lookup cannot be cancelled; on timeout it finishes in the background and is ignored.
    try: () => Dns.lookup(host),
    catch: (error) =>
      ClientError.unreachable(`cannot resolve ${host}: ${error instanceof Error ? error.message : String(error)}`)
  }).pipe(
    Effect.flatMap((found) => {
      const addr = Address.fromHostPort(found.address, port)
      return addr === undefined
        ? Effect.fail(ClientError.unreachable(`${host} resolved to an unusable address ${found.address}`))
        : Effect.succeed(addr)
    }),
    Effect.timeoutOrElse({
      duration: timeoutMs,
      orElse: () => Effect.fail(ClientError.unreachable(`cannot resolve ${host} within ${timeoutMs} ms`))
    })
  )
}

/** Resolves an address given either parsed or as text. */
export const resolveInput = (
  input: AddrPort | string,
  timeoutMs?: number
): Effect.Effect<AddrPort, ClientError.ClientError> =>
  typeof input === "string" ? resolve(input, timeoutMs) : Effect.succeed(input)
