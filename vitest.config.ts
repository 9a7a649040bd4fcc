import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/yield-between-tests.ts', 'test/setup/remove-temp-dirs.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores: native builds and model runs in parallel files only fight each other.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
