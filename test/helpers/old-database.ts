// A database as an older version left it: every migration before `first` applied (and recorded as a
// version before checksums did), then `seed` SQL run in it. Migration tests open it and migrate it.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import type { Db } from '../../src/store/db.js';
import { loadMigrations } from '../../src/store/migrations.js';
import { openPostgres } from '../../src/store/open.js';
import { SqliteDb } from '../../src/store/sqlite/driver.js';
import { createTestSchema, tempDir } from './stores.js';

export type OldDatabase = { db: Db; cleanup(): Promise<void> };

/** `pgOnly`: SQL run after the seed on PostgreSQL alone (e.g. moving a sequence past explicit ids). */
export async function openBefore(backend: 'sqlite' | 'postgres', first: string, seed: string, pgOnly?: string): Promise<OldDatabase> {
  const older = (name: string) => name < first;
  if (backend === 'sqlite') {
    const dir = tempDir();
    const path = join(dir.path, 'athena.db');
    const raw = new Database(path);
    raw.exec('CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
    for (const m of loadMigrations('sqlite').filter((m) => older(m.name))) {
      raw.exec(m.sql);
      raw.prepare('INSERT INTO schema_migrations VALUES (?, 0)').run(m.name);
    }
    raw.exec(seed);
    raw.close();
    const db = new SqliteDb(path);
    return {
      db,
      async cleanup() {
        await db.close();
        dir.cleanup();
      },
    };
  }
  const schema = await createTestSchema();
  const client = new pg.Client({ connectionString: schema.url });
  await client.connect();
  try {
    await client.query('CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
    for (const m of loadMigrations('postgres').filter((m) => older(m.name))) {
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations VALUES ($1, 0)', [m.name]);
    }
    await client.query(seed);
    if (pgOnly) await client.query(pgOnly);
  } finally {
    await client.end();
  }
  const db = await openPostgres(schema.url, { poolSize: 2, startupRetryMs: 0 });
  return {
    db,
    async cleanup() {
      await db.close();
      await schema.drop();
    },
  };
}
