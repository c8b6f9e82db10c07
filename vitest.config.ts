import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at a time on the 2-core CI machine: the e2e files spend much of their time waiting on
    // DynamoDB Local, the partner sandboxes and the virtual clock's settles, not on a core.
    maxWorkers: 2,
  },
});
