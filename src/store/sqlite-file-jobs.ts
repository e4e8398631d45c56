// Runs SQLite snapshot and integrity checks in a worker thread, so a large database never blocks the server's event loop.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export type FileReport = {
  /** `PRAGMA integrity_check` said "ok". */
  integrity: 'ok';
  tasks: number;
  logs: number;
  migrations: string[];
  bytes: number;
};

export type WorkerJob =
  /** Consistent copy of a live database (`VACUUM INTO` on its own read connection), then checked. */
  | { kind: 'snapshot'; from: string; to: string }
  /** Opens a file read-only and checks it is a sound Athena database. */
  | { kind: 'verify'; path: string };

// Plain CommonJS so it runs from source (tsx, vitest) and from the one-file build alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const Database = require(workerData.module);
const job = workerData.job;

function check(path) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const problems = db.pragma('integrity_check').map((row) => row.integrity_check).filter((line) => line !== 'ok');
    if (problems.length > 0) throw new Error('integrity check failed: ' + problems.slice(0, 5).join('; '));
    const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name));
    for (const name of ['tasks', 'task_logs', 'schema_migrations']) {
      if (!tables.has(name)) throw new Error('not an Athena database: table ' + name + ' is missing');
    }
    return {
      integrity: 'ok',
      tasks: db.prepare('SELECT COUNT(*) AS n FROM tasks').get().n,
      logs: db.prepare('SELECT COUNT(*) AS n FROM task_logs').get().n,
      migrations: db.prepare('SELECT name FROM schema_migrations ORDER BY name').all().map((r) => r.name),
      bytes: fs.statSync(path).size,
    };
  } finally {
    db.close();
  }
}

try {
  if (job.kind === 'snapshot') {
    fs.rmSync(job.to, { force: true });
    // Empty and 0600 before SQLite fills it (VACUUM INTO accepts an empty file): the copy holds the
    // same secrets as the database, and its journal takes its mode.
    fs.closeSync(fs.openSync(job.to, 'wx', 0o600));
    fs.chmodSync(job.to, 0o600);
    const source = new Database(job.from, { readonly: true, fileMustExist: true });
    try {
      source.prepare('VACUUM INTO ?').run(job.to);
    } finally {
      source.close();
    }
    // A self-contained file: no -wal/-shm companions to lose when it is copied around.
    const copy = new Database(job.to);
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    parentPort.postMessage({ ok: true, report: check(job.to) });
  } else {
    parentPort.postMessage({ ok: true, report: check(job.path) });
  }
} catch (err) {
  parentPort.postMessage({ ok: false, message: err && err.message ? err.message : String(err), code: err && err.code });
}
`;

export class SqliteFileError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'SqliteFileError';
  }
}

/** Runs one job in a fresh worker thread; aborting `signal` terminates it. */
export function runSqliteJob(job: WorkerJob, signal?: AbortSignal): Promise<FileReport> {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  return new Promise<FileReport>((resolve, reject) => {
    if (signal?.aborted) return reject(new SqliteFileError('aborted'));
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, job } });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      void worker.terminate();
      finish(() => reject(new SqliteFileError('aborted')));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (message: { ok: true; report: FileReport } | { ok: false; message: string; code?: string }) => {
      finish(() => (message.ok ? resolve(message.report) : reject(new SqliteFileError(message.message, message.code))));
    });
    worker.once('error', (err) => finish(() => reject(err)));
    worker.once('exit', (code) => finish(() => reject(new SqliteFileError(`SQLite worker exited with code ${code}`))));
  });
}
