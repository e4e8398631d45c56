// SQLite driver on better-sqlite3: WAL, busy timeout, cached statements, one writer transaction at a time.
import Database from 'better-sqlite3';
import { dirname } from 'node:path';
import { ensurePrivateFile, makePrivateDir, makePrivateFile, sqliteCompanions } from '../../private-files.js';
import { InvalidError, UnavailableError } from '../../errors.js';
import type { Db, Dialect, Queryable } from '../db.js';
import { loadMigrations } from '../migrations-files.js';
import { BACKSTOP_PAGES, BackgroundCheckpointer } from './checkpointer.js';

// SQLite's planner picks the queue index without statistics: nothing to refresh. One writer at a
// time (BEGIN IMMEDIATE, and one connection) already serialises every write transaction: no locks.
export const sqliteDialect: Dialect = {
  name: 'sqlite', claimLock: '', rowLock: '', namedLock: null, tableLock: null, ilike: 'LIKE', resetSequence: null, statistics: null,
};

/** Error codes that mean the storage itself is failing, not the request. */
const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|FULL|READONLY|IOERR|CANTOPEN|CORRUPT|NOTADB|PROTOCOL)/;

export type SqliteOptions = {
  synchronous?: 'NORMAL' | 'FULL';
  busyTimeoutMs?: number;
  readonly?: boolean;
  /** Checkpoint the WAL on a worker thread instead of inside commits (default: on for files). */
  backgroundCheckpoint?: boolean;
};

/** Parameters as better-sqlite3 takes them (a plain loop: this runs for every statement). */
function toParams(params: readonly unknown[]): unknown[] {
  const out = new Array<unknown>(params.length);
  for (let i = 0; i < params.length; i++) out[i] = toParam(params[i]);
  return out;
}

function toParam(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  // PostgreSQL refuses NUL in text; refusing it here too keeps both backends alike (and a SQLite
  // queue movable to PostgreSQL with migrate-data).
  if (typeof value === 'string' && value.includes('\u0000')) throw new InvalidError('Text must not contain NUL (\\u0000) characters');
  return value;
}

/** What an operator should look at, by SQLite's primary error code. */
const STORAGE_PROBLEMS: Array<[RegExp, string]> = [
  [/^SQLITE_FULL/, 'the disk holding the database is full'],
  [/^SQLITE_READONLY/, 'the database file or its directory is read-only'],
  [/^SQLITE_IOERR/, 'the disk reported an I/O error'],
  [/^SQLITE_(BUSY|LOCKED)/, 'the database is locked by another process'],
  [/^SQLITE_CANTOPEN/, 'the database file cannot be opened'],
  [/^SQLITE_(CORRUPT|NOTADB)/, 'the database file is damaged'],
];

/** Storage failures become UnavailableError (503) saying what is wrong; anything else passes through unchanged. */
function toDomainError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) {
    const problem = STORAGE_PROBLEMS.find(([re]) => re.test(code))?.[1] ?? 'the storage failed';
    return new UnavailableError(`Database unavailable: ${problem} (${code}: ${(err as Error).message}); retry once it is fixed`, { code });
  }
  return err;
}

function mapError(err: unknown): never {
  throw toDomainError(err);
}

/** How long a failed write keeps health checks failing when no write succeeds after it. */
const WRITE_FAULT_MEMORY_MS = 60_000;

/** Transactions committed together at most; bounds the latency one batch adds. */
const MAX_GROUP_COMMIT = 64;

/**
 * A prepared statement, and for statements that return rows, a function that turns better-sqlite3's
 * raw row (an array) into an object. Objects built by one compiled literal share one shape; the
 * driver's own objects cost about 2.5 times as much for the 29 columns of a task.
 */
type Prepared = { stmt: Database.Statement; toObject: ((values: unknown[]) => Record<string, unknown>) | null };

function rowBuilder(stmt: Database.Statement): Prepared['toObject'] {
  if (!stmt.reader) return null;
  const names = stmt.columns().map((column) => column.name);
  stmt.raw(true);
  // In an object literal "__proto__" would set the prototype: such rows get defined properties.
  if (names.includes('__proto__')) {
    return (values) => {
      const row: Record<string, unknown> = {};
      names.forEach((name, i) => Object.defineProperty(row, name, { value: values[i], enumerable: true, writable: true, configurable: true }));
      return row;
    };
  }
  const fields = names.map((name, i) => `${JSON.stringify(name)}: v[${i}]`);
  return new Function('v', `return { ${fields.join(', ')} };`) as Prepared['toObject'];
}

type PendingTx = { fn: (q: Queryable) => Promise<unknown>; resolve: (value: unknown) => void; reject: (err: unknown) => void };

export class SqliteDb implements Db {
  readonly dialect = sqliteDialect;
  readonly raw: Database.Database;
  private readonly statements = new Map<string, Prepared>();
  private locked = false;
  private readonly waiting: Array<() => void> = [];
  private readonly pendingTx: PendingTx[] = [];
  private draining = false;
  private writeFault: { at: number; message: string } | null = null;
  private readonly direct: Queryable;
  private readonly checkpointer: BackgroundCheckpointer | null = null;

  constructor(readonly path: string, options: SqliteOptions = {}) {
    if (path !== ':memory:' && !options.readonly) {
      makePrivateDir(dirname(path));
      // Created 0600 before SQLite opens it (its -wal and -shm then get the same mode); an existing
      // database of an older version, and its companions, are narrowed to 0600 as well.
      ensurePrivateFile(path);
      for (const companion of sqliteCompanions(path)) makePrivateFile(companion);
    }
    try {
      this.raw = new Database(path, { readonly: options.readonly ?? false });
      if (!options.readonly) this.raw.pragma('journal_mode = WAL');
      this.raw.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      this.raw.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
      this.raw.pragma('foreign_keys = ON');
    } catch (err) {
      mapError(err);
    }
    if ((options.backgroundCheckpoint ?? true) && !options.readonly && path !== ':memory:') {
      this.raw.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
      this.checkpointer = new BackgroundCheckpointer({
        path,
        synchronous: options.synchronous ?? 'NORMAL',
        // Without the worker, commits checkpoint by themselves again, as SQLite does by default.
        onFailure: () => {
          if (this.raw.open) this.raw.pragma('wal_autocheckpoint = 1000');
        },
      });
    }
    const self = this;
    this.direct = {
      all: async (sql, params = []) => self.execAll(sql, params) as never,
      get: async (sql, params = []) => self.execGet(sql, params) as never,
      run: async (sql, params = []) => self.execRun(sql, params),
      insert: async (sql, params = []) => self.execInsert(sql, params),
    };
  }

  private statement(sql: string): Prepared {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      const stmt = this.raw.prepare(sql);
      prepared = { stmt, toObject: rowBuilder(stmt) };
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  private execAll(sql: string, params: readonly unknown[]): unknown[] {
    try {
      const { stmt, toObject } = this.statement(sql);
      const rows = stmt.all(...toParams(params)) as unknown[][];
      return toObject ? rows.map(toObject) : rows;
    } catch (err) {
      return mapError(err);
    }
  }

  private execGet(sql: string, params: readonly unknown[]): unknown {
    try {
      const { stmt, toObject } = this.statement(sql);
      if (!toObject) return stmt.run(...toParams(params)), undefined;
      const row = stmt.get(...toParams(params)) as unknown[] | undefined;
      return row === undefined ? undefined : toObject(row);
    } catch (err) {
      return mapError(err);
    }
  }

  private execRun(sql: string, params: readonly unknown[]): number {
    try {
      const { stmt } = this.statement(sql);
      if (stmt.reader) return stmt.all(...toParams(params)).length;
      return stmt.run(...toParams(params)).changes;
    } catch (err) {
      return mapError(err);
    }
  }

  private execInsert(sql: string, params: readonly unknown[]): number {
    try {
      return Number(this.statement(sql).stmt.run(...toParams(params)).lastInsertRowid);
    } catch (err) {
      return mapError(err);
    }
  }

  // better-sqlite3 is synchronous, but transaction bodies are async: while one awaits, no other
  // caller may run statements on this connection, so every caller takes this lock.
  private acquire(): Promise<void> | undefined {
    if (!this.locked) {
      this.locked = true;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.locked = false;
  }

  private async locked_<T>(fn: () => T): Promise<T> {
    const wait = this.acquire();
    if (wait) await wait;
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /** A statement outside a transaction: at once when the connection is free, else after the running batch. */
  private outside<T>(fn: () => T): Promise<T> {
    return this.locked ? this.locked_(fn) : Promise.resolve(fn());
  }

  all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.outside(() => this.execAll(sql, params) as T[]);
  }

  get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return this.outside(() => this.execGet(sql, params) as T | undefined);
  }

  run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.outside(() => this.execRun(sql, params));
  }

  insert(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.outside(() => this.execInsert(sql, params));
  }

  /**
   * Runs fn in a write transaction. Transactions requested in the same turn of the event loop (say,
   * the requests of many agents read from their sockets together), or while a batch runs, are
   * committed together (group commit); one body's failure still undoes only its own writes (see
   * runBatch), and every caller's promise settles only after the shared COMMIT.
   * The commit's write to the WAL is most of a transaction's cost, so this multiplies throughput
   * under concurrency for the price of one event-loop turn of latency.
   */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pendingTx.push({ fn: fn as PendingTx['fn'], resolve: resolve as PendingTx['resolve'], reject });
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.pendingTx.length > 0) {
        const wait = this.acquire();
        if (wait) await wait;
        const batch = this.pendingTx.splice(0, MAX_GROUP_COMMIT);
        try {
          await this.runBatch(batch);
        } finally {
          this.release();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * One transaction for the whole batch. Bodies rarely throw (a refused transition is a row not
   * updated, not an error), so the batch runs optimistically without savepoints; if a body does
   * throw, the batch is rolled back and each body runs again in a transaction of its own, so only
   * the failing one fails. Bodies only touch the database, which makes running them again safe.
   */
  private async runBatch(batch: PendingTx[]): Promise<void> {
    const run = (sql: string) => this.statement(sql).stmt.run();
    try {
      run('BEGIN IMMEDIATE');
    } catch (err) {
      for (const item of batch) item.reject(this.failed(err));
      return;
    }
    const values: unknown[] = [];
    for (const item of batch) {
      try {
        values.push(await item.fn(this.direct));
      } catch (error) {
        if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
        if (batch.length === 1) item.reject(this.failed(error));
        else for (const each of batch) await this.runBatch([each]);
        return;
      }
    }
    try {
      run('COMMIT');
    } catch (err) {
      if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
      for (const item of batch) item.reject(this.failed(err));
      return;
    }
    this.writeFault = null;
    this.checkpointer?.nudge();
    batch.forEach((item, i) => item.resolve(values[i]));
  }

  /** Maps a failure; a storage failure is remembered so health checks can tell writes are failing. */
  private failed(err: unknown): unknown {
    const mapped = toDomainError(err);
    if (mapped instanceof UnavailableError) this.writeFault = { at: Date.now(), message: mapped.message };
    return mapped;
  }

  async migrate(): Promise<string[]> {
    const applied: string[] = [];
    this.raw.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const done = new Set(
      (this.raw.prepare('SELECT name FROM schema_migrations').all() as Array<{ name: string }>).map((r) => r.name),
    );
    for (const migration of loadMigrations('sqlite')) {
      if (done.has(migration.name)) continue;
      this.raw.transaction(() => {
        this.raw.exec(migration.sql);
        this.raw.prepare('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)').run(migration.name, Date.now());
      }).immediate();
      applied.push(migration.name);
    }
    return applied;
  }

  /**
   * Fails while the storage is failing: reads work on a full or read-only disk, so a write that
   * failed for a storage reason in the last minute (and none committed since) counts too.
   */
  async ping(): Promise<void> {
    this.execGet('SELECT 1', []);
    if (this.writeFault && Date.now() - this.writeFault.at < WRITE_FAULT_MEMORY_MS) {
      throw new UnavailableError(`writes are failing: ${this.writeFault.message}`);
    }
  }

  async close(): Promise<void> {
    await this.checkpointer?.close();
    if (this.raw.open) this.raw.close();
  }
}
