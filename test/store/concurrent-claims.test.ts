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
      ['p1', 'p2', 'p3', 'p4'].map((name) => run(process.execPath, ['--import', 'tsx', WORKER, path, name, '4', startAt], { maxBuffer: 16 * 1024 * 1024 })),
    );
    const perProcess = outputs.map((o) => JSON.parse(o.stdout) as number[]);
    const all = perProcess.flat();
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    // The processes really raced: several of them got tasks. (Not necessarily all four: SQLite's busy
    // handler is not fair between processes, and group commit keeps the write lock busy, so on a
    // loaded machine one process can find it taken every time it polls until the queue is empty.
    // Production runs one server per SQLite file; the lock file enforces it.)
    const counts = perProcess.map((ids) => ids.length);
    expect(counts.filter((n) => n > 0).length, `tasks per process: ${counts.join(', ')}`).toBeGreaterThanOrEqual(2);

    const stats = await queue.stats();
    expect(stats.byStatus.completed).toBe(total);
    expect(stats.byStatus.pending + stats.byStatus.in_progress).toBe(0);
    const claims = await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM task_logs WHERE action = 'claimed'`);
    expect(claims!.n).toBe(total);
    await db.close();
  }, 120_000);
});
