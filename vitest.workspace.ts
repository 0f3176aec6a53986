// The vitest project list. vitest 5 reads projects from `test.projects`, so vitest.config.ts imports this.
export const projects: Array<string> = ["packages/*", "apps/*"]
