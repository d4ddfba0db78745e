import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["server/**/*.test.ts", "test/**/*.test.ts", "cli/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests bind port 0 and start child processes; two cores make more workers slower, not faster.
    maxWorkers: 2,
  },
});
