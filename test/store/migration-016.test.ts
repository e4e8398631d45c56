// Migration 016 on a queue whose labels and dependencies were also kept as rows of their own tables:
// the tables go, and claims, label filters and dependency cascades read the task rows' lists alone.
import { describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { createQueue } from '../../src/core/queue.js';
import { SqlStore } from '../../src/store/sql-store.js';
import type { Db } from '../../src/store/db.js';
import { openBefore } from '../helpers/old-database.js';
import { defaultQueueConfig } from '../helpers/stores.js';

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

const TABLES_GONE = {
  sqlite: `SELECT name FROM sqlite_master WHERE name IN ('task_labels', 'task_deps')`,
  postgres: `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename IN ('task_labels', 'task_deps')`,
};

describe.each(['sqlite', 'postgres'] as const)('migration 016 (labels and dependencies only in the task row) on %s', (backend) => {
  it('drops the tables; claims, label filters and cascades read the lists in the rows', async () => {
    const old = await openBefore(backend, '016', OLD_QUEUE, `SELECT setval(pg_get_serial_sequence('tasks', 'id'), 4)`);
    try {
      await expectListsReadFromTheRows(old.db);
      expect(await old.db.all(TABLES_GONE[backend])).toEqual([]);
    } finally {
      await old.cleanup();
    }
  });
});
