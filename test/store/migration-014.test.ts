// Migration 014 on keys made before the reviewer role: every key keeps its id, hash, role and dates; reviewer keys can then be stored.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/store/migrations.js';
import { openPostgres } from '../../src/store/open.js';
import { SqliteDb } from '../../src/store/sqlite/driver.js';
import { SqlKeyStore } from '../../src/store/keys-store.js';
import type { Db } from '../../src/store/db.js';
import { createTestSchema, tempDir } from '../helpers/stores.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const BEFORE = (name: string) => name < '014';

const OLD_KEYS = `
  INSERT INTO api_keys (id, name, role, instance_id, key_hash, prefix, created_at, last_used_at, revoked_at) VALUES
    (1, 'builder-1', 'agent', 'builder-1', 'hash-1', 'athena_aaaaa', 1000, 2000, NULL),
    (2, 'grafana', 'reader', NULL, 'hash-2', 'athena_bbbbb', 1100, NULL, NULL),
    (5, 'old-ops', 'admin', NULL, 'hash-5', 'athena_ccccc', 1200, NULL, 3000);
`;

async function expectKeptAndReviewerAllowed(db: Db) {
  expect(await db.migrate()).toContain('014_reviewer_role.sql');
  const keys = new SqlKeyStore(db);
  const before = await keys.list();
  expect(before.map((k) => [k.id, k.name, k.role, k.instanceId, k.createdAt, k.lastUsedAt, k.revokedAt])).toEqual([
    [1, 'builder-1', 'agent', 'builder-1', 1000, 2000, null],
    [2, 'grafana', 'reader', null, 1100, null, null],
    [5, 'old-ops', 'admin', null, 1200, null, 3000],
  ]);
  expect((await keys.findActive('hash-1'))?.id).toBe(1);
  const reviewer = await keys.create({ name: 'rosa', role: 'reviewer', instanceId: null, keyHash: 'hash-6', prefix: 'athena_ddddd' }, 4000);
  // Ids keep counting from the old table's: a revoked key's id is never reused.
  expect(reviewer).toMatchObject({ id: 6, role: 'reviewer' });
  // The constraint still refuses a role nobody knows.
  await expect(keys.create({ name: 'x', role: 'owner' as never, instanceId: null, keyHash: 'hash-7', prefix: 'athena_eeeee' }, 5000)).rejects.toThrow();
}

describe('migration 014 (reviewer key role)', () => {
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
    raw.exec(OLD_KEYS);
    raw.close();
    const db = new SqliteDb(path);
    cleanups.push(() => db.close());
    await expectKeptAndReviewerAllowed(db);
    const check = await db.all<{ integrity_check: string }>('PRAGMA integrity_check');
    expect(check).toEqual([{ integrity_check: 'ok' }]);
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
      await client.query(OLD_KEYS);
      // Ids after a restore continue past the highest, as BIGSERIAL does after real inserts.
      await client.query(`SELECT setval(pg_get_serial_sequence('api_keys', 'id'), 5)`);
    } finally {
      await client.end();
    }
    const db = await openPostgres(schema.url, { poolSize: 1, startupRetryMs: 0 });
    cleanups.push(() => db.close());
    await expectKeptAndReviewerAllowed(db);
  });
});
