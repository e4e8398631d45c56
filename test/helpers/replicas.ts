// In-process "replicas" for cluster tests: several pools on one fresh PostgreSQL schema, each
// with its own queue, replica bus and optionally the cross-replica event feed.
import { createEventBus } from '../../src/core/events.js';
import { createQueue, type Queue } from '../../src/core/queue.js';
import type { TaskEvent } from '../../src/core/types.js';
import { createReplicaBus, type ReplicaBus } from '../../src/cluster/replica-bus.js';
import { startEventFeed, type EventFeed } from '../../src/cluster/event-feed.js';
import { silentLogger } from '../../src/logger.js';
import { openPostgres } from '../../src/store/open.js';
import type { PostgresDb } from '../../src/store/postgres/driver.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { createTestSchema, defaultQueueConfig } from './stores.js';

export type Replica = {
  db: PostgresDb;
  store: SqlStore;
  bus: ReplicaBus;
  queue: Queue;
  /** Every event this replica's bus emitted, in order. */
  events: TaskEvent[];
  feed: EventFeed | null;
  stop: AbortController;
};

export type ReplicaSet = { url: string; schema: string; replicas: Replica[]; close(): Promise<void> };

export async function openReplicas(count: number, options: { feed?: boolean; pollMs?: number; urlFor?: (index: number, schemaUrl: string) => string } = {}): Promise<ReplicaSet> {
  const schema = await createTestSchema();
  const replicas: Replica[] = [];
  for (let i = 0; i < count; i++) {
    const db = await openPostgres(options.urlFor?.(i, schema.url) ?? schema.url, { poolSize: 4, startupRetryMs: 0 });
    await db.migrate();
    const store = new SqlStore(db);
    const bus = createReplicaBus(createEventBus());
    const events: TaskEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const queue = createQueue({ store, bus, config: { ...defaultQueueConfig, wipLimit: 0 } });
    const stop = new AbortController();
    const feed = options.feed === false ? null : startEventFeed({ db, store, bus, signal: stop.signal, log: silentLogger, pollMs: options.pollMs ?? 60_000 });
    replicas.push({ db, store, bus, queue, events, feed, stop });
  }
  return {
    url: schema.url,
    schema: schema.schema,
    replicas,
    async close() {
      for (const r of replicas) r.stop.abort();
      await Promise.all(replicas.map((r) => r.feed?.stopped));
      await Promise.all(replicas.map((r) => r.db.close()));
      await schema.drop();
    },
  };
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns how long it took. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
