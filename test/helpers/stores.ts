// Fresh stores for tests: a temp SQLite file per call, or a fresh PostgreSQL schema dropped in cleanup.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createEventBus, type EventBus } from '../../src/core/events.js';
import { createQueue, type Queue, type QueueConfig } from '../../src/core/queue.js';
import { SqliteDb } from '../../src/store/sqlite/driver.js';
import { openPostgres } from '../../src/store/open.js';
import { SqlStore } from '../../src/store/sql-store.js';
import type { Db } from '../../src/store/db.js';
import type { Store } from '../../src/core/ports.js';

export type TestBackend = { name: 'sqlite' | 'postgres'; open(): Promise<{ db: Db; store: Store; cleanup(): Promise<void> }> };

export function tempDir(prefix = 'athena-test-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export const sqliteBackend: TestBackend = {
  name: 'sqlite',
  async open() {
    const dir = tempDir();
    const db = new SqliteDb(join(dir.path, 'athena.db'));
    await db.migrate();
    return {
      db,
      store: new SqlStore(db),
      async cleanup() {
        await db.close();
        dir.cleanup();
      },
    };
  },
};

/** The PostgreSQL the tests use (CI starts it in .ci/run). Without it the Postgres tests fail, never skip. */
export const TEST_DATABASE_URL = process.env.ATHENA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The same URL with every connection's search_path set to `schema`. */
export function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `The PostgreSQL tests need a server at ${TEST_DATABASE_URL} (set ATHENA_TEST_DATABASE_URL to use another): ${(err as Error).message}`,
    );
  }
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const SCHEMA_PREFIX = 'athena_test_';
/** Schemas of runs that died before their cleanup are dropped once they are this old. */
const STALE_SCHEMA_MS = 6 * 60 * 60 * 1000;
let staleDropped = false;

async function dropStaleSchemas(): Promise<void> {
  staleDropped = true;
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE '${SCHEMA_PREFIX}%'`);
    for (const { nspname } of rows) {
      const created = parseInt(nspname.slice(SCHEMA_PREFIX.length).split('_')[0] ?? '', 36);
      if (Number.isFinite(created) && created > 1e12 && Date.now() - created > STALE_SCHEMA_MS) {
        await client.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`).catch(() => {});
      }
    }
  } finally {
    await client.end();
  }
}

/** A new empty schema on the test database; `url` points every connection at it. */
export async function createTestSchema(): Promise<{ schema: string; url: string; drop(): Promise<void> }> {
  // The name carries its creation time, so a later run can tell a leftover from a schema in use.
  const schema = `${SCHEMA_PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE SCHEMA ${schema}`);
  if (!staleDropped) await dropStaleSchemas();
  return { schema, url: withSearchPath(TEST_DATABASE_URL, schema), drop: () => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) };
}

export const postgresBackend: TestBackend = {
  name: 'postgres',
  async open() {
    const schema = await createTestSchema();
    const db = await openPostgres(schema.url, { poolSize: 5, startupRetryMs: 0 });
    await db.migrate();
    return {
      db,
      store: new SqlStore(db),
      async cleanup() {
        await db.close();
        await schema.drop();
      },
    };
  },
};

/** Backends every store/core/API test runs against. */
export const backends: TestBackend[] = [sqliteBackend, postgresBackend];

export const defaultQueueConfig: QueueConfig = { leaseMs: 60_000, maxAttempts: 3, retryBaseMs: 1000, wipLimit: 1 };

export type TestClock = { now: number; advance(ms: number): void; fn: () => number };

export function testClock(start = Date.UTC(2026, 0, 1)): TestClock {
  const clock = {
    now: start,
    advance(ms: number) {
      clock.now += ms;
    },
    fn: () => clock.now,
  };
  return clock;
}

export type TestQueue = { queue: Queue; bus: EventBus; store: Store; db: Db; clock: TestClock; cleanup(): Promise<void> };

export async function openTestQueue(backend: TestBackend, config: Partial<QueueConfig> = {}, options: { clock?: TestClock; random?: () => number } = {}): Promise<TestQueue> {
  const opened = await backend.open();
  const bus = createEventBus((err) => {
    throw err;
  });
  const clock = options.clock ?? testClock();
  const queue = createQueue({ store: opened.store, bus, config: { ...defaultQueueConfig, ...config }, clock: clock.fn, random: options.random ?? (() => 0.5) });
  return { queue, bus, store: opened.store, db: opened.db, clock, cleanup: opened.cleanup };
}

/** A database that can be opened again on the same file or schema, as a restarted server would. */
export type ReopenableDb = { db: Db; reopen(): Promise<Db>; cleanup(): Promise<void> };

/** Opens a fresh database of this backend (a PostgreSQL pool of `poolSize`) that a test can reopen. */
export async function openReopenable(backend: 'sqlite' | 'postgres', poolSize = 5): Promise<ReopenableDb> {
  const dbs: Db[] = [];
  const track = async (db: Db) => {
    await db.migrate();
    dbs.push(db);
    return db;
  };
  const closeAll = async () => {
    for (const db of dbs) await db.close().catch(() => {});
  };
  if (backend === 'sqlite') {
    const dir = tempDir();
    const open = () => track(new SqliteDb(join(dir.path, 'athena.db')));
    return { db: await open(), reopen: open, async cleanup() { await closeAll(); dir.cleanup(); } };
  }
  const schema = await createTestSchema();
  const open = async () => track(await openPostgres(schema.url, { poolSize, startupRetryMs: 0 }));
  return { db: await open(), reopen: open, async cleanup() { await closeAll(); await schema.drop(); } };
}
