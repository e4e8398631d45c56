// Fresh stores for tests: a temp SQLite file per call (and a fresh Postgres schema when that backend exists).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventBus, type EventBus } from '../../src/core/events.js';
import { createQueue, type Queue, type QueueConfig } from '../../src/core/queue.js';
import { SqliteDb } from '../../src/store/sqlite/driver.js';
import { SqlStore } from '../../src/store/sql-store.js';
import type { Db } from '../../src/store/db.js';
import type { Store } from '../../src/store/store.js';

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

/** Backends every store/core/API test runs against. */
export const backends: TestBackend[] = [sqliteBackend];

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
