import { defineConfig } from 'vitest/config';
import { SLOW_TESTS } from './test/lanes.js';

// The slow lane's own files (`npm run test:slow` runs these, then the reliability suite).
export default defineConfig({
  test: {
    include: SLOW_TESTS,
    exclude: ['test/reliability/**', 'node_modules/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
