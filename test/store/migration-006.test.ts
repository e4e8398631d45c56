// Migration 006 on a queue written under the old attempts rule: each release since the last retry
// gives its attempt back, running leases learn their length, and nothing else changes.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/store/migrations.js';
import { openPostgres } from '../../src/store/open.js';
import { SqliteDb } from '../../src/store/sqlite/driver.js';
import type { Db } from '../../src/store/db.js';
import { createTestSchema, tempDir } from '../helpers/stores.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const BEFORE = (name: string) => name < '006';

/** Rows as the old version left them: attempts counted every claim. */
const OLD_ROWS = `
  INSERT INTO tasks (id, description, status, attempts, max_attempts, created_at, updated_at, claimed_at, lease_expires_at, lease_token, instance_id)
  VALUES
    (1, 'released three times, now pending', 'pending', 3, 3, 0, 0, NULL, NULL, NULL, NULL),
    (2, 'failed twice, released once, running', 'in_progress', 4, 5, 0, 0, 1000, 700000, 'tok', 'a'),
    (3, 'retried after releases, claimed once since', 'pending', 1, 3, 0, 0, NULL, NULL, NULL, NULL),
    (4, 'completed at the first try', 'completed', 1, 3, 0, 0, 1000, NULL, NULL, NULL);
  INSERT INTO task_logs (id, task_id, action, timestamp) VALUES
    (1, 1, 'claimed', 1), (2, 1, 'released', 2), (3, 1, 'claimed', 3), (4, 1, 'released', 4), (5, 1, 'claimed', 5), (6, 1, 'released', 6),
    (7, 2, 'claimed', 1000), (8, 2, 'requeued', 1100), (9, 2, 'claimed', 1200), (10, 2, 'released', 1300), (11, 2, 'claimed', 1400),
    (12, 2, 'requeued', 1500), (13, 2, 'claimed', 100000), (14, 2, 'heartbeat', 400000),
    (15, 3, 'claimed', 1), (16, 3, 'released', 2), (17, 3, 'claimed', 3), (18, 3, 'failed', 4), (19, 3, 'retried', 5),
    (20, 3, 'claimed', 6), (21, 3, 'requeued', 7),
    (22, 4, 'claimed', 1000), (23, 4, 'completed', 2000);
`;

async function expectRecounted(db: Db) {
  // 006 first; later migrations follow it.
  expect((await db.migrate())[0]).toBe('006_attempts_leases_requests.sql');
  const rows = await db.all<{ id: number; attempts: number; lease_ms: number | null }>('SELECT id, attempts, lease_ms FROM tasks ORDER BY id');
  expect(rows.map((r) => [Number(r.id), Number(r.attempts), r.lease_ms === null ? null : Number(r.lease_ms)])).toEqual([
    [1, 0, null], // three claims, three releases: no attempt used
    [2, 3, 300_000], // four claims, one release; the lease runs from the last heartbeat
    [3, 1, null], // the claims before the retry do not count
    [4, 1, null],
  ]);
}

describe('migration 006 (attempts recount, lease length, idempotency request)', () => {
  it('on sqlite', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const path = join(dir.path, 'athena.db');
    const raw = new Database(path);
    raw.exec('CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
    for (const m of loadMigrations('sqlite').filter((m) => BEFORE(m.name))) {
      raw.exec(m.sql);
      raw.prepare('INSERT INTO schema_migrations VALUES (?, 0)').run(m.name);
    }
    raw.exec(OLD_ROWS);
    raw.close();
    const db = new SqliteDb(path);
    cleanups.push(() => db.close());
    await expectRecounted(db);
  });

  it('on postgres', async () => {
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    try {
      await client.query('CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
      for (const m of loadMigrations('postgres').filter((m) => BEFORE(m.name))) {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations VALUES ($1, 0)', [m.name]);
      }
      await client.query(OLD_ROWS);
    } finally {
      await client.end();
    }
    const db = await openPostgres(schema.url, { poolSize: 1, startupRetryMs: 0 });
    cleanups.push(() => db.close());
    await expectRecounted(db);
  });
});
