// `athena serve` with an unreachable DATABASE_URL: retries with backoff, then exits with a message
// that names the host (never the password).
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { ATHENA_BIN } from '../helpers/server-process.js';
import { tempDir } from '../helpers/stores.js';

it('serve exits 1 naming the unreachable PostgreSQL host after PG_CONNECT_RETRY_SECONDS', async () => {
  const dir = tempDir();
  try {
    const started = Date.now();
    const proc = spawn(process.execPath, [ATHENA_BIN, 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        API_HOST: '127.0.0.1',
        API_PORT: '0',
        API_KEY: 'startup-test-key-0123456789abc',
        DB_PATH: `${dir.path}/athena.db`,
        DATABASE_URL: 'postgres://athena:sekret-pw@127.0.0.1:1/queue',
        PG_CONNECT_RETRY_SECONDS: '2',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    const took = Date.now() - started;
    expect(code).toBe(1);
    expect(err).toContain('athena: cannot connect to PostgreSQL at 127.0.0.1:1/queue (gave up after 2 s)');
    expect(out).toContain('PostgreSQL not reachable yet; retrying');
    expect(out + err).not.toContain('sekret-pw');
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(15_000);
  } finally {
    dir.cleanup();
  }
});
