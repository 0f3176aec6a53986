import { defineConfig } from "vitest/config"
import { projects } from "./vitest.workspace.ts"

export default defineConfig({
  test: {
    projects,
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
