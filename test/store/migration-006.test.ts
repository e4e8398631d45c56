// Migration 006 on a queue written under the old attempts rule: each release since the last retry
// gives its attempt back, running leases learn their length, and nothing else changes.
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { openBefore } from '../helpers/old-database.js';

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

describe.each(['sqlite', 'postgres'] as const)('migration 006 (attempts recount, lease length, idempotency request) on %s', (backend) => {
  it('recounts attempts and learns running leases, changing nothing else', async () => {
    const old = await openBefore(backend, '006', OLD_ROWS);
    try {
      await expectRecounted(old.db);
    } finally {
      await old.cleanup();
    }
  });
});
