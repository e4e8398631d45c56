// Copies the SQLite write-ahead log back into the database file on a worker thread, so that work
// (and its fsync) never runs inside a COMMIT on the server's event loop.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** At most one checkpoint request per this many ms; commits in between ride on the next one. */
const NUDGE_EVERY_MS = 50;

/**
 * Pages the WAL may hold before the committing connection checkpoints by itself: a safety net
 * for when the worker cannot keep up or has died (SQLite's own default is 1,000).
 */
export const BACKSTOP_PAGES = 20_000;

/**
 * A worker with nothing to copy for this long is stopped: its thread and V8 heap hold about 6 MB, which an
 * idle server does not need. The next commit starts another (a few milliseconds).
 */
export const IDLE_STOP_MS = 30_000;

// Plain CommonJS so it runs from source (tsx, vitest) and from the one-file build alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = ' + workerData.synchronous);
// This connection never writes; its own automatic checkpoints stay off.
db.pragma('wal_autocheckpoint = 0');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [result] = checkpoint.all();
    parentPort.postMessage({ ok: true, walPages: result.log, copied: result.checkpointed });
  } catch (err) {
    parentPort.postMessage({ ok: false, message: String(err && err.message ? err.message : err) });
  }
});
`;

export type CheckpointerOptions = {
  path: string;
  synchronous: 'NORMAL' | 'FULL';
  /** Called once when the worker stops working, so the caller can checkpoint on its own again. */
  onFailure: (reason: string) => void;
  /** Stop the worker after this long without a checkpoint request (IDLE_STOP_MS). */
  idleStopMs?: number;
};

export class BackgroundCheckpointer {
  private worker: Worker | null = null;
  private lastNudge = 0;
  private busy = false;
  private again = false;
  private failed = false;
  private closing = false;
  private timer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  /** A worker stopped for idleness, until it has closed its connection. */
  private retiring: Promise<void> | null = null;

  constructor(private readonly options: CheckpointerOptions) {}

  /** After a commit: asks the worker to checkpoint, at most once per NUDGE_EVERY_MS. */
  nudge(now = Date.now()): void {
    if (this.failed || this.closing) return;
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (this.busy) {
      this.again = true;
      return;
    }
    if (now - this.lastNudge < NUDGE_EVERY_MS) {
      this.again = true;
      this.schedule();
      return;
    }
    this.lastNudge = now;
    this.busy = true;
    this.again = false;
    this.start().postMessage('checkpoint');
  }

  /** A nudge that came too soon is not dropped: it runs once the interval has passed. */
  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.again) this.nudge();
    }, NUDGE_EVERY_MS);
    this.timer.unref();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module, path: this.options.path, synchronous: this.options.synchronous },
    });
    worker.unref();
    worker.on('message', (message: { ok: boolean; message?: string }) => {
      this.busy = false;
      if (!message.ok) return this.fail(`checkpoint failed: ${message.message}`);
      if (this.again) this.nudge();
      else this.stopWhenIdle();
    });
    // A worker stopped for idleness is no longer this.worker: its exit is no failure.
    worker.on('error', (err) => {
      if (this.worker === worker) this.fail(`checkpoint worker failed: ${err.message}`);
    });
    worker.on('exit', (code) => {
      if (!this.closing && this.worker === worker) this.fail(`checkpoint worker exited with code ${code}`);
    });
    this.worker = worker;
    return worker;
  }

  private stopWhenIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const worker = this.worker;
      if (!worker || this.busy || this.closing) return;
      this.worker = null;
      this.retiring = new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.postMessage('close');
        setTimeout(() => void worker.terminate(), 2_000).unref();
      }).finally(() => {
        this.retiring = null;
      });
    }, this.options.idleStopMs ?? IDLE_STOP_MS);
    this.idleTimer.unref();
  }

  /** Whether a worker thread is running now (it stops when idle). */
  get running(): boolean {
    return this.worker !== null;
  }

  private fail(reason: string): void {
    if (this.failed || this.closing) return;
    this.failed = true;
    void this.worker?.terminate();
    this.worker = null;
    this.options.onFailure(reason);
  }

  /** Stops the worker; the database's own close checkpoints whatever is left. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    await this.retiring;
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.ref();
      worker.postMessage('close');
      // A worker stuck in a long checkpoint is not waited for forever.
      setTimeout(() => void worker.terminate(), 2_000).unref();
    });
  }
}
