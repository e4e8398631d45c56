import { defineConfig } from 'vitest/config';
import { SLOW_TESTS } from './test/lanes.js';

// The fast lane (`npm test`); see test/lanes.ts for what runs in the slow one.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/reliability/**', 'node_modules/**', ...SLOW_TESTS],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
