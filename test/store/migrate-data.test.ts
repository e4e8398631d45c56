// `athena migrate-data`: a whole SQLite queue lands in PostgreSQL (and back) with ids, logs,
// leases, labels, dependencies and consumer cursors intact; a non-empty target is refused.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { createQueue } from '../../src/core/queue.js';
import { migrateData, parseStoreSpec } from '../../src/store/migrate-data.js';
import { openPostgres } from '../../src/store/open.js';
import { SqliteDb } from '../../src/store/sqlite/driver.js';
import { SqlStore } from '../../src/store/sql-store.js';
import type { Store } from '../../src/core/ports.js';
import type { Db } from '../../src/store/db.js';
import { ATHENA_BIN } from '../helpers/server-process.js';
import { createTestSchema, defaultQueueConfig, tempDir } from '../helpers/stores.js';

const run = promisify(execFile);
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A SQLite queue with a bit of everything; more label rows than one copy page holds. */
async function sampleSqliteQueue(tasks: number): Promise<string> {
  const dir = tempDir();
  cleanups.push(() => dir.cleanup());
  const path = join(dir.path, 'athena.db');
  const db = new SqliteDb(path);
  await db.migrate();
  const store = new SqlStore(db);
  let clock = Date.UTC(2026, 0, 1);
  const queue = createQueue({ store, bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit: 0 }, clock: () => clock });
  const first = await queue.create({ description: 'root', labels: ['gpu', 'linux'], project: 'p' });
  for (let i = 1; i < tasks; i++) {
    await queue.create({ description: `task ${i} 100%`, labels: ['linux', `l${i % 7}`], priority: i % 3 === 0 ? 'high' : 'medium', idempotencyKey: `k${i}` });
  }
  const dependant = await queue.create({ description: 'after root', dependsOn: [first.task.id] });
  const claimed = (await queue.claimNext({ instanceId: 'agent-1', instanceName: 'Agent One', labels: '*' }))!;
  clock += 1000;
  await queue.complete(claimed.id, { leaseToken: claimed.leaseToken, result: { ok: true, files: ['a.ts'] } });
  const held = (await queue.claimNext({ instanceId: 'agent-2', labels: '*' }))!;
  await queue.fail(held.id, { leaseToken: held.leaseToken, error: 'broke' });
  await queue.claimNext({ instanceId: 'agent-3', labels: '*' }); // stays in progress with its lease
  await store.setCursor('discord-outbox', 7, clock);
  await db.run(`INSERT INTO api_keys (name, role, instance_id, key_hash, prefix, created_at) VALUES ('ci agent', 'agent', 'ci-1', 'hash-of-the-key', 'ath_ab12', ?)`, [clock]);
  expect(dependant.task.dependsOn).toEqual([first.task.id]);
  // A schedule with a run recorded (missed after downtime, so no task is added).
  const schedule = await queue.addSchedule({ cron: '*/1 * * * *', timeZone: 'Europe/Berlin', template: { description: 'nightly', labels: ['deps'] } });
  clock += 5 * 60_000;
  expect(await queue.tickSchedules(60_000)).toMatchObject({ missed: 1 });
  expect(await queue.scheduleRuns(schedule.id)).toHaveLength(1);
  await db.close();
  return path;
}

async function snapshot(db: Db) {
  const store: Store = new SqlStore(db);
  const data = await store.exportAll();
  return {
    tasks: data.tasks,
    logs: data.logs,
    instances: data.instances,
    events: await store.eventsSince(0, 100_000),
    cursor: await store.getCursor('discord-outbox'),
    keys: await db.all('SELECT * FROM api_keys ORDER BY id'),
    schedules: await Promise.all((await store.listSchedules()).map(async (s) => ({ ...s, runs: await store.scheduleRuns(s.id, 100) }))),
  };
}

describe('migrate-data', () => {
  it('copies a SQLite queue into an empty PostgreSQL schema exactly, and back again', async () => {
    const sqlitePath = await sampleSqliteQueue(1200);
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    const lines: string[] = [];
    const copied = await migrateData({ from: `sqlite:${sqlitePath}`, to: schema.url, write: (l) => lines.push(l) });
    expect(copied.tasks).toBe(1201);
    expect(copied.task_logs).toBeGreaterThan(1200);
    expect(lines.join('')).toMatch(/task_logs +\d+ \/ \d+/);
    expect(lines.join('')).toContain('-> postgres://127.0.0.1:5432/test');

    const source = new SqliteDb(sqlitePath);
    cleanups.push(() => source.close());
    const pg = await openPostgres(schema.url, { poolSize: 2, startupRetryMs: 0 });
    cleanups.push(() => pg.close());
    const [before, after] = [await snapshot(source), await snapshot(pg)];
    expect(after.tasks).toEqual(before.tasks);
    expect(after.logs).toEqual(before.logs);
    expect(after.events).toEqual(before.events);
    expect(after.instances).toEqual(before.instances);
    expect(after.cursor).toBe(7);
    expect(after.keys).toEqual(before.keys);
    expect(after.keys).toHaveLength(1);
    expect(after.schedules).toEqual(before.schedules);
    expect(after.schedules[0]!.runs).toEqual([expect.objectContaining({ outcome: 'missed', covers: 5 })]);
    expect(after.tasks.find((t) => t.status === 'in_progress')?.leaseToken).toBeTruthy();

    // The sequences moved past the copied ids: new rows do not collide.
    const queue = createQueue({ store: new SqlStore(pg), bus: createEventBus(), config: defaultQueueConfig });
    const fresh = await queue.create({ description: 'first on postgres' });
    expect(fresh.task.id).toBe(1202);
    expect((await queue.getWithLogs(fresh.task.id)).logs[0]!.id).toBeGreaterThan(before.logs[before.logs.length - 1]!.id);
    expect((await queue.list({ search: '100%', limit: 5 })).tasks).toHaveLength(5);

    // And back into a new SQLite file.
    const back = tempDir();
    cleanups.push(() => back.cleanup());
    await migrateData({ from: schema.url, to: `sqlite:${join(back.path, 'copy.db')}`, write: () => {} });
    const copy = new SqliteDb(join(back.path, 'copy.db'));
    cleanups.push(() => copy.close());
    const roundTrip = await snapshot(copy);
    expect(roundTrip.tasks).toEqual([...before.tasks, ...(await new SqlStore(pg).exportAll()).tasks.filter((t) => t.id === 1202)]);
    expect(roundTrip.cursor).toBe(7);
    expect(roundTrip.schedules).toEqual(before.schedules);
  });

  it('refuses a target that already holds a queue, and leaves it untouched', async () => {
    const sqlitePath = await sampleSqliteQueue(3);
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    await migrateData({ from: `sqlite:${sqlitePath}`, to: schema.url, write: () => {} });
    await expect(migrateData({ from: `sqlite:${sqlitePath}`, to: schema.url, write: () => {} })).rejects.toThrow(
      /target already holds 4 row\(s\) in tasks; migrate-data copies into an empty queue only/,
    );
    const pg = await openPostgres(schema.url, { poolSize: 1, startupRetryMs: 0 });
    cleanups.push(() => pg.close());
    expect(await pg.get('SELECT COUNT(*) AS n, MAX(id) AS max FROM tasks')).toEqual({ n: 4, max: 4 });
  });

  it('reads store specs and refuses what it cannot open', async () => {
    expect(parseStoreSpec('sqlite:./data/athena.db', 'source')).toMatchObject({ kind: 'sqlite' });
    expect(parseStoreSpec('postgresql://u@h/db', 'target')).toEqual({ kind: 'postgres', url: 'postgresql://u@h/db' });
    expect(() => parseStoreSpec('mysql://x', 'target')).toThrow(/neither sqlite:<path> nor postgres/);
    await expect(migrateData({ from: 'sqlite:/nonexistent/athena.db', to: 'sqlite:/tmp/x.db', write: () => {} })).rejects.toThrow(/does not exist/);
  });

  it('runs as `athena migrate-data` with progress on stderr', async () => {
    const sqlitePath = await sampleSqliteQueue(20);
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    const { stderr } = await run(process.execPath, [ATHENA_BIN, 'migrate-data', '--from', `sqlite:${sqlitePath}`, '--to', schema.url], { timeout: 30_000 });
    expect(stderr).toMatch(/tasks +21 \/ 21/);
    expect(stderr).toMatch(/Done in [\d.]+ s: 21 task\(s\)/);
    const failed = await run(process.execPath, [ATHENA_BIN, 'migrate-data', '--from', `sqlite:${sqlitePath}`, '--to', schema.url]).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toMatch(/^athena: the target already holds 21 row\(s\) in tasks/m);
  });
});
