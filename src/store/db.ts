// The small SQL driver contract both backends implement; SQL is written once with `?` placeholders.
import type pg from 'pg';
import type { StampedTable } from './change-stamps.js';

export type Row = Record<string, unknown>;

export interface Queryable {
  all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Runs a statement and returns the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs an INSERT of one row into a table keyed by `id` and returns the new row's id. */
  insert(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** Backend differences, kept as data so the SQL store never branches on the backend's name. */
export type Dialect = {
  name: 'sqlite' | 'postgres';
  /** Appended to the sub-select that picks the next task (row locking on Postgres). */
  claimLock: string;
  /** Locks the row read before an update, so the bookkeeping read matches what is updated. */
  rowLock: string;
  /**
   * Statement taking `count` locks named by its parameters, in their order, until the transaction
   * ends, so transactions that must see each other's writes before deciding (one instance's claims
   * against its WIP limit, writes to the dependency graph) run one after another. Taken in a
   * statement of its own, before the reads it protects: a READ COMMITTED statement sees what
   * committed before it began. Null where write transactions already run one at a time (SQLite's
   * single writer).
   */
  namedLock: ((count: number) => string) | null;
  /** Statement locking a whole table against writers until the transaction ends; null where not needed. */
  tableLock: ((table: string) => string) | null;
  /** Writes (INSERT/DELETE … RETURNING) may sit in a WITH clause, so a read and its writes are one statement (one round trip). */
  writableCte: boolean;
  /**
   * An expression (one parameter: a stamp) true when the table's stamp (change-stamps.ts) is that
   * one, which otherwise fails its statement, and with it the transaction, which tx runs again: for
   * a statement sent on the strength of rows the process keeps, with the COMMIT right behind it, so
   * no answer can say they changed in time (sql-task-writes.ts, sendTaskLogs). Null where statements
   * are no round trips (SQLite, in-process): there the process reads the stamp and waits.
   */
  stampGuard: ((table: StampedTable) => string) | null;
  /**
   * Follows a table in FROM to make the statement read that index: SQLite keeps no planner statistics
   * (nothing runs ANALYZE there) and then prefers any index with an equality on it, even one that
   * reads every pending task. Empty where the planner chooses from statistics (PostgreSQL).
   */
  indexedBy: (index: string) => string;
  /** Case-insensitive substring match operator. */
  ilike: string;
  /** Statement that moves a table's id sequence past rows inserted with explicit ids, if needed. */
  resetSequence: ((table: string) => string) | null;
  /**
   * Refreshing the planner's statistics of the queue tables (`refresh`), and reading how many rows
   * every session has inserted into tasks so far (`inserted`, as column "inserted": a counter that
   * only grows, unless the database's statistics are reset); null where the backend keeps no such
   * statistics (capabilities.analyze is false).
   */
  statistics: { refresh: string; inserted: string } | null;
  /** Query returning the column names of the table named by its one parameter (as column "name"). */
  columnNames: string;
  /**
   * A FROM item listing the elements of a JSON array column (a task's labels or dependencies) as rows
   * of one column, `value`, under `alias`: text for `text`, integers for `ids` (sql-lists.ts).
   */
  listItems: { text: (column: string, alias: string) => string; ids: (column: string, alias: string) => string };
  /**
   * A FROM item reading a JSON array of objects, passed as one parameter, as rows under `alias`:
   * one column per listed key, typed (the values of batched writes: sql-claim-batch.ts,
   * sql-transition-batch.ts).
   */
  jsonRecords: (alias: string, columns: ReadonlyArray<readonly [name: string, type: 'text' | 'bigint']>) => string;
};

/**
 * What a backend can do beyond the shared SQL, declared by the backend; code asks for the
 * capability instead of the backend's name or a driver's shape.
 */
export type Capabilities = {
  /** Replicas share the database and tell each other about new events (LISTEN/NOTIFY on a dedicated session). */
  listen: boolean;
  /** Session-level advisory locks on a dedicated session (leader election). */
  advisoryLocks: boolean;
  /** The planner's statistics go stale under bursts and are refreshed by ANALYZE. */
  analyze: boolean;
  /** The database is one file, backed up by copying it. */
  fileBackup: boolean;
  /**
   * Claims, transitions and plain creates that arrive together are served by one transaction and
   * one statement per kind (write-batches.ts): worth it where each statement is a round trip and
   * each commit its own. SQLite's group commit already runs them in one transaction, in-process.
   */
  batchedWrites: boolean;
};

export type TxOptions = {
  /**
   * false: what the transaction writes may be lost in a crash of the database server (not of
   * Athena), so its commit does not wait for the disk: PostgreSQL commits it asynchronously
   * (synchronous_commit off, for this transaction only). For writes whose loss is harmless, such
   * as a peek's hold, which lasts two seconds. SQLite's commits follow SQLITE_SYNCHRONOUS either way.
   */
  durable?: boolean;
  /**
   * true: PostgreSQL runs the transaction's statements with their one generic plan (plan_cache_mode
   * force_generic_plan, for this transaction only) instead of planning them again for each call's
   * values. For statements whose plan is the same for any value but which PostgreSQL kept planning
   * anew, at more cost than their run: claims, transitions and peeks. SQLite ignores it.
   */
  genericPlans?: boolean;
};

/** A connection of its own outside the pool, held open for LISTEN or a session lock; its opener ends it. */
export type DedicatedSession = pg.Client;

export interface Db extends Queryable {
  readonly dialect: Dialect;
  readonly capabilities: Capabilities;
  /** Opens a dedicated session; only where `capabilities.listen` or `capabilities.advisoryLocks`. */
  openSession(): Promise<DedicatedSession>;
  /**
   * Runs fn in one transaction (immediate/write-locked); commits on return, rolls back on throw. Every
   * statement fn sends belongs to the transaction, even one whose answer it returns without waiting
   * for (on PostgreSQL the COMMIT then travels right behind it), and any statement that failed fails
   * the transaction, caught by fn or not.
   */
  tx<T>(fn: (q: Queryable) => Promise<T>, options?: TxOptions): Promise<T>;
  /** Applies numbered migrations that have not been applied yet. */
  migrate(): Promise<string[]>;
  /** Cheap liveness probe of the connection. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A transaction body's result still on its way: the body has sent every statement and returns
 * without waiting for their answers, so on PostgreSQL the COMMIT travels right behind them (one round
 * trip fewer). Db.tx holds every statement the body sent to the transaction, so a failed one fails
 * it; the caller reads the result with `answered` once tx has returned. `answer` only waits: a
 * statement sent after the body returned would not belong to the transaction.
 */
export class Unanswered<T> {
  constructor(readonly answer: Promise<T>) {
    answer.catch(() => {}); // a failure fails the transaction, which reports it: never unhandled here
  }
}

/** The value of a transaction body's result, once its answers are in (see Unanswered). */
export function answered<T>(result: T | Unanswered<T>): Promise<T> | T {
  return result instanceof Unanswered ? result.answer : result;
}

/** Builds `?, ?, ?` for an IN list. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

/** Names of the locks `Dialect.namedLock` takes. */
export const LOCK_NAMES = {
  /** One instance's claims, so its WIP limit counts what the claim before committed. */
  wip: (instanceId: string) => `athena_wip:${instanceId}`,
  /** Every write that adds dependency edges or deletes tasks, so cycle and existence checks see each other's. */
  dependencies: 'athena_dependencies',
  /** Claims counting against one concurrency limit (`label:db`), so the count sees the claim before. */
  limit: (scope: string) => `athena_limit:${scope}`,
} as const;

/**
 * Takes named locks until the transaction ends, where the backend needs them (see Dialect.namedLock),
 * in one statement and in name order, so two transactions never wait for each other crosswise.
 */
export async function lockNamed(q: Queryable, dialect: Dialect, ...names: string[]): Promise<void> {
  if (!dialect.namedLock || names.length === 0) return;
  const sorted = names.length === 1 ? names : [...new Set(names)].sort();
  await q.run(dialect.namedLock(sorted.length), sorted);
}

/**
 * lockNamed, and `next` at once without waiting for the locks' answer: the statements leave
 * together (the PostgreSQL driver pipelines), one round trip fewer, and the server starts `next`'s
 * first statement only once the locks are held, so it sees what their last holder committed. A
 * failed lock (a deadlock, say) is the error thrown, not the failure of `next`'s statements in the
 * transaction it aborted: its code decides whether the transaction runs again.
 */
export async function lockNamedThen<T>(q: Queryable, dialect: Dialect, names: readonly string[], next: () => Promise<T>): Promise<T> {
  const locking = lockNamed(q, dialect, ...names);
  let running: Promise<T>;
  try {
    running = next();
  } catch (err) {
    locking.catch(() => {}); // its outcome no longer matters
    throw err;
  }
  const [locked, result] = await Promise.allSettled([locking, running]);
  if (locked.status === 'rejected') throw locked.reason;
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
