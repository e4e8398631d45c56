// Opens a database (SQLite file or PostgreSQL server), waits for it to answer, migrates it; and the
// configured store on top.
import type { Config } from '../config.js';
import { UnavailableError } from '../errors.js';
import type { Db } from './db.js';
import type { PostgresDb } from './postgres/driver.js';
import { SqliteDb } from './sqlite/driver.js';
import { SqlStore } from './sql-store.js';
import type { Store } from '../core/ports.js';

export type DatabaseSpec = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export type OpenDatabaseOptions = {
  /** PostgreSQL: pooled connections. */
  poolSize?: number;
  /** PostgreSQL: how long a statement waits for a pooled connection before 503. */
  connectTimeoutMs?: number;
  /** PostgreSQL: pooled statements running longer are cancelled (0: no limit); see PostgresOptions. */
  statementTimeoutMs?: number;
  /** PostgreSQL: idle time before TCP keepalive probes start. */
  keepAliveMs?: number;
  /** SQLite: the synchronous pragma. */
  synchronous?: 'NORMAL' | 'FULL';
  log?: { warn(obj: object, msg: string): void };
  /** Keep retrying a database that does not answer yet this long, then give up (default 30 s). */
  startupRetryMs?: number;
  onRetry?: (info: { target: string; attempt: number; delayMs: number; error: string }) => void;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens the database and waits until it answers: a server that is still starting (compose, a
 * restart) gets `startupRetryMs` with backoff; then the error names the target so the operator
 * knows which setting to fix. Errors that waiting cannot fix (bad password, no such database, a
 * damaged file) fail at once. The database is closed again when anything here fails.
 */
export async function openDatabase(spec: DatabaseSpec, options: OpenDatabaseOptions = {}): Promise<Db> {
  const { db, target, name } = await connect(spec, options);
  const retryMs = options.startupRetryMs ?? 30_000;
  const deadline = Date.now() + retryMs;
  let delayMs = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      await db.ping();
      break;
    } catch (err) {
      const reason = (err as Error).message.replace(/^database unavailable: /i, '');
      const left = deadline - Date.now();
      if (!(err instanceof UnavailableError) || left <= 0) {
        await db.close().catch(() => {});
        const waited = err instanceof UnavailableError ? ` (gave up after ${Math.round(retryMs / 1000)} s)` : '';
        throw new UnavailableError(`cannot connect to ${target}${waited}: ${reason}`);
      }
      const wait = Math.min(delayMs, left);
      const info = { target, attempt, delayMs: wait, error: reason };
      options.onRetry?.(info);
      options.log?.warn({ target, attempt, retryInMs: wait, error: reason }, `${name} not reachable yet; retrying`);
      await sleep(wait);
      delayMs = Math.min(delayMs * 2, 5_000);
    }
  }
  if (options.migrate ?? true) {
    try {
      await db.migrate();
    } catch (err) {
      await db.close().catch(() => {});
      throw err;
    }
  }
  return db;
}

async function connect(spec: DatabaseSpec, options: OpenDatabaseOptions): Promise<{ db: Db; target: string; name: string }> {
  if (spec.kind === 'sqlite') {
    return { db: new SqliteDb(spec.path, { synchronous: options.synchronous }), target: `SQLite at ${spec.path}`, name: 'SQLite' };
  }
  // Loaded on demand so a SQLite install never loads pg.
  const { PostgresDb } = await import('./postgres/driver.js');
  const db = new PostgresDb(spec.url, {
    poolSize: options.poolSize ?? 10,
    log: options.log,
    connectTimeoutMs: options.connectTimeoutMs,
    statementTimeoutMs: options.statementTimeoutMs,
    keepAliveMs: options.keepAliveMs,
  });
  return { db, target: `PostgreSQL at ${db.target}`, name: 'PostgreSQL' };
}

/** A PostgreSQL database as openDatabase opens it, not migrated unless asked (tests, tools). */
export async function openPostgres(url: string, options: OpenDatabaseOptions & { poolSize: number }): Promise<PostgresDb> {
  return (await openDatabase({ kind: 'postgres', url }, { migrate: false, ...options })) as PostgresDb;
}

export type OpenedStore = { store: Store; db: Db };

export type OpenStoreOptions = {
  log?: { warn(obj: object, msg: string): void };
};

/** The configured store: PostgreSQL when DATABASE_URL is set, otherwise the SQLite file. */
export async function openStore(
  config: Pick<Config, 'DB_PATH' | 'DATABASE_URL' | 'SQLITE_SYNCHRONOUS' | 'PG_POOL_SIZE'> &
    Partial<Pick<Config, 'PG_CONNECT_RETRY_SECONDS' | 'PG_STATEMENT_TIMEOUT_SECONDS' | 'PG_KEEPALIVE_SECONDS'>>,
  options: OpenStoreOptions = {},
): Promise<OpenedStore> {
  const spec: DatabaseSpec = config.DATABASE_URL ? { kind: 'postgres', url: config.DATABASE_URL } : { kind: 'sqlite', path: config.DB_PATH };
  const db = await openDatabase(spec, {
    poolSize: config.PG_POOL_SIZE,
    synchronous: config.SQLITE_SYNCHRONOUS,
    log: options.log,
    startupRetryMs: (config.PG_CONNECT_RETRY_SECONDS ?? 30) * 1000,
    statementTimeoutMs: (config.PG_STATEMENT_TIMEOUT_SECONDS ?? 0) * 1000,
    keepAliveMs: config.PG_KEEPALIVE_SECONDS === undefined ? undefined : config.PG_KEEPALIVE_SECONDS * 1000,
  });
  return { store: new SqlStore(db), db };
}
