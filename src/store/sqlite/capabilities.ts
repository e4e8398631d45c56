// What a SQLite store can do beyond the shared SQL (see Capabilities in ../db.ts).
import type { Capabilities } from '../db.js';

// One process owns the file: no other replica to notify or elect against, and the file itself is
// what a backup copies.
export const sqliteCapabilities: Capabilities = { listen: false, advisoryLocks: false, analyze: false, fileBackup: true, batchedWrites: false };
