// `athena restore`: puts a verified backup in place of the SQLite database, keeping a copy of the file it replaces.
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { backupDatabase, verifyDatabaseFile } from './backup.js';
import { acquireDbLock } from './lock.js';
import type { FileReport } from '../store/sqlite-file-jobs.js';

export type RestoreResult = {
  restored: FileReport;
  /** The database as it was before the restore, or null when there was none. */
  previousCopy: string | null;
};

function stamp(at: number): string {
  return new Date(at).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Refuses while a server (or another restore) holds the database's lock, checks the backup first,
 * then swaps files: the current database is saved as `<db>.before-restore-<time>`, its WAL files are
 * removed (they belong to the old file and would corrupt the new one) and the backup takes its name.
 */
export async function restoreDatabase(options: { from: string; dbPath: string; force?: boolean; now?: () => number }): Promise<RestoreResult> {
  const now = options.now ?? Date.now;
  const from = resolve(options.from);
  const dbPath = resolve(options.dbPath);
  if (from === dbPath) throw new Error('the backup and the database are the same file');
  if (!existsSync(from)) throw new Error(`no such backup file: ${from}`);

  const lock = acquireDbLock(dbPath, 'restore', { takeForeign: options.force === true });
  try {
    let restored: FileReport;
    try {
      restored = await verifyDatabaseFile(from);
    } catch (err) {
      throw new Error(`refusing to restore ${from}: ${(err as Error).message}`);
    }

    let previousCopy: string | null = null;
    if (existsSync(dbPath)) {
      previousCopy = `${dbPath}.before-restore-${stamp(now())}`;
      try {
        // A snapshot folds in whatever the old file's WAL still holds.
        await backupDatabase(dbPath, previousCopy);
      } catch {
        // Unreadable (that may be why we restore): keep its raw files instead.
        copyFileSync(dbPath, previousCopy);
        if (existsSync(`${dbPath}-wal`)) copyFileSync(`${dbPath}-wal`, `${previousCopy}-wal`);
      }
    }

    // Copied through a snapshot too: the result is one self-contained, checked file even when the
    // backup given is a raw copy of a live database with its own -wal beside it.
    const incoming = `${dbPath}.restoring`;
    await backupDatabase(from, incoming);
    rmSync(`${dbPath}-wal`, { force: true });
    rmSync(`${dbPath}-shm`, { force: true });
    rmSync(`${dbPath}-journal`, { force: true });
    renameSync(incoming, dbPath);
    return { restored, previousCopy };
  } finally {
    lock.release();
  }
}
