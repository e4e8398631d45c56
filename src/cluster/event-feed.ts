// Cross-replica event feed: brings events other replicas wrote to task_logs onto this process's bus.
import type pg from 'pg';
import type { EventBus } from '../core/events.js';
import type { TaskEvent } from '../core/types.js';
import type { Logger } from '../logger.js';
import { placeholders, type Db } from '../store/db.js';
import { rowToEvent, type TaskRow } from '../store/rows.js';
import type { Store } from '../store/store.js';
import { connectionLost, dedicatedConnections, type DedicatedConnections } from './connections.js';
import { aborted, sleep, withDeadline } from './wait.js';

/** The channel the task_logs trigger notifies (migrations/postgres/002_event_notify.sql). */
export const EVENTS_CHANNEL = 'athena_events';

export type EventFeedOptions = {
  db: Db;
  store: Store;
  /** The bus the queue emits on, wrapped by emitOnce so rows this process wrote are not emitted twice. */
  bus: EventBus;
  signal: AbortSignal;
  log: Logger;
  /** Reads even without a notification this often (LISTEN down, late rows). */
  pollMs?: number;
  /** How long a missing id is waited for before it is taken as a rolled-back transaction. */
  gapWaitMs?: number;
  now?: () => number;
};

export type EventFeed = {
  /** Whether the LISTEN connection is up (polling continues either way). */
  listening(): boolean;
  /** Settles when the feed has stopped after `signal` aborted. */
  stopped: Promise<void>;
};

const PAGE = 500;
/** A jump in ids larger than this is not transactions in flight (an import moved the sequence): not tracked. */
const MAX_GAP_RUN = 1000;
const MAX_GAPS = 10_000;

/**
 * On SQLite there is one process and nothing to bring in: the feed does nothing.
 *
 * On PostgreSQL every transaction that writes task_logs notifies `athena_events` on commit.
 * On a notification (and every `pollMs`, in case LISTEN is down) the feed reads the rows after
 * the highest id it has read and emits them; the emitOnce bus drops the ones this process
 * already emitted itself.
 *
 * Ids come from a sequence, so they are handed out at insert but become visible at commit: a
 * transaction holding id 5 can commit after the one holding id 6. Reading "after 6" would then
 * skip 5 for good. So every id the feed steps over is remembered as a gap, and gaps are looked up
 * again on each read until their row appears or `gapWaitMs` passes (a rolled-back transaction
 * leaves an id that never appears). Late rows are emitted when they show up, after higher ids.
 */
export function startEventFeed(options: EventFeedOptions): EventFeed {
  const connections = dedicatedConnections(options.db);
  if (!connections) return { listening: () => false, stopped: Promise.resolve() };
  return new ReplicaFeed(connections, options).start();
}

class ReplicaFeed {
  private high: number | null = null;
  /** Ids stepped over and not seen yet -> when first missed. */
  private readonly gaps = new Map<number, number>();
  private reading: Promise<void> | null = null;
  private readAgain = false;
  private isListening = false;
  private warnedAt = 0;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly pollMs: number;
  private readonly gapWaitMs: number;

  constructor(
    private readonly connections: DedicatedConnections,
    private readonly options: EventFeedOptions,
  ) {
    this.log = options.log.child({ room: 'event-feed' });
    this.now = options.now ?? Date.now;
    this.pollMs = options.pollMs ?? 2000;
    this.gapWaitMs = options.gapWaitMs ?? 30_000;
  }

  start(): EventFeed {
    const stopped = Promise.all([this.listenLoop(), this.pollLoop()]).then(async () => {
      await this.reading;
    });
    return { listening: () => this.isListening, stopped };
  }

  /** Asks for a read; reads never overlap, and requests during one fold into one more read. */
  private requestRead(): void {
    if (this.options.signal.aborted) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = (async () => {
      do {
        this.readAgain = false;
        try {
          await this.readOnce();
        } catch (err) {
          this.warn(err, 'reading events from the database failed; will retry');
          break;
        }
      } while (this.readAgain && !this.options.signal.aborted);
    })().finally(() => {
      this.reading = null;
    });
  }

  private async readOnce(): Promise<void> {
    const { store, db, bus } = this.options;
    if (this.high === null) {
      // Start from what is committed now: earlier events were never this process's to deliver.
      this.high = await store.lastEventId();
      return;
    }
    const at = this.now();
    if (this.gaps.size > 0) {
      const late: TaskEvent[] = [];
      const ids = [...this.gaps.keys()];
      for (let i = 0; i < ids.length; i += PAGE) {
        const chunk = ids.slice(i, i + PAGE);
        const rows = await db.all<TaskRow>(`SELECT * FROM task_logs WHERE id IN (${placeholders(chunk.length)})`, chunk);
        late.push(...rows.map(rowToEvent));
      }
      for (const event of late.sort((a, b) => a.id - b.id)) {
        this.gaps.delete(event.id);
        bus.emit(event);
      }
      for (const [id, since] of this.gaps) {
        if (at - since > this.gapWaitMs) this.gaps.delete(id);
      }
    }
    for (;;) {
      const events = await store.eventsSince(this.high, PAGE);
      for (const event of events) {
        const skipped = event.id - this.high - 1;
        if (skipped > 0 && skipped <= MAX_GAP_RUN) {
          for (let id = this.high + 1; id < event.id && this.gaps.size < MAX_GAPS; id++) this.gaps.set(id, at);
        }
        this.high = event.id;
        bus.emit(event);
      }
      if (events.length < PAGE || this.options.signal.aborted) break;
    }
  }

  private async pollLoop(): Promise<void> {
    const { signal } = this.options;
    this.requestRead(); // learns the starting point
    while (!signal.aborted) {
      await sleep(this.pollMs, signal);
      this.requestRead();
    }
  }

  private async listenLoop(): Promise<void> {
    const { signal } = this.options;
    let delayMs = 500;
    while (!signal.aborted) {
      let client: pg.Client | undefined;
      try {
        client = await this.connections.connectDedicated();
        const lost = connectionLost(client);
        const schema = (await client.query<{ schema: string | null }>('SELECT current_schema() AS schema')).rows[0]?.schema;
        client.on('notification', (message) => {
          // Other queues (schemas) on the same database notify the same channel.
          if (message.channel === EVENTS_CHANNEL && message.payload === schema) this.requestRead();
        });
        await client.query(`LISTEN ${EVENTS_CHANNEL}`);
        this.isListening = true;
        delayMs = 500;
        this.requestRead(); // whatever was committed while we were not listening
        const reason = await Promise.race([lost, aborted(signal).then(() => null)]);
        if (reason) this.warn(reason, 'LISTEN connection lost; reconnecting (polling meanwhile)');
      } catch (err) {
        this.warn(err, 'LISTEN connection failed; retrying (polling meanwhile)');
      } finally {
        this.isListening = false;
        if (client) await withDeadline(client.end(), 2000, 'close timed out').catch(() => {});
      }
      if (signal.aborted) break;
      await sleep(delayMs, signal);
      delayMs = Math.min(delayMs * 2, 10_000);
    }
  }

  /** Warns at most every 30 s: a database outage would otherwise log on every poll. */
  private warn(err: unknown, message: string): void {
    if (this.options.signal.aborted) return;
    const at = this.now();
    if (at - this.warnedAt < 30_000) return;
    this.warnedAt = at;
    this.log.warn({ err: { message: (err as Error).message } }, message);
  }
}
