// Backups (online, verified, rotated), restore (checked, refuses while served, keeps the old file) and the database lock.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupLoop } from '../../src/jobs/backup.js';
import { createLoopRunner } from '../../src/jobs/loop-runner.js';
import { silentLogger } from '../../src/logger.js';
import { backupDatabase, backupFileName, listBackups, verifyDatabaseFile } from '../../src/ops/backup.js';
import { DatabaseLockedError, acquireDbLock, inspectLock, lockPathFor } from '../../src/ops/lock.js';
import { restoreDatabase } from '../../src/ops/restore.js';
import { sqliteBackend, openTestQueue, tempDir, type TestQueue } from '../helpers/stores.js';
import { fakeTimers } from '../jobs/fake-timers.js';

const HOUR = 3_600_000;

function countTasks(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM tasks').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** A process that lives until killed, to stand for "a server running on this file". */
function liveProcess(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
}

describe('backups and restore', () => {
  let t: TestQueue;
  let dir: ReturnType<typeof tempDir>;
  let dbPath: string;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    t = await openTestQueue(sqliteBackend);
    dbPath = (t.db as unknown as { path: string }).path;
    dir = tempDir('athena-backups-');
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await t.cleanup();
    dir.cleanup();
  });

  async function createTasks(n: number, prefix = 'task'): Promise<void> {
    for (let i = 0; i < n; i++) await t.queue.create({ description: `${prefix} ${i}` });
  }

  it('snapshots a live database while writes go on, as one checked file', async () => {
    await createTasks(300);
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        await t.queue.create({ description: `during backup ${writes++}` });
        await new Promise((r) => setImmediate(r));
      }
    })();
    const out = join(dir.path, 'snap.db');
    const result = await backupDatabase(dbPath, out);
    writing = false;
    await writer;

    expect(result).toMatchObject({ path: out, integrity: 'ok' });
    expect(result.tasks).toBeGreaterThanOrEqual(300);
    expect(result.migrations[0]).toBe('001_init.sql');
    expect(countTasks(out)).toBe(result.tasks);
    expect(readdirSync(dir.path)).toEqual(['snap.db']); // no -wal/-shm/.partial left beside it
    expect((await verifyDatabaseFile(out)).tasks).toBe(result.tasks);
    expect(writes).toBeGreaterThan(0);
  });

  it('the backup loop writes a named, verified file each time and keeps the newest BACKUP_KEEP', async () => {
    await createTasks(5);
    writeFileSync(join(dir.path, 'notes.txt'), 'not a backup');
    writeFileSync(join(dir.path, 'other-20200101T000000000Z.db'), 'a backup of another database');
    const runner = createLoopRunner({ log: silentLogger, timers: fakeTimers(t.clock) });
    const stop = new AbortController();
    try {
      const written: string[] = [];
      for (let i = 0; i < 5; i++) {
        const loop = runner.start(backupLoop({ dbPath, dir: dir.path, everyMs: HOUR, keep: 3, now: t.queue.now }), stop.signal);
        await loop.runNow();
        expect(loop.state().lastError).toBeNull();
        written.push(backupFileName(dbPath, t.clock.now));
        await t.queue.create({ description: `after backup ${i}` });
        t.clock.advance(HOUR);
      }
      const kept = listBackups(dir.path, dbPath).map((b) => b.path);
      expect(kept).toEqual(written.slice(2).reverse().map((name) => join(dir.path, name)));
      expect(readdirSync(dir.path).sort()).toEqual([...written.slice(2), 'notes.txt', 'other-20200101T000000000Z.db'].sort());
      expect(kept.map(countTasks)).toEqual([9, 8, 7]);
    } finally {
      stop.abort();
    }
  });

  it('the backup loop is due one interval after the newest backup, so restarts neither skip nor repeat one', () => {
    expect(backupLoop({ dbPath, dir: dir.path, everyMs: 24 * HOUR, keep: 3, now: t.queue.now }).firstRunInMs).toBe(60_000);
    writeFileSync(join(dir.path, backupFileName(dbPath, t.clock.now - 2 * HOUR)), '');
    expect(backupLoop({ dbPath, dir: dir.path, everyMs: 24 * HOUR, keep: 3, now: t.queue.now }).firstRunInMs).toBe(22 * HOUR);
  });

  it('restore brings the backed-up data back and keeps the replaced database', async () => {
    await createTasks(4, 'before');
    const backup = join(dir.path, 'good.db');
    await backupDatabase(dbPath, backup);
    await createTasks(3, 'after');
    await t.db.close(); // the server is stopped

    const result = await restoreDatabase({ from: backup, dbPath, now: () => Date.UTC(2026, 0, 2, 3, 4, 5) });
    expect(result.restored).toMatchObject({ integrity: 'ok', tasks: 4 });
    expect(result.previousCopy).toBe(`${dbPath}.before-restore-20260102T030405Z`);
    expect(countTasks(dbPath)).toBe(4);
    expect(countTasks(result.previousCopy!)).toBe(7);
    expect(existsSync(`${dbPath}-wal`)).toBe(false);
    expect(existsSync(lockPathFor(dbPath))).toBe(false);

    // The restored file opens as a normal store.
    const reopened = await openTestQueueAt(dbPath);
    try {
      const page = await reopened.list({ status: ['pending'], limit: 10 });
      expect(page.tasks.map((task) => task.description).sort()).toEqual(['before 0', 'before 1', 'before 2', 'before 3']);
    } finally {
      await reopened.close();
    }
  });

  it('restore checks the backup first and leaves the database alone when it is not sound', async () => {
    await createTasks(2);
    await t.db.close();
    const garbage = join(dir.path, 'garbage.db');
    writeFileSync(garbage, 'this is not a database at all'.repeat(200));
    await expect(restoreDatabase({ from: garbage, dbPath })).rejects.toThrow(/refusing to restore/);
    const notAthena = join(dir.path, 'other.db');
    new Database(notAthena).exec('CREATE TABLE x (y)');
    await expect(restoreDatabase({ from: notAthena, dbPath })).rejects.toThrow(/not an Athena database/);
    await expect(restoreDatabase({ from: join(dir.path, 'missing.db'), dbPath })).rejects.toThrow(/no such backup file/);
    expect(countTasks(dbPath)).toBe(2);
    expect(readdirSync(dir.path).filter((n) => n.includes('before-restore'))).toEqual([]);
  });

  it('restore refuses while a live process holds the lock, and on a foreign host without --force', async () => {
    const backup = join(dir.path, 'b.db');
    await backupDatabase(dbPath, backup);
    await t.db.close();

    const server = liveProcess();
    children.push(server);
    writeFileSync(lockPathFor(dbPath), JSON.stringify({ pid: server.pid, hostname: hostname(), startedAt: Date.now(), purpose: 'serve', token: 'x' }));
    expect(inspectLock(dbPath).kind).toBe('held');
    await expect(restoreDatabase({ from: backup, dbPath })).rejects.toThrow(new RegExp(`in use by an Athena server \\(pid ${server.pid}`));
    expect(() => acquireDbLock(dbPath, 'serve', { takeForeign: true })).toThrow(DatabaseLockedError);

    writeFileSync(lockPathFor(dbPath), JSON.stringify({ pid: 1, hostname: 'another-container', startedAt: Date.now(), purpose: 'serve', token: 'y' }));
    await expect(restoreDatabase({ from: backup, dbPath })).rejects.toThrow(/cannot be checked from this host.*--force/);
    await expect(restoreDatabase({ from: backup, dbPath, force: true })).resolves.toMatchObject({ restored: { integrity: 'ok' } });
  });

  it('a lock left by a dead process is taken over, and released only by its owner', async () => {
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(lockPathFor(dbPath), JSON.stringify({ pid: gone.pid, hostname: hostname(), startedAt: Date.now(), purpose: 'serve', token: 'z' }));
    expect(inspectLock(dbPath).kind).toBe('stale');
    const lock = acquireDbLock(dbPath, 'serve', { takeForeign: false });
    expect(lock.replaced.kind).toBe('stale');
    expect(inspectLock(dbPath)).toEqual({ kind: 'stale', holder: expect.objectContaining({ pid: process.pid }) }); // our own pid: not a rival
    const later = acquireDbLock(dbPath, 'serve', { takeForeign: false });
    lock.release(); // no longer ours: left in place
    expect(existsSync(lockPathFor(dbPath))).toBe(true);
    later.release();
    expect(existsSync(lockPathFor(dbPath))).toBe(false);
  });
});

/** Opens a queue on an existing SQLite file (what `serve` does after a restore). */
async function openTestQueueAt(path: string) {
  const { SqliteDb } = await import('../../src/store/sqlite/driver.js');
  const { SqlStore } = await import('../../src/store/sql-store.js');
  const db = new SqliteDb(path);
  await db.migrate();
  const store = new SqlStore(db);
  return { list: store.listTasks.bind(store), close: () => db.close() };
}
