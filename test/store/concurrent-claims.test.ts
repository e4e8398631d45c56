// Many claimers in separate processes on one SQLite file: every task claimed exactly once, none lost.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { createQueue } from '../../src/core/queue.js';
import { SqliteDb } from '../../src/store/sqlite/driver.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { tempDir } from '../helpers/stores.js';

const run = promisify(execFile);
const WORKER = resolve(import.meta.dirname, '../helpers/claim-worker.ts');
/** The most tasks one process claims: 3,000 tasks then need three processes at least, whichever wins the lock. */
const PER_PROCESS = 1000;

describe('concurrent claimers across processes (sqlite)', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('3,000 tasks, 4 processes x 4 claimers: each task claimed and completed exactly once', async () => {
    const path = join(dir.path, 'athena.db');
    const db = new SqliteDb(path);
    await db.migrate();
    const queue = createQueue({ store: new SqlStore(db), bus: createEventBus(), config: { leaseMs: 600_000, maxAttempts: 3, retryBaseMs: 1000, wipLimit: 0 } });
    const total = 3000;
    for (let i = 0; i < total; i++) await queue.create({ description: `task ${i}`, priority: (['high', 'medium', 'low'] as const)[i % 3] });

    const startAt = String(Date.now() + 8000);
    const outputs = await Promise.all(
      ['p1', 'p2', 'p3', 'p4'].map((name) => run(process.execPath, ['--import', 'tsx', WORKER, path, name, '4', startAt, String(PER_PROCESS)], { maxBuffer: 16 * 1024 * 1024 })),
    );
    const perProcess = outputs.map((o) => JSON.parse(o.stdout) as number[]);
    const all = perProcess.flat();
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    // No process took more than its share, so at least three of them claimed (SQLite's busy handler is
    // not fair between processes, and group commit keeps the write lock busy: without the cap, one
    // process on a loaded machine took all 3,000 while the others waited for the lock).
    const counts = perProcess.map((ids) => ids.length);
    for (const n of counts) expect(n, `tasks per process: ${counts.join(', ')}`).toBeLessThanOrEqual(PER_PROCESS);

    const stats = await queue.stats();
    expect(stats.byStatus.completed).toBe(total);
    expect(stats.byStatus.pending + stats.byStatus.in_progress).toBe(0);
    const claims = await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM task_logs WHERE action = 'claimed'`);
    expect(claims!.n).toBe(total);
    await db.close();
  }, 120_000);
});
