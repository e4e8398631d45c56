// Migration 016 on a queue whose labels and dependencies were also kept as rows of their own tables:
// the tables go, and claims, label filters and dependency cascades read the task rows' lists alone.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { createQueue } from '../../src/core/queue.js';
import { loadMigrations } from '../../src/store/migrations.js';
import { openPostgres } from '../../src/store/open.js';
import { SqliteDb } from '../../src/store/sqlite/driver.js';
import { SqlStore } from '../../src/store/sql-store.js';
import type { Db } from '../../src/store/db.js';
import { createTestSchema, defaultQueueConfig, tempDir } from '../helpers/stores.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const BEFORE = (name: string) => name < '016';

// #1 carries label db; #2 waits on #1; #3 has neither; #4 waits on #3 and carries db.
const OLD_QUEUE = `
  INSERT INTO tasks (id, description, status, priority, priority_rank, created_at, updated_at, labels, depends_on) VALUES
    (1, 'migrate the db', 'pending', 'high', 0, 1000, 1000, '["db"]', '[]'),
    (2, 'after the db', 'pending', 'high', 0, 1001, 1001, '[]', '[1]'),
    (3, 'plain', 'pending', 'low', 2, 1002, 1002, '[]', '[]'),
    (4, 'db after plain', 'pending', 'low', 2, 1003, 1003, '["db"]', '[3]');
  INSERT INTO task_labels (task_id, label) VALUES (1, 'db'), (4, 'db');
  INSERT INTO task_deps (task_id, depends_on) VALUES (2, 1), (4, 3);
`;

async function expectListsReadFromTheRows(db: Db) {
  expect(await db.migrate()).toContain('016_lists_in_task_row.sql');
  const store = new SqlStore(db);
  const queue = createQueue({ store, bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit: 0 } });
  // An agent without labels gets the one task with no label whose dependencies are met.
  const plain = await queue.claimNext({ instanceId: 'plain-agent', labels: [] });
  expect(plain?.id).toBe(3);
  expect(await queue.claimNext({ instanceId: 'plain-agent', labels: [] })).toBeNull();
  // An agent with db gets #1 first (#4 waits on #3, which is in progress).
  const db1 = await queue.claimNext({ instanceId: 'db-agent', labels: ['db'] });
  expect(db1).toMatchObject({ id: 1, labels: ['db'] });
  expect((await store.listTasks({ label: 'db', limit: 10 })).tasks.map((t) => t.id).sort()).toEqual([1, 4]);
  // Cancelling #1 blocks its dependant, found through the dependant's own list.
  await queue.cancel(1);
  expect((await queue.get(2)).status).toBe('blocked');
  await queue.complete(3, { leaseToken: plain!.leaseToken });
  expect((await queue.claimNext({ instanceId: 'db-agent', labels: ['db'] }))?.id).toBe(4);
}

describe('migration 016 (labels and dependencies only in the task row)', () => {
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
    raw.exec(OLD_QUEUE);
    raw.close();
    const db = new SqliteDb(path);
    cleanups.push(() => db.close());
    await expectListsReadFromTheRows(db);
    expect(await db.all(`SELECT name FROM sqlite_master WHERE name IN ('task_labels', 'task_deps')`)).toEqual([]);
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
      await client.query(OLD_QUEUE);
      await client.query(`SELECT setval(pg_get_serial_sequence('tasks', 'id'), 4)`);
    } finally {
      await client.end();
    }
    const db = await openPostgres(schema.url, { poolSize: 2, startupRetryMs: 0 });
    cleanups.push(() => db.close());
    await expectListsReadFromTheRows(db);
    expect(await db.all(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename IN ('task_labels', 'task_deps')`)).toEqual([]);
  });
});
