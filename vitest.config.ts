import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Concurrent tests within a file (the simulation's fault profiles, each a CLI process): two at a time on
    // the 2-core CI machine.
    maxConcurrency: 2,
  },
});
