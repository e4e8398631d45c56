// A start-up that fails part-way (here: the port is taken) closes what it opened: the database lock is
// free again and the same database can be served at once.
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { inspectLock } from '../../src/ops/lock.js';
import { startServer } from '../../src/server.js';
import { tempDir } from '../helpers/stores.js';

describe('failed start-up', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('releases the lock and the database when listen fails, so a second start on the same file works', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => taken.close(() => r())));
    const port = (taken.address() as { port: number }).port;
    const env = { API_HOST: '127.0.0.1', DB_PATH: join(dir.path, 'athena.db'), API_KEY: 'startup-test-key-0123456789abcdef', LOG_LEVEL: 'silent', BACKUP_INTERVAL_HOURS: '0' };

    await expect(startServer(loadConfig({ ...env, API_PORT: String(port) }), silentLogger)).rejects.toThrow(/EADDRINUSE|address already in use/);
    expect(inspectLock(env.DB_PATH).kind).toBe('free');

    const server = await startServer(loadConfig({ ...env, API_PORT: '0' }), silentLogger);
    cleanups.push(() => server.close());
    expect(inspectLock(env.DB_PATH).kind).not.toBe('free');
  });
});
