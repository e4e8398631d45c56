// The one place the benchmarks reach into Athena's source: an in-process queue on SQLite or
// PostgreSQL built the way `athena serve` builds it (same config schema and defaults), and the SQL
// that seeds many pending tasks in one statement. When src/ moves, this is the file to fix.
import { loadConfig } from '../src/config.js';
import { createEventBus } from '../src/core/events.js';
import { createQueue, type Queue } from '../src/core/queue.js';
import { openStore } from '../src/store/open.js';
import type { Db, Queryable, TxOptions } from '../src/store/db.js';
import { SqlStore } from '../src/store/sql-store.js';

export type { Queue };

export type AthenaCore = {
  queue: Queue;
  backend: 'sqlite' | 'postgres';
  /** Inserts `count` pending tasks described `bench task <n>` (n = 1…count) in one statement, with `labels` (none by default). */
  seed(count: number, labels?: readonly string[]): Promise<void>;
  /** How many tasks the store holds as completed. */
  countCompleted(): Promise<number>;
  /** Bytes the task log's events hold (their payloads, the tasks as each change left them). */
  logBytes(): Promise<number>;
  close(): Promise<void>;
};

export type AthenaStoreTarget = { sqlitePath: string } | { databaseUrl: string };

/**
 * A queue on a fresh or existing store, migrated, with the server's defaults; `env` overrides
 * them with the server's own variable names (e.g. `{ PG_POOL_SIZE: '20' }`).
 */
export async function openAthenaCore(target: AthenaStoreTarget, env: Record<string, string> = {}, options: OpenOptions = {}): Promise<AthenaCore> {
  const config = loadConfig({
    ...('sqlitePath' in target ? { DB_PATH: target.sqlitePath } : { DATABASE_URL: target.databaseUrl }),
    ...env,
  });
  const opened = await openStore(config);
  const db = opened.db;
  const store = options.onStatement || options.onRoundTrip ? new SqlStore(watched(db, options)) : opened.store;
  const queue = createQueue({
    store,
    bus: createEventBus(),
    config: {
      leaseMs: config.LEASE_SECONDS * 1000,
      maxAttempts: config.MAX_ATTEMPTS,
      retryBaseMs: config.RETRY_BASE_SECONDS * 1000,
      wipLimit: config.WIP_LIMIT,
    },
  });
  return {
    queue,
    backend: db.dialect.name,
    async seed(count, labels = []) {
      await db.run(seedTasksSql(count, Date.now()));
      if (labels.length > 0) await db.run(`UPDATE tasks SET labels = ? WHERE status = 'pending' AND labels = '[]'`, [JSON.stringify([...labels].sort())]);
      if (db.dialect.statistics) await db.run(db.dialect.statistics.refresh);
    },
    async countCompleted() {
      const row = await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM tasks WHERE status = 'completed'`);
      return Number(row?.n ?? 0);
    },
    async logBytes() {
      const row = await db.get<{ n: number | null }>('SELECT SUM(LENGTH(payload)) AS n FROM task_logs');
      return Number(row?.n ?? 0);
    },
    close: () => db.close(),
  };
}

export type OpenOptions = {
  /** Called after every statement the store runs (transactions' BEGIN and COMMIT excepted), with its time. */
  onStatement?: (sql: string, ms: number) => void;
  /** Called at the start of every transaction (a body run again after a retry counts again). */
  onTransaction?: () => void;
  /**
   * Called for every time the store waits for the database: a statement sent while none of its
   * transaction is on its way (one sent behind another travels with it: pipelined), and each COMMIT.
   * A transaction's BEGIN travels with its first statement.
   */
  onRoundTrip?: () => void;
};

/** The database as the store sees it, every statement reported to `onStatement`. */
function watched(db: Db, options: OpenOptions): Db {
  const { onStatement, onTransaction, onRoundTrip } = options;
  const wrap = <Q extends Queryable>(q: Q, inTx: { inFlight: number } | null): Q =>
    new Proxy(q, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === 'all' || prop === 'get' || prop === 'run' || prop === 'insert') {
          return async (sql: string, params?: readonly unknown[]) => {
            const started = performance.now();
            if (!inTx || inTx.inFlight === 0) onRoundTrip?.();
            if (inTx) inTx.inFlight++;
            try {
              return await (value as (sql: string, params?: readonly unknown[]) => Promise<unknown>).call(target, sql, params);
            } finally {
              if (inTx) inTx.inFlight--;
              onStatement?.(sql, performance.now() - started);
            }
          };
        }
        if (prop === 'tx') {
          return <T>(fn: (q: Queryable) => Promise<T>, txOptions?: TxOptions) =>
            db.tx(async (inner) => {
              onTransaction?.();
              const state = { inFlight: 0 };
              const result = await fn(wrap(inner, state));
              if (state.inFlight === 0) onRoundTrip?.(); // its COMMIT, unless it travels behind a statement
              return result;
            }, txOptions);
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return wrap(db, null);
}

/**
 * One INSERT of `count` pending medium-priority tasks into `table` (the rows a create writes, minus
 * its audit row), valid on both backends. Only numbers are spliced in.
 */
export function seedTasksSql(count: number, now: number, table = 'tasks'): string {
  const n = Math.trunc(count);
  const t = Math.trunc(now);
  return `INSERT INTO ${table} (description, status, priority, priority_rank, created_at, updated_at, labels, depends_on, max_attempts, run_after)
    WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < ${n})
    SELECT 'bench task ' || g, 'pending', 'medium', 1, ${t}, ${t}, '[]', '[]', 3, 0 FROM s`;
}

/** The n of a seeded task's description (`bench task <n>`). */
export function seededIndex(description: string): number {
  return Number(description.slice(description.lastIndexOf(' ') + 1));
}
