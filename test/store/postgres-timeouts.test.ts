// PostgreSQL statements that run too long, and a server that stops answering: a statement is
// cancelled after PG_STATEMENT_TIMEOUT_SECONDS (503, the pool goes on), a hung connection is given up
// a second later, keepalives are configured, and migrations are not bound by the timeout.
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { UnavailableError } from '../../src/errors.js';
import { openPostgres, openStore } from '../../src/store/open.js';
import type { PostgresDb } from '../../src/store/postgres/driver.js';
import { createTestSchema } from '../helpers/stores.js';
import { startTcpProxy, throughProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/** How long a call took, and how it ended. */
async function timed(work: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  try {
    await work;
    return { ms: Date.now() - started, error: null };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

describe('PostgreSQL statement timeout, hung connections and keepalives', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  async function schema() {
    const s = await createTestSchema();
    cleanups.push(() => s.drop());
    return s;
  }

  it('cancels a statement past PG_STATEMENT_TIMEOUT_SECONDS with a 503 error, and the pool goes on', async () => {
    const s = await schema();
    const { db } = await openStore({ DB_PATH: 'unused', DATABASE_URL: s.url, SQLITE_SYNCHRONOUS: 'NORMAL', PG_POOL_SIZE: 2, PG_STATEMENT_TIMEOUT_SECONDS: 0.3, PG_KEEPALIVE_SECONDS: 7 });
    cleanups.push(() => db.close());
    const slow = await timed(db.get('SELECT pg_sleep(5)'));
    expect(slow.error).toBeInstanceOf(UnavailableError);
    expect((slow.error as Error).message).toMatch(/statement timeout/);
    expect(slow.ms).toBeLessThan(4_000);
    await db.ping();
    // Keepalive probes start after the configured idle time on every connection, pooled or dedicated.
    expect((db as PostgresDb).clientConfig().keepAliveInitialDelayMillis).toBe(7_000);
  });

  it('gives up on a server that stops answering a second after the statement timeout', async () => {
    const s = await schema();
    const target = new URL(s.url);
    const proxy: TcpProxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    cleanups.push(() => proxy.close());
    const db = await openPostgres(throughProxy(s.url, proxy.port), { poolSize: 2, startupRetryMs: 0, statementTimeoutMs: 300 });
    cleanups.push(() => db.close());
    await db.ping();
    proxy.hang();
    const hung = await timed(db.ping());
    expect(hung.error).toBeInstanceOf(UnavailableError);
    expect(hung.ms).toBeLessThan(5_000);
    proxy.restore();
    await db.ping(); // the hung connection was dropped; a new one answers
  });

  it('runs migrations without the statement timeout (one may wait for another replica\'s)', async () => {
    const s = await schema();
    const db = await openPostgres(s.url, { poolSize: 2, startupRetryMs: 0, statementTimeoutMs: 200 });
    cleanups.push(() => db.close());
    // Another replica migrating: holds the migration lock for longer than the statement timeout.
    const other = new pg.Client({ connectionString: s.url });
    await other.connect();
    cleanups.push(() => other.end());
    await other.query('BEGIN');
    await other.query(`SELECT pg_advisory_xact_lock(hashtext('athena_migrate'), hashtext(current_schema()))`);
    let migrated = false;
    const migrating = db.migrate().then((applied) => {
      migrated = true;
      return applied;
    });
    await new Promise((resolve) => setTimeout(resolve, 800)); // longer than the timeout: checks that nothing gave up
    expect(migrated).toBe(false);
    await other.query('COMMIT');
    expect((await migrating).length).toBeGreaterThan(0);
    // Read on the other session: information_schema is slow while other tests' schemas pile up, and this
    // pool's 200 ms statement timeout is what the test sets for the migration, not for this check.
    expect((await other.query("SELECT 1 AS ok FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'peek_holds'")).rows[0]).toBeTruthy();
  });
});
