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
    // Files in one worker share loaded modules instead of importing fastify, discord.js, zod and the
    // rest again for each file: measured on this machine, module imports fell from 136 s to 19 s of the
    // lane's time and its CPU time by a third. Tests keep no state in modules (each opens its own store,
    // server and bus); the two that spy on prototypes restore them after each test.
    isolate: false,
  },
});
