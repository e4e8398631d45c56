// Opens the configured store: PostgreSQL when DATABASE_URL is set, otherwise the SQLite file.
import type { Config } from '../config.js';
import type { Db } from './db.js';
import { SqliteDb } from './sqlite/driver.js';
import { SqlStore } from './sql-store.js';
import type { Store } from '../core/ports.js';

export type OpenedStore = { store: Store; db: Db };

export type OpenStoreOptions = {
  log?: { warn(obj: object, msg: string): void };
};

export async function openStore(
  config: Pick<Config, 'DB_PATH' | 'DATABASE_URL' | 'SQLITE_SYNCHRONOUS' | 'PG_POOL_SIZE'> & Partial<Pick<Config, 'PG_CONNECT_RETRY_SECONDS'>>,
  options: OpenStoreOptions = {},
): Promise<OpenedStore> {
  if (config.DATABASE_URL) {
    // Loaded on demand so a SQLite install never loads pg.
    const { openPostgres } = await import('./postgres/driver.js');
    const db = await openPostgres(config.DATABASE_URL, {
      poolSize: config.PG_POOL_SIZE,
      log: options.log,
      startupRetryMs: (config.PG_CONNECT_RETRY_SECONDS ?? 30) * 1000,
      onRetry: ({ target, attempt, delayMs, error }) =>
        options.log?.warn({ target, attempt, retryInMs: delayMs, error }, 'PostgreSQL not reachable yet; retrying'),
    });
    try {
      await db.migrate();
    } catch (err) {
      await db.close();
      throw err;
    }
    return { store: new SqlStore(db), db };
  }
  const db = new SqliteDb(config.DB_PATH, { synchronous: config.SQLITE_SYNCHRONOUS });
  await db.migrate();
  return { store: new SqlStore(db), db };
}
