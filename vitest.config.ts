import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time on the 2-core CI machine: most of a local-cloud test's time is spent waiting
    // on DynamoDB Local (its own JVM) and the sandboxes, so a second file uses the idle core.
    maxWorkers: 2,
    // Concurrent tests within a file (the simulation's fault profiles, each a CLI process): two at a time on
    // the 2-core CI machine.
    maxConcurrency: 2,
  },
});
