// SQLite driver on better-sqlite3: WAL, busy timeout, cached statements, one connection shared in turn.
import Database from 'better-sqlite3';
import { dirname } from 'node:path';
import { ensurePrivateFile, makePrivateDir, makePrivateFile, sqliteCompanions } from '../../private-files.js';
import { UnavailableError } from '../../errors.js';
import type { Db, DedicatedSession, Queryable } from '../db.js';
import { applyMigrations } from '../migrations.js';
import { toParams } from '../params.js';
import { sqliteCapabilities } from './capabilities.js';
import { BACKSTOP_PAGES, BackgroundCheckpointer } from './checkpointer.js';
import { sqliteDialect } from './dialect.js';
import { mapSqliteError as mapError, toDomainError } from './errors.js';
import { GroupCommit } from './group-commit.js';

export type SqliteOptions = {
  synchronous?: 'NORMAL' | 'FULL';
  busyTimeoutMs?: number;
  readonly?: boolean;
  /** Checkpoint the WAL on a worker thread instead of inside commits (default: on for files). */
  backgroundCheckpoint?: boolean;
};

/**
 * Distinct statement texts kept prepared. The server's own statements number about two hundred; texts with
 * IN lists (labels, dependencies, bulk ids) differ by their length, so the cache is bounded: past it the
 * oldest statement is dropped and prepared again the next time it runs.
 */
export const MAX_CACHED_STATEMENTS = 500;

/** How long a failed write keeps health checks failing when no write succeeds after it. */
const WRITE_FAULT_MEMORY_MS = 60_000;

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

export class SqliteDb implements Db {
  readonly dialect = sqliteDialect;
  readonly capabilities = sqliteCapabilities;
  readonly raw: Database.Database;
  /** Prepared statements by SQL text, oldest first; at most MAX_CACHED_STATEMENTS. */
  private readonly statements = new Map<string, Prepared>();
  private locked = false;
  private readonly waiting: Array<() => void> = [];
  private readonly groupCommit: GroupCommit;
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
    const run = (sql: string) => this.statement(sql).stmt.run();
    this.groupCommit = new GroupCommit({
      acquire: () => this.acquire(),
      release: () => this.release(),
      queryableFor: (onFailure) => {
        const noting =
          <A extends unknown[], R>(exec: (...args: A) => R) =>
          (...args: A): Promise<R> => {
            try {
              return Promise.resolve(exec(...args));
            } catch (err) {
              onFailure(err);
              // The transaction fails with it (group-commit.ts): an answer the body never waits for is no unhandled rejection.
              const failed = Promise.reject(err);
              failed.catch(() => {});
              return failed;
            }
          };
        return {
          all: noting((sql: string, params: readonly unknown[] = []) => self.execAll(sql, params)),
          get: noting((sql: string, params: readonly unknown[] = []) => self.execGet(sql, params)),
          run: noting((sql: string, params: readonly unknown[] = []) => self.execRun(sql, params)),
          insert: noting((sql: string, params: readonly unknown[] = []) => self.execInsert(sql, params)),
        } as Queryable;
      },
      begin: () => run('BEGIN IMMEDIATE'),
      commit: () => run('COMMIT'),
      rollback: () => {
        if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
      },
      committed: () => {
        this.writeFault = null;
        this.checkpointer?.nudge();
      },
      failed: (err) => this.failed(err),
    });
  }

  private statement(sql: string): Prepared {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      const stmt = this.raw.prepare(sql);
      prepared = { stmt, toObject: rowBuilder(stmt) };
      if (this.statements.size >= MAX_CACHED_STATEMENTS) this.statements.delete(this.statements.keys().next().value!);
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

  /** Runs fn in a write transaction, committed together with those requested beside it (group-commit.ts). */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.groupCommit.run(fn);
  }

  /** SQLite serves one process: there is no other session to hold open (capabilities say so). */
  openSession(): Promise<DedicatedSession> {
    return Promise.reject(new Error('SQLite has no dedicated sessions (capabilities.listen and advisoryLocks are false)'));
  }

  /** Maps a failure; a storage failure is remembered so health checks can tell writes are failing. */
  private failed(err: unknown): unknown {
    const mapped = toDomainError(err);
    if (mapped instanceof UnavailableError) this.writeFault = { at: Date.now(), message: mapped.message };
    return mapped;
  }

  /** Applies the numbered migrations (see ../migrations.ts) in one write transaction. */
  async migrate(): Promise<string[]> {
    const wait = this.acquire();
    if (wait) await wait;
    try {
      this.raw.exec('BEGIN IMMEDIATE');
      try {
        const applied = await applyMigrations({ ...this.direct, exec: async (script) => void this.raw.exec(script) }, this.dialect);
        this.raw.exec('COMMIT');
        return applied;
      } catch (err) {
        if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
        throw err;
      }
    } catch (err) {
      return mapError(err);
    } finally {
      this.release();
    }
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
