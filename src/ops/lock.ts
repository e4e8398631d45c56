// The lock file next to a SQLite database (`<db>.lock`) that says which process serves or restores it.
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname, uptime } from 'node:os';
import { PRIVATE_FILE_MODE, makePrivateDir, makePrivateFile } from '../private-files.js';

export type LockHolder = { pid: number; hostname: string; startedAt: number; purpose: string; token: string };

export type LockState =
  | { kind: 'free' }
  /** A live process on this host holds it. */
  | { kind: 'held'; holder: LockHolder }
  /** Written on another host (another container): whether it still runs cannot be checked from here. */
  | { kind: 'foreign'; holder: LockHolder }
  /** Its process is gone (crashed, killed, or the machine rebooted): safe to take over. */
  | { kind: 'stale'; holder: LockHolder };

export class DatabaseLockedError extends Error {
  constructor(message: string, readonly holder: LockHolder) {
    super(message);
    this.name = 'DatabaseLockedError';
  }
}

export const lockPathFor = (dbPath: string): string => `${dbPath}.lock`;

function readHolder(path: string): LockHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number') return null;
    return {
      pid: parsed.pid,
      hostname: String(parsed.hostname ?? ''),
      startedAt: Number(parsed.startedAt ?? 0),
      purpose: String(parsed.purpose ?? 'serve'),
      token: String(parsed.token ?? ''),
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Unreadable or half-written: treat as no lock rather than blocking forever.
    return null;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What the lock next to `dbPath` says right now. */
export function inspectLock(dbPath: string): LockState {
  const holder = readHolder(lockPathFor(dbPath));
  if (!holder) return { kind: 'free' };
  if (holder.hostname !== hostname()) return { kind: 'foreign', holder };
  // Our own pid in the file means a previous life of this container/process, not a rival.
  if (holder.pid === process.pid) return { kind: 'stale', holder };
  // A lock older than the last boot belongs to a process that no longer exists, whatever now has its pid.
  const bootedAt = Date.now() - uptime() * 1000;
  if (holder.startedAt < bootedAt - 60_000) return { kind: 'stale', holder };
  return processAlive(holder.pid) ? { kind: 'held', holder } : { kind: 'stale', holder };
}

export function describeHolder(holder: LockHolder): string {
  const what = holder.purpose === 'serve' ? 'an Athena server' : `athena ${holder.purpose}`;
  return `${what} (pid ${holder.pid} on ${holder.hostname}, since ${new Date(holder.startedAt).toISOString()})`;
}

export type DbLock = { readonly path: string; release(): void };

/**
 * Writes our lock next to `dbPath`. Refuses with DatabaseLockedError when a live local process
 * holds it, and — unless `takeForeign` — when it was written on another host.
 */
export function acquireDbLock(dbPath: string, purpose: string, options: { takeForeign: boolean }, attempt = 0): DbLock & { replaced: LockState } {
  const path = lockPathFor(dbPath);
  const state = inspectLock(dbPath);
  if (state.kind === 'held') {
    throw new DatabaseLockedError(`${dbPath} is in use by ${describeHolder(state.holder)}; stop it first`, state.holder);
  }
  if (state.kind === 'foreign' && !options.takeForeign) {
    throw new DatabaseLockedError(
      `${dbPath} is locked by ${describeHolder(state.holder)}, which cannot be checked from this host; ` +
        `if that process is stopped, delete ${path} (or pass --force)`,
      state.holder,
    );
  }
  const holder: LockHolder = { pid: process.pid, hostname: hostname(), startedAt: Date.now(), purpose, token: randomUUID() };
  // A fresh checkout has no data directory yet: the lock is the first file written in it.
  makePrivateDir(dirname(path));
  try {
    // Exclusive create when there was no lock, so two processes starting together cannot both win.
    // (A second try overwrites a lock file that exists but cannot be read.)
    writeFileSync(path, `${JSON.stringify(holder)}\n`, { flag: state.kind === 'free' && attempt === 0 ? 'wx' : 'w', mode: PRIVATE_FILE_MODE });
    makePrivateFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt === 0) return acquireDbLock(dbPath, purpose, options, 1);
    throw err;
  }
  return {
    path,
    replaced: state,
    release() {
      // Only remove the lock if it is still ours (a later holder may have taken over a stale one).
      if (readHolder(path)?.token === holder.token) rmSync(path, { force: true });
    },
  };
}
