import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Wire suites start their own mock Kafka clusters; two workers fit the 2-core machines.
    maxWorkers: 2
  }
})
