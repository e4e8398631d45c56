// What a PostgreSQL store can do beyond the shared SQL (see Capabilities in ../db.ts).
import type { Capabilities } from '../db.js';

// Replicas share the database: they notify each other (LISTEN/NOTIFY) and elect a leader with a
// session advisory lock. Its planner needs fresh statistics; backups are pg_dump's job.
export const postgresCapabilities: Capabilities = { listen: true, advisoryLocks: true, analyze: true, fileBackup: false, batchedWrites: true };
