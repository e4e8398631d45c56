// Files that hold task text, lease tokens and key hashes are the owner's only: the data directory
// 0700, the database and its companions, the lock and backups 0600, whatever the process umask.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` (and missing parents) readable by the owner only. A directory that already exists
 * keeps its mode: it may be the operator's (a mount point, a shared folder) rather than ours.
 */
export function makePrivateDir(dir: string): void {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // mkdir's mode is masked by the umask; chmod is not.
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Sets an existing file to 0600; false when it does not exist or is not ours to change. */
export function makePrivateFile(path: string): boolean {
  try {
    chmodSync(path, PRIVATE_FILE_MODE);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EPERM') return false;
    throw err;
  }
}

/**
 * Creates `path` empty with mode 0600 unless it exists, and sets an existing one to 0600. SQLite gives
 * a database's -wal, -shm and -journal files the mode of the database file, so they follow.
 */
export function ensurePrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', PRIVATE_FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  makePrivateFile(path);
}

/** The SQLite companions of a database file that exist next to it. */
export function sqliteCompanions(dbPath: string): string[] {
  return ['-wal', '-shm', '-journal'].map((suffix) => `${dbPath}${suffix}`);
}
