import { defineProject } from "vitest/config"

export default defineProject({
  // Node tests run in Vite's SSR environment: the "source" condition resolves workspace packages to src/*.ts.
  ssr: { resolve: { conditions: ["source", "module", "node", "development|production"] } },
  test: { include: ["test/**/*.test.ts"], testTimeout: 30_000, hookTimeout: 60_000 }
})
