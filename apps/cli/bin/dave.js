#!/usr/bin/env node
/**
 * The `dave` launcher. On Node >= 22.19 it runs the TypeScript sources directly (type stripping, with
 * the "source" export condition for @dave/* packages), or the build in dist/ when the sources are
 * not there. On an older Node it runs itself again with the project's own Node 24
 * (node_modules/node, the root devDependency) and passes the exit code on.
 * Plain JavaScript, no dependencies: it must start on whatever Node is on the PATH.
 */
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as Module from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const packageDir = join(here, "..")
const MIN = [22, 19]

const isModern = () => {
  const [major, minor] = process.versions.node.split(".").map(Number)
  return major > MIN[0] || (major === MIN[0] && minor >= MIN[1])
}

/** The project's Node binary: node_modules/node/bin/node in this package or any directory above it. */
const projectNode = () => {
  let dir = packageDir
  for (let depth = 0; depth < 8; depth++) {
    const candidate = join(dir, "node_modules", "node", "bin", "node")
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  return undefined
}

const reexec = (node) => {
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" })
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
  child.on("exit", (code, signal) => {
    if (signal !== null) process.kill(process.pid, signal)
    else process.exit(code ?? 1)
  })
  child.on("error", (error) => {
    process.stderr.write(`dave: cannot start ${node}: ${error.message}\n`)
    process.exit(1)
  })
}

if (!isModern()) {
  const node = projectNode()
  if (node === undefined) {
    process.stderr.write(
      `dave: needs Node >= ${MIN.join(".")} (this is ${process.versions.node}); run "pnpm install" in the project to get its Node 24\n`
    )
    process.exit(1)
  }
  reexec(node)
} else {
  // V8's code cache for every module (effect's and ours) in the OS temp dir: starts ~2x faster.
  Module.enableCompileCache?.()
  const source = join(packageDir, "src", "main.ts")
  if (existsSync(source) && typeof Module.registerHooks === "function") {
    // Same as `node --conditions=source`: @dave/* packages resolve to their src/*.ts.
    Module.registerHooks({
      resolve: (specifier, context, next) =>
        next(
          specifier,
          specifier.startsWith("@dave/") ? { ...context, conditions: [...context.conditions, "source"] } : context
        )
    })
    await import(pathToFileURL(source).href)
  } else {
    await import(pathToFileURL(join(packageDir, "dist", "main.js")).href)
  }
}
