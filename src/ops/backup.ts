// Online SQLite backups: a verified snapshot file per backup, named by time, with the oldest beyond BACKUP_KEEP removed.
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Config } from '../config.js';
import { makePrivateDir, makePrivateFile } from '../private-files.js';
import { runSqliteJob, type FileReport } from '../store/sqlite-file-jobs.js';

export type BackupResult = FileReport & { path: string; durationMs: number };

/** Where backups go: BACKUP_DIR, else `<data dir>/backups`. */
export function backupDirFor(config: Pick<Config, 'BACKUP_DIR' | 'DB_PATH'>): string {
  return resolve(config.BACKUP_DIR ?? join(dirname(config.DB_PATH), 'backups'));
}

/** `athena.db` -> `athena`: backups of different databases in one directory do not mix. */
function stem(dbPath: string): string {
  return basename(dbPath, extname(dbPath)) || 'athena';
}

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/;

/** `athena-20260101T090000123Z.db`: sorts by time as text. */
export function backupFileName(dbPath: string, at: number): string {
  const stamp = new Date(at).toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${stem(dbPath)}-${stamp}.db`;
}

export type BackupFile = { path: string; at: number };

/** Backups of `dbPath` in `dir`, newest first (only files this code names; nothing else is touched). */
export function listBackups(dir: string, dbPath: string): BackupFile[] {
  const prefix = `${stem(dbPath)}-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files: BackupFile[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.db')) continue;
    const match = STAMP.exec(name.slice(prefix.length, -3));
    if (!match) continue;
    const [, y, mo, d, h, mi, s, ms] = match.map(Number) as number[];
    files.push({ path: join(dir, name), at: Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!) });
  }
  return files.sort((a, b) => b.at - a.at);
}

/** Deletes all but the newest `keep` backups; returns the paths removed. */
export function rotateBackups(dir: string, dbPath: string, keep: number): string[] {
  const removed: string[] = [];
  for (const old of listBackups(dir, dbPath).slice(Math.max(1, keep))) {
    rmSync(old.path, { force: true });
    removed.push(old.path);
  }
  return removed;
}

/**
 * Copies the live database at `dbPath` to `outPath`: a consistent snapshot taken on its own read
 * connection (writers keep going meanwhile), switched to a single-file journal, then checked with
 * `PRAGMA integrity_check`. The file appears under its final name only once it passed.
 */
export async function backupDatabase(dbPath: string, outPath: string, options: { signal?: AbortSignal; now?: () => number } = {}): Promise<BackupResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const target = resolve(outPath);
  makePrivateDir(dirname(target));
  const partial = `${target}.partial`;
  try {
    // The snapshot job creates the file 0600 before SQLite writes into it (see store/sqlite-file-jobs.ts).
    const report = await runSqliteJob({ kind: 'snapshot', from: resolve(dbPath), to: partial }, options.signal);
    makePrivateFile(partial);
    renameSync(partial, target);
    return { ...report, path: target, durationMs: now() - started };
  } finally {
    rmSync(partial, { force: true });
  }
}

/** Checks that a file is a sound Athena database (integrity, tables) without changing it. */
export function verifyDatabaseFile(path: string, signal?: AbortSignal): Promise<FileReport> {
  return runSqliteJob({ kind: 'verify', path: resolve(path) }, signal);
}
