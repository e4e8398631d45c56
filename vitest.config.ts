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
    // Two files at a time. Vitest's default is one worker per core but one, which is a single worker on
    // a 2-core machine; most files spend their time waiting on child processes (servers, the CLI, git)
    // and PostgreSQL, so a second worker uses the core the first leaves idle. VITEST_MAX_WORKERS
    // overrides it.
    maxWorkers: 2,
  },
});
