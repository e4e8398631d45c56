// Real `athena serve` processes for the reliability suite, on SQLite or a fresh PostgreSQL schema that
// survives restarts, plus direct SQL access to the same database for checks behind the API's back.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { startServerProcess, type ServerProcess } from '../../helpers/server-process.js';
import { createTestSchema, tempDir } from '../../helpers/stores.js';

export type BackendName = 'sqlite' | 'postgres';
export const SERVER_BACKENDS: BackendName[] = ['sqlite', 'postgres'];

export type ServerHome = {
  backend: BackendName;
  dataDir: string;
  dbPath: string;
  /** Starts a server on this home's database (again after a crash: same data). */
  start(env?: Record<string, string>): Promise<ServerProcess>;
  /** Runs read queries on the database directly (`?` placeholders on both backends). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** SQLite: PRAGMA integrity_check; PostgreSQL: amcheck-free sanity (the server guarantees page integrity). */
  integrity(): Promise<string>;
  cleanup(): Promise<void>;
};

export async function serverHome(backend: BackendName, options: { dataDir?: string } = {}): Promise<ServerHome> {
  const dir = options.dataDir ? null : tempDir('athena-rel-');
  const dataDir = options.dataDir ?? dir!.path;
  const dbPath = join(dataDir, 'athena.db');
  const schema = backend === 'postgres' ? await createTestSchema() : null;
  const env: Record<string, string> = schema ? { DATABASE_URL: schema.url } : {};
  const numbered = (sql: string) => {
    let i = 0;
    return sql.replace(/\?/g, () => `$${++i}`);
  };
  return {
    backend,
    dataDir,
    dbPath,
    start: (extra = {}) => startServerProcess({ dataDir, env: { ...env, ...extra } }),
    async query<T>(sql: string, params: unknown[] = []) {
      if (schema) {
        const client = new pg.Client({ connectionString: schema.url });
        await client.connect();
        try {
          return (await client.query(numbered(sql), params)).rows as T[];
        } finally {
          await client.end();
        }
      }
      const db = new Database(dbPath, { readonly: true });
      try {
        return db.prepare(sql).all(...params) as T[];
      } finally {
        db.close();
      }
    },
    async integrity() {
      if (schema) return 'ok';
      // Not read-only: opening after a crash may need to replay the WAL, as the server would.
      const db = new Database(dbPath);
      try {
        return (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
      } finally {
        db.close();
      }
    },
    async cleanup() {
      await schema?.drop();
      dir?.cleanup();
    },
  };
}
