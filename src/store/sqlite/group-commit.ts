// Group commit for SQLite: write transactions requested together share one BEGIN … COMMIT.
import type { Queryable } from '../db.js';

/** Transactions committed together at most; bounds the latency one batch adds. */
const MAX_GROUP_COMMIT = 64;

/** What group commit needs from the connection it runs on (see SqliteDb). */
export type GroupCommitConnection = {
  /** Takes the connection; undefined when it was free and is now taken, else a promise of it. */
  acquire(): Promise<void> | undefined;
  release(): void;
  /** Statements of the running transaction, each failure also told to `onFailure` as it happens. */
  queryableFor(onFailure: (err: unknown) => void): Queryable;
  begin(): void;
  commit(): void;
  /** Rolls back when a transaction is open. */
  rollback(): void;
  /** After every commit (a checkpoint nudge, clearing a remembered write failure). */
  committed(): void;
  /** Maps a failure for the callers (and remembers storage failures). */
  failed(err: unknown): unknown;
};

type PendingTx = { fn: (q: Queryable) => Promise<unknown>; resolve: (value: unknown) => void; reject: (err: unknown) => void };

/**
 * Transactions requested in the same turn of the event loop (say, the requests of many agents read
 * from their sockets together), or while a batch runs, are committed together; one body's failure
 * still undoes only its own writes (see runBatch), and every caller's promise settles only after
 * the shared COMMIT. The commit's write to the WAL is most of a transaction's cost, so this
 * multiplies throughput under concurrency for the price of one event-loop turn of latency.
 */
export class GroupCommit {
  private readonly pending: PendingTx[] = [];
  private draining = false;

  constructor(private readonly connection: GroupCommitConnection) {}

  run<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn: fn as PendingTx['fn'], resolve: resolve as PendingTx['resolve'], reject });
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    const connection = this.connection;
    try {
      while (this.pending.length > 0) {
        const wait = connection.acquire();
        if (wait) await wait;
        const batch = this.pending.splice(0, MAX_GROUP_COMMIT);
        try {
          await this.runBatch(batch);
        } finally {
          connection.release();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * One transaction for the whole batch. Bodies rarely throw (a refused transition is a row not
   * updated, not an error), so the batch runs optimistically without savepoints; if a body does
   * throw, the batch is rolled back and each body runs again in a transaction of its own, so only
   * the failing one fails. Bodies only touch the database, which makes running them again safe.
   */
  private async runBatch(batch: PendingTx[]): Promise<void> {
    const connection = this.connection;
    try {
      connection.begin();
    } catch (err) {
      for (const item of batch) item.reject(connection.failed(err));
      return;
    }
    const values: unknown[] = [];
    for (const item of batch) {
      try {
        // A statement that failed fails its body, even one whose answer the body did not wait for.
        let failure: { err: unknown } | null = null;
        const value = await item.fn(connection.queryableFor((err) => (failure ??= { err })));
        if (failure) throw (failure as { err: unknown }).err;
        values.push(value);
      } catch (error) {
        connection.rollback();
        if (batch.length === 1) item.reject(connection.failed(error));
        else for (const each of batch) await this.runBatch([each]);
        return;
      }
    }
    try {
      connection.commit();
    } catch (err) {
      connection.rollback();
      for (const item of batch) item.reject(connection.failed(err));
      return;
    }
    connection.committed();
    batch.forEach((item, i) => item.resolve(values[i]));
  }
}
