// Storage faults on SQLite: a full disk (a real 3 MB tmpfs under a running server, and SQLite's own page
// limit in-process) and a read-only database answer 503 UNAVAILABLE saying what is wrong; nothing is
// corrupted, nothing acknowledged is lost, and writes resume once the fault is fixed.
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClient } from '../../bench/http-client.js';
import { sqliteBackend, tempDir } from '../helpers/stores.js';
import type { SqliteDb } from '../../src/store/sqlite/driver.js';
import { ADMIN_KEY, openKeyedApp, type KeyedApp } from './helpers/keyed-app.js';
import { serverHome } from './helpers/servers.js';

/** Why a small tmpfs cannot be mounted here (the test that needs one says so when it skips), or null. */
function whyNoTmpfs(): string | null {
  if (process.platform !== 'linux') return `tmpfs needs Linux, this is ${process.platform}`;
  const uid = process.getuid?.();
  if (uid !== 0) return `mount needs root, this runs as uid ${uid}`;
  const probe = tempDir('athena-mount-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe.path], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('umount', [probe.path], { stdio: 'ignore' });
    return null;
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    return `mount -t tmpfs failed (a container without CAP_SYS_ADMIN?): ${stderr || (err as Error).message}`;
  } finally {
    probe.cleanup();
  }
}

/** Writes `path` until the disk is full (ENOSPC), then shrinks it so `leave` bytes are free again. */
function fillLeaving(path: string, leave: number): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let size = 0;
  try {
    for (;;) {
      try {
        size += writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    ftruncateSync(fd, Math.max(0, size - leave));
  } finally {
    closeSync(fd);
  }
}

describe('a full disk under a running server (tmpfs)', () => {
  const noTmpfs = whyNoTmpfs();
  if (noTmpfs) console.warn(`[storage tmpfs] skipped: ${noTmpfs}`);
  const dir = tempDir('athena-tmpfs-');
  const mountPoint = join(dir.path, 'disk');
  afterAll(() => {
    try {
      execFileSync('umount', [mountPoint], { stdio: 'ignore' });
    } catch {
      // not mounted
    }
    dir.cleanup();
  });

  // Needs root (mount); CI runs as root. The in-process tests below cover the same paths without it.
  const title = 'writes answer 503 while the disk is full, reads keep working, writes resume when space is freed';
  it.skipIf(noTmpfs !== null)(noTmpfs ? `${title} (skipped: ${noTmpfs})` : title, async () => {
    mkdirSync(mountPoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint]);
    const home = await serverHome('sqlite', { dataDir: mountPoint });
    const server = await home.start();
    const client = createClient(server.url, server.key, 16);
    const acknowledged = new Set<number>();
    const create = async (description: string) => {
      const res = await client.call('POST', '/api/tasks', { description });
      if (res.status === 201) acknowledged.add(res.json.task_id);
      return res;
    };
    try {
      for (let i = 0; i < 20; i++) expect((await create(`before ${i}`)).status).toBe(201);
      // Fill the disk, leaving less room than the next writes need. The server may write to the same
      // disk meanwhile (WAL, checkpoints), so a size read beforehand can be stale: write until the
      // disk refuses, then give back a known amount.
      fillLeaving(join(mountPoint, 'filler'), 64 * 1024);
      const statuses = new Map<number, number>();
      let full: { status: number; json: any } | null = null;
      for (let i = 0; i < 200; i++) {
        const res = await create(`${'x'.repeat(4000)} ${i}`);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status !== 201) full ??= res;
      }
      expect([...statuses.keys()].every((s) => s === 201 || s === 503), JSON.stringify([...statuses])).toBe(true);
      expect(full?.status).toBe(503);
      expect(full?.json.code).toBe('UNAVAILABLE');
      expect(full?.json.error).toMatch(/disk holding the database is full/);
      // Agents keep working on what exists where that needs no new space; reads are fine.
      expect((await client.call('GET', '/api/tasks?status=all&limit=5')).status).toBe(200);
      expect((await client.call('GET', '/api/stats')).json.total).toBe(acknowledged.size);

      rmSync(join(mountPoint, 'filler'));
      for (let i = 0; i < 20; i++) expect((await create(`after ${i}`)).status).toBe(201);
      const claimed = await client.call('POST', '/api/tasks/claim-next', { instance_id: 'after-the-fault' });
      expect((await client.call('POST', `/api/tasks/${claimed.json.task.id}/complete`, { lease_token: claimed.json.task.lease_token })).status).toBe(200);
    } finally {
      client.close();
      await server.stop();
    }
    expect(await home.integrity()).toBe('ok');
    const ids = new Set((await home.query<{ id: number }>('SELECT id FROM tasks')).map((r) => r.id));
    expect([...acknowledged].filter((id) => !ids.has(id))).toEqual([]);
    expect(ids.size).toBe(acknowledged.size);
    console.log(`[storage tmpfs] ${acknowledged.size} acknowledged creates, all present; integrity ok`);
  });
});

describe('storage faults in-process (SQLite page limit and read-only)', () => {
  let t: KeyedApp;
  let raw: SqliteDb['raw'];
  beforeEach(async () => {
    t = await openKeyedApp(sqliteBackend, { queue: { wipLimit: 0 } });
    raw = (t.db as SqliteDb).raw;
  });
  afterEach(async () => t.close());
  const call = (method: string, url: string, body?: unknown) => t.call(ADMIN_KEY, method, url, body);

  it('a full database: concurrent creates, claims and completions get 503 and roll back; all resume after', async () => {
    for (let i = 0; i < 10; i++) await call('POST', '/api/tasks', { description: `seed ${i}` });
    const held = (await call('POST', '/api/tasks/claim-next', { instance_id: 'holder' })).json.task;
    const before = JSON.stringify({ ...(await t.queue.exportAll()), exportedAt: null });

    // No more pages than the file has now: any write that needs a new page fails with SQLITE_FULL.
    const pages = Number(raw.pragma('page_count', { simple: true }));
    raw.pragma(`max_page_count = ${pages}`);
    const attempts = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => call('POST', '/api/tasks', { description: `${'y'.repeat(8000)} ${i}` })),
      ...Array.from({ length: 5 }, (_, i) => call('POST', '/api/tasks/claim-next', { instance_id: `agent-${i}` })),
      call('POST', `/api/tasks/${held.id}/complete`, { lease_token: held.lease_token, notes: 'x'.repeat(20_000) }),
    ]);
    const failed = attempts.filter((r) => r.status === 503);
    expect(failed.length).toBeGreaterThan(0);
    for (const r of attempts) expect([200, 201, 503]).toContain(r.status);
    for (const r of failed) {
      expect(r.json.code).toBe('UNAVAILABLE');
      expect(r.json.error).toMatch(/^Database unavailable: the disk holding the database is full \(SQLITE_FULL/);
    }
    // What was acknowledged is there; what was refused left nothing behind.
    const created = attempts.filter((r) => r.status === 201).map((r) => r.json.task_id);
    const claims = attempts.filter((r) => r.status === 200 && r.json.task).map((r) => r.json.task.id);
    const completed = attempts.at(-1)!.status === 200;
    const stats = await t.queue.stats();
    expect(stats.total).toBe(10 + created.length);
    expect(stats.byStatus.in_progress).toBe(1 + claims.length - (completed ? 1 : 0));
    expect((await t.queue.get(held.id)).status).toBe(completed ? 'completed' : 'in_progress');
    if (created.length + claims.length === 0 && !completed) {
      expect(JSON.stringify({ ...(await t.queue.exportAll()), exportedAt: null })).toBe(before);
    }
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');

    raw.pragma('max_page_count = 1073741823');
    expect((await call('POST', '/api/tasks', { description: 'z'.repeat(8000) })).status).toBe(201);
    if (!completed) expect((await call('POST', `/api/tasks/${held.id}/complete`, { lease_token: held.lease_token, notes: 'x'.repeat(20_000) })).status).toBe(200);
    expect((await t.queue.get(held.id)).status).toBe('completed');
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('a read-only database: writes get 503 naming the cause, reads keep working, writes resume after', async () => {
    await call('POST', '/api/tasks', { description: 'before' });
    raw.pragma('query_only = ON');
    const refused = await call('POST', '/api/tasks', { description: 'during' });
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ code: 'UNAVAILABLE' });
    expect(refused.json.error).toMatch(/read-only/);
    expect((await call('POST', '/api/tasks/claim-next', { instance_id: 'a' })).status).toBe(503);
    expect((await call('GET', '/api/tasks')).json.tasks).toHaveLength(1);
    expect((await call('GET', '/api/stats')).status).toBe(200);
    raw.pragma('query_only = OFF');
    expect((await call('POST', '/api/tasks', { description: 'after' })).status).toBe(201);
    expect((await t.queue.stats()).total).toBe(2);
  });
});
