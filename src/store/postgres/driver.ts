// PostgreSQL driver: not built yet (see the PostgreSQL backend issue).
import type { Db } from '../db.js';

export async function openPostgres(_url: string, _options: { poolSize: number }): Promise<Db> {
  throw new Error('DATABASE_URL is set, but the PostgreSQL backend is not available in this build yet');
}
