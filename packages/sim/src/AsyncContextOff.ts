/**
 * Turns off effect's async-context capture for this process. effect 4 wraps every fiber that
 * suspends in a node:async_hooks AsyncResource, so that AsyncLocalStorage values survive its
 * resumption. A simulation suspends fibers at every virtual sleep and every receive, uses no
 * AsyncLocalStorage, and the resources (made, entered, destroyed) cost a few percent of a large
 * run's CPU. effect looks AsyncResource up once, when it loads, through
 * `process.getBuiltinModule`: this module hides it from that one look-up. Import it first in an
 * entry point (before anything that imports effect), and call `restore` once the imports are done.
 * A run's results do not depend on it; only its speed does.
 */
const original = process.getBuiltinModule
let hidden = true
process.getBuiltinModule = ((id: string) =>
  hidden && (id === "node:async_hooks" || id === "async_hooks") ? {} : original(id)) as typeof original

/** Gives `process.getBuiltinModule` back its own behaviour. */
export const restore = (): void => {
  hidden = false
  process.getBuiltinModule = original
}
