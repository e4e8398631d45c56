// The PostgreSQL driver: placeholders, numbers, startup retries, transactions, migrations, errors.
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidError, UnavailableError } from '../../src/errors.js';
import { openPostgres } from '../../src/store/open.js';
import type { PostgresDb } from '../../src/store/postgres/driver.js';
import { numberPlaceholders } from '../../src/store/postgres/placeholders.js';
import { loadMigrations } from '../../src/store/migrations.js';
import { SqlStore } from '../../src/store/sql-store.js';
import type { CreateOutcome } from '../../src/core/ports.js';
import { createQueue } from '../../src/core/queue.js';
import { createEventBus } from '../../src/core/events.js';
import { createTestSchema, defaultQueueConfig, TEST_DATABASE_URL, withSearchPath } from '../helpers/stores.js';

/** A create that went through (these tests create without dependencies). */
type Created = Extract<CreateOutcome, { ok: true }>;

describe('numberPlaceholders', () => {
  it('numbers ? in order and leaves literals, quoted names and comments alone', () => {
    expect(numberPlaceholders('SELECT * FROM t WHERE a = ? AND b IN (?, ?)')).toBe('SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)');
    expect(numberPlaceholders(`SELECT '?', 'it''s ?', "q?" FROM t WHERE x = ? -- why?\n AND y = ? /* ? */`)).toBe(
      `SELECT '?', 'it''s ?', "q?" FROM t WHERE x = $1 -- why?\n AND y = $2 /* ? */`,
    );
    expect(numberPlaceholders(`SELECT 1 WHERE d LIKE ? ESCAPE '\\' AND e = ?`)).toBe(`SELECT 1 WHERE d LIKE $1 ESCAPE '\\' AND e = $2`);
  });
});

describe('PostgreSQL driver', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function freshDb(): Promise<{ db: PostgresDb; url: string; schema: string }> {
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    const db = await openPostgres(schema.url, { poolSize: 4, startupRetryMs: 0 });
    cleanups.push(() => db.close());
    await db.migrate();
    return { db, url: schema.url, schema: schema.schema };
  }

  it('returns BIGINT ids, times and COUNT(*) as JS numbers', async () => {
    const { db } = await freshDb();
    const store = new SqlStore(db);
    const { task } = (await store.createTask(
      { description: 'x', priority: 'high', submittedBy: null, notes: null, project: null, labels: [], dependsOn: [], maxAttempts: 3, runAfter: 1_767_225_600_000, idempotencyKey: null },
      1_767_225_600_000,
    )) as Created;
    expect(task.id).toBe(1);
    expect(task.createdAt).toBe(1_767_225_600_000);
    const row = await db.get<{ n: unknown; max: unknown; created: unknown }>('SELECT COUNT(*) AS n, MAX(id) AS max, MAX(created_at) AS created FROM tasks');
    expect(row).toEqual({ n: 1, max: 1, created: 1_767_225_600_000 });
    expect((await store.stats()).byStatus.pending).toBe(1);
  });

  it('an unreachable server is retried at start, then the error names the host but not the password', async () => {
    const started = Date.now();
    const err = await openPostgres('postgres://athena:sekret@127.0.0.1:1/queue', { poolSize: 1, startupRetryMs: 1200 }).catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toContain('cannot connect to PostgreSQL at 127.0.0.1:1/queue');
    expect((err as Error).message).not.toContain('sekret');
    expect(took).toBeGreaterThanOrEqual(1100);
    expect(took).toBeLessThan(5000);
  });

  it('an error that waiting cannot fix (no such database) fails at once', async () => {
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = '/athena_no_such_database';
    const started = Date.now();
    const err = await openPostgres(url.toString(), { poolSize: 1, startupRetryMs: 10_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/cannot connect to PostgreSQL at 127\.0\.0\.1:5432\/athena_no_such_database: .*does not exist/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a transaction rolls back when its function throws', async () => {
    const { db } = await freshDb();
    await expect(
      db.tx(async (q) => {
        await q.run(`INSERT INTO cursors (name, position, updated_at) VALUES (?, ?, ?)`, ['c', 1, 1]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.get('SELECT * FROM cursors')).toBeUndefined();
  });

  it('a transaction that need not be durable commits without waiting for the disk, and only it', async () => {
    const { db } = await freshDb();
    const setting = (q: { get: typeof db.get }) => q.get<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`).then((r) => r?.s);
    expect(await db.tx(async (q) => (await q.run(`INSERT INTO cursors (name, position, updated_at) VALUES ('a', 1, 1)`), setting(q)), { durable: false })).toBe('off');
    expect(await db.tx((q) => setting(q))).toBe('on');
    expect(await setting(db)).toBe('on');
    expect(await db.get('SELECT name, position FROM cursors')).toEqual({ name: 'a', position: 1 });
  });

  it('a transaction asking for generic plans runs its statements on their one generic plan, and only it', async () => {
    const { db } = await freshDb();
    const mode = (q: { get: typeof db.get }) => q.get<{ s: string }>(`SELECT current_setting('plan_cache_mode') AS s`).then((r) => r?.s);
    expect(await db.tx((q) => mode(q), { genericPlans: true, durable: false })).toBe('force_generic_plan');
    expect(await db.tx((q) => mode(q))).toBe('auto');
    expect(await mode(db)).toBe('auto');
  });

  it('claims, completes and peeks are planned once per connection, not for each call (planning cost more than their run)', async () => {
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    // One connection, so the view below shows every prepared statement.
    const db = await openPostgres(schema.url, { poolSize: 1, startupRetryMs: 0 });
    cleanups.push(() => db.close());
    await db.migrate();
    const queue = createQueue({ store: new SqlStore(db), bus: createEventBus(), config: defaultQueueConfig });
    for (let i = 0; i < 40; i++) await queue.create({ description: `t${i}` });
    const shown = new Set<number>();
    for (let i = 0; i < 10; i++) shown.add((await queue.offerNext(`peeker-${i}`))!.id);
    expect(shown.size).toBe(10); // each held task passed over, as before
    // Agents at once (claims and completes batched) and one at a time (each on its own).
    const cycle = async (agent: string) => {
      const task = (await queue.claimNext({ instanceId: agent }))!;
      await queue.complete(task.id, { leaseToken: task.leaseToken });
    };
    for (let round = 0; round < 3; round++) await Promise.all(['a', 'b', 'c', 'd'].map(cycle));
    for (let i = 0; i < 8; i++) await cycle('alone');
    expect((await queue.stats()).byStatus.completed).toBe(20);
    const plans = await db.all<{ statement: string; generic_plans: number; custom_plans: number }>(
      `SELECT left(statement, 60) AS statement, generic_plans, custom_plans FROM pg_prepared_statements
        WHERE statement LIKE 'WITH candidate AS%' OR statement LIKE 'WITH agents AS%' OR statement LIKE 'UPDATE tasks SET status%'`,
    );
    expect(plans.length).toBeGreaterThanOrEqual(4); // the peek, a claim batch, a claim alone, completes
    // Left to choose, PostgreSQL plans the first five calls of each for their values (and, with a few
    // thousand tasks queued, went on planning every call so: its estimate of the generic plan, not
    // knowing `now`, came out dearer).
    for (const plan of plans) expect(plan, plan.statement).toMatchObject({ custom_plans: 0 });
    expect(plans.find((p) => p.statement.startsWith('WITH candidate'))).toMatchObject({ generic_plans: 10 });
  });

  it('transactions run without JIT compilation (a claim batch over many pending tasks would compile for 100 ms), reads outside keep the server setting', async () => {
    const { db } = await freshDb();
    const jit = (q: { get: typeof db.get }) => q.get<{ s: string }>(`SELECT current_setting('jit') AS s`).then((r) => r?.s);
    const server = await jit(db);
    expect(await db.tx((q) => jit(q))).toBe('off');
    expect(await db.tx((q) => jit(q), { durable: false })).toBe('off');
    expect(await jit(db)).toBe(server);
  });

  it('a deadlock between two transactions is retried, and both commit', async () => {
    const { db } = await freshDb();
    await db.run(`INSERT INTO cursors (name, position, updated_at) VALUES ('a', 0, 0), ('b', 0, 0)`);
    let attempts = 0;
    let arrived = 0;
    let release!: () => void;
    const bothHoldOne = new Promise<void>((resolve) => (release = resolve));
    const crossing = (first: string, second: string) =>
      db.tx(async (q) => {
        attempts++;
        await q.run('UPDATE cursors SET position = position + 1 WHERE name = ?', [first]);
        if (++arrived === 2) release();
        await bothHoldOne; // each holds one row and now wants the other's
        await q.run('UPDATE cursors SET position = position + 1 WHERE name = ?', [second]);
      });
    await Promise.all([crossing('a', 'b'), crossing('b', 'a')]);
    expect(attempts).toBe(3); // the deadlock victim ran once more
    expect(await db.all('SELECT name, position FROM cursors ORDER BY name')).toEqual([
      { name: 'a', position: 2 },
      { name: 'b', position: 2 },
    ]);
  });

  it('replicas migrating one schema at the same time apply each migration once', async () => {
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    const dbs = await Promise.all([1, 2, 3, 4].map(() => openPostgres(schema.url, { poolSize: 1, startupRetryMs: 0 })));
    cleanups.push(async () => void (await Promise.all(dbs.map((d) => d.close()))));
    const applied = await Promise.all(dbs.map((d) => d.migrate()));
    const all = loadMigrations('postgres').map((m) => m.name);
    expect(all.slice(0, 2)).toEqual(['001_init.sql', '002_lean_indexes.sql']);
    expect(applied.filter((a) => a.length > 0)).toEqual([all]);
    expect((await dbs[0]!.all<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).map((r) => r.name)).toEqual(all);
    expect(await dbs[1]!.migrate()).toEqual([]);
  });

  it('a search_path naming no existing schema is refused with a clear message', async () => {
    const db = await openPostgres(withSearchPath(TEST_DATABASE_URL, 'athena_missing_schema'), { poolSize: 1, startupRetryMs: 0 });
    cleanups.push(() => db.close());
    await expect(db.migrate()).rejects.toThrow(/no schema to create Athena's tables in: none of search_path \(athena_missing_schema\) exists/);
  });

  it('text PostgreSQL cannot store (NUL) is an InvalidError, not a crash', async () => {
    const { db } = await freshDb();
    const err = await db.run('INSERT INTO cursors (name, position, updated_at) VALUES (?, 1, 1)', ['a\u0000b']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidError);
    expect((err as InvalidError).code).toBe('INVALID');
  });
});

describe('prepared statements', () => {
  it('a schema change under running replicas (a rolling upgrade) does not break their transitions', async () => {
    const schema = await createTestSchema();
    try {
      const db = await openPostgres(schema.url, { poolSize: 3, startupRetryMs: 0 });
      try {
        await db.migrate();
        const store = new SqlStore(db);
        const create = async (n: number) =>
          (await store.createTask({ description: `t${n}`, priority: 'medium', submittedBy: null, notes: null, project: null, labels: [], dependsOn: [], maxAttempts: 3, runAfter: 0, idempotencyKey: null }, 1)) as Created;
        // Prepare the statements on every pooled connection.
        await Promise.all([1, 2, 3, 4, 5, 6].map(create));
        const admin = await openPostgres(schema.url, { poolSize: 1, startupRetryMs: 0 });
        await admin.run('ALTER TABLE tasks ADD COLUMN added_by_a_newer_version TEXT');
        await admin.close();
        // RETURNING * now has another column: the prepared plans are stale on all three connections.
        const after = await Promise.all([7, 8, 9, 10].map(create));
        expect(after.map((r) => r.task.description)).toEqual(['t7', 't8', 't9', 't10']);
      } finally {
        await db.close();
      }
    } finally {
      await schema.drop();
    }
  });
});
