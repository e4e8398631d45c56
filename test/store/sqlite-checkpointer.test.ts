// The WAL is copied into the database file by a worker thread, not inside commits; if the worker
// cannot work, commits checkpoint by themselves again.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackgroundCheckpointer } from '../../src/store/sqlite/checkpointer.js';
import { SqliteDb } from '../../src/store/sqlite/driver.js';
import { tempDir } from '../helpers/stores.js';
import { waitFor } from '../helpers/replicas.js';

/** About 3 MB in 30 transactions: below SQLite's own checkpoint threshold (1,000 pages, 4 MB). */
async function writeThreeMegabytes(db: SqliteDb): Promise<void> {
  await db.run('CREATE TABLE IF NOT EXISTS blob (id INTEGER PRIMARY KEY, v TEXT)');
  for (let i = 0; i < 30; i++) {
    await db.tx(async (q) => {
      for (let j = 0; j < 25; j++) await q.run('INSERT INTO blob (v) VALUES (?)', [`${i}-${j}-`.padEnd(4000, 'x')]);
    });
  }
}

describe('sqlite background checkpoints', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.cleanup());

  it('committed pages reach the database file without a checkpoint inside any commit', async () => {
    const path = join(dir.path, 'bg.db');
    const db = new SqliteDb(path);
    try {
      await db.migrate();
      expect(db.raw.pragma('wal_autocheckpoint', { simple: true })).toBeGreaterThan(1000);
      const before = statSync(path).size;
      await writeThreeMegabytes(db);
      await waitFor(() => statSync(path).size > before + 2_500_000, 5_000);
    } finally {
      await db.close();
    }
  });

  it('without the worker the same writes stay in the WAL (so the test above sees the worker at work)', async () => {
    const path = join(dir.path, 'inline.db');
    const db = new SqliteDb(path, { backgroundCheckpoint: false });
    try {
      await db.migrate();
      const before = statSync(path).size;
      await writeThreeMegabytes(db);
      // A fixed wait on purpose: it checks that nothing more happens (no checkpoint shrinks the file).
      await new Promise((r) => setTimeout(r, 300));
      expect(statSync(path).size).toBeLessThan(before + 1_000_000);
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(2_500_000);
    } finally {
      await db.close();
    }
  });

  it('a worker that cannot open the database reports it once, so commits checkpoint inline again', async () => {
    const failures: string[] = [];
    const checkpointer = new BackgroundCheckpointer({
      path: join(dir.path, 'missing', 'nothing.db'),
      synchronous: 'NORMAL',
      onFailure: (reason) => failures.push(reason),
    });
    checkpointer.nudge();
    await waitFor(() => failures.length > 0, 5_000);
    checkpointer.nudge();
    // A fixed wait on purpose: it checks that nothing more happens (the failure is reported once).
    await new Promise((r) => setTimeout(r, 100));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/checkpoint worker/);
    await checkpointer.close();
  });

  it('an idle worker stops, and the next commit starts another that copies the WAL again', async () => {
    const path = join(dir.path, 'idle.db');
    const db = new SqliteDb(path, { backgroundCheckpoint: false });
    const failures: string[] = [];
    const checkpointer = new BackgroundCheckpointer({ path, synchronous: 'NORMAL', idleStopMs: 100, onFailure: (reason) => failures.push(reason) });
    try {
      await db.migrate();
      db.raw.pragma('wal_autocheckpoint = 0');
      for (const round of [1, 2]) {
        const before = statSync(path).size;
        await writeThreeMegabytes(db);
        checkpointer.nudge();
        expect(checkpointer.running).toBe(true);
        await waitFor(() => statSync(path).size > before + 2_500_000, 5_000);
        await waitFor(() => !checkpointer.running, 5_000);
        expect({ round, failures }).toEqual({ round, failures: [] });
      }
    } finally {
      await checkpointer.close();
      await db.close();
    }
  });
});
