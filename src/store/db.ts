// The small SQL driver contract both backends implement; SQL is written once with `?` placeholders.

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
  /** Case-insensitive substring match operator. */
  ilike: string;
  /** Statement that moves a table's id sequence past rows inserted with explicit ids, if needed. */
  resetSequence: ((table: string) => string) | null;
  /**
   * Refreshing the planner's statistics of the queue tables after many new rows (`refresh`), and
   * reading how many rows the tasks table had then (`rows`, as column "rows"); null when not needed.
   */
  statistics: { refresh: string; rows: string } | null;
};

export interface Db extends Queryable {
  readonly dialect: Dialect;
  /** Runs fn in one transaction (immediate/write-locked); commits on return, rolls back on throw. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Applies numbered migrations that have not been applied yet. */
  migrate(): Promise<string[]>;
  /** Cheap liveness probe of the connection. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Builds `?, ?, ?` for an IN list. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}
