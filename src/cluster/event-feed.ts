// Cross-replica event feed: brings events other replicas wrote to task_logs onto this process's bus.
import type { Logger } from '../logger.js';
import type { Db, DedicatedSession } from '../store/db.js';
import { readEventsAfter } from '../store/event-log.js';
import { listenForEvents, notifyEvents } from '../store/session-statements.js';
import { rareWarnings } from './connections.js';
import { listenSession, type ListenSession } from './listen-session.js';
import type { Store } from '../core/ports.js';
import type { ReplicaBus } from './replica-bus.js';
import { sleep } from '../timing.js';

export type EventFeedOptions = {
  db: Db;
  store: Store;
  /** The bus the queue emits on; rows this process wrote and emitted are not emitted again. */
  bus: ReplicaBus;
  signal: AbortSignal;
  log: Logger;
  /** The session to listen and notify on, shared with the output relay (started by the caller); absent: one of its own. */
  listen?: ListenSession;
  /** Reads even without a notification this often (LISTEN down, late rows). */
  pollMs?: number;
  /** How long a missing id is waited for before it is taken as a rolled-back transaction. */
  gapWaitMs?: number;
  now?: () => number;
};

export type EventFeed = {
  /** Whether the LISTEN connection is up (polling continues either way). */
  listening(): boolean;
  /** Settles once the first read has set the starting point and LISTEN is up (or the feed stopped). */
  ready: Promise<void>;
  /** Settles when the feed has stopped after `signal` aborted. */
  stopped: Promise<void>;
};

const PAGE = 500;
/**
 * Under load a replica would otherwise notify, and the others read, back to back: at most one
 * NOTIFY per this many ms per replica, and one read per READ_SPACING_MS (the first of a quiet
 * spell goes at once, so an idle queue still hands a new task over in about a round trip). Under
 * sustained writes another replica's events thus arrive within about 0.1 s. At 20 and 10 ms three
 * replicas spent a third of their transactions on the feed (0.63 of 2.3 a lease cycle: NOTIFYs and
 * reads, 350 a second at 560 cycles/s): 50 and 50 ms measured 1.19 of their cycles/s (3 pairs).
 */
const NOTIFY_SPACING_MS = 50;
const READ_SPACING_MS = 50;
/** A jump in ids larger than this is not transactions in flight (an import moved the sequence): not tracked. */
const MAX_GAP_RUN = 1000;
const MAX_GAPS = 10_000;

/**
 * Where the backend cannot listen (SQLite: one process) there is nothing to bring in: the feed
 * does nothing.
 *
 * Where it can (PostgreSQL), after this process emits events (that is, after their transaction committed)
 * the feed sends one NOTIFY on `athena_events` from the replica's LISTEN session (listen-session.ts); while one is on its
 * way, further events fold into a single next one. The NOTIFY is deliberately not sent inside
 * the writing transactions (say, by a trigger): PostgreSQL serializes the commits of all
 * notifying transactions on one lock, held through the WAL flush, which capped a 3-replica run
 * at under 100 tasks/s.
 *
 * On a notification from another session (and every `pollMs`, in case a notification was lost
 * or LISTEN is down) the feed reads the rows after the highest id it has read and emits them;
 * the replica bus drops the ones this process already emitted itself.
 *
 * Ids come from a sequence, so they are handed out at insert but become visible at commit: a
 * transaction holding id 5 can commit after the one holding id 6. Reading "after 6" would then
 * skip 5 for good. So every id the feed steps over is remembered as a gap, and gaps are looked up
 * again on each read until their row appears or `gapWaitMs` passes (a rolled-back transaction
 * leaves an id that never appears). Late rows are emitted when they show up, after higher ids.
 */
export function startEventFeed(options: EventFeedOptions): EventFeed {
  if (!options.db.capabilities.listen) return { listening: () => false, ready: Promise.resolve(), stopped: Promise.resolve() };
  return new ReplicaFeed(options).start();
}

class ReplicaFeed {
  private high: number | null = null;
  /** Ids stepped over and not seen yet -> when first missed. */
  private readonly gaps = new Map<number, number>();
  private reading: Promise<void> | null = null;
  private readAgain = false;
  private isListening = false;
  /** The LISTEN connection, also used to send this replica's notifications. */
  private client: DedicatedSession | null = null;
  private notifying = false;
  private notifyAgain = false;
  private lastNotifyAt = 0;
  private lastReadAt = 0;
  /** Warns at most every 30 s: a database outage would otherwise log on every poll. */
  private readonly warn: (err: unknown, message: string) => void;
  private readonly now: () => number;
  private readonly pollMs: number;
  private readonly gapWaitMs: number;
  private listenedOnce = false;
  private markReady!: () => void;
  private readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(private readonly options: EventFeedOptions) {
    this.now = options.now ?? Date.now;
    this.warn = rareWarnings(options.log.child({ component: 'event-feed' }), options.signal, this.now);
    this.pollMs = options.pollMs ?? 2000;
    this.gapWaitMs = options.gapWaitMs ?? 30_000;
  }

  start(): EventFeed {
    const unsubscribe = this.options.bus.onLocalEvent(() => this.requestNotify());
    const { db, signal, log } = this.options;
    const listen = this.options.listen ?? listenSession({ db, signal, log });
    listen.use({
      setup: (client) => listenForEvents(client, () => this.requestRead()),
      up: (client) => {
        this.client = client;
        this.isListening = true;
        this.listenedOnce = true;
        this.checkReady();
        this.requestRead(); // whatever was committed while we were not listening
      },
      down: () => {
        this.isListening = false;
        this.client = null;
        this.notifying = false;
      },
    });
    if (!this.options.listen) listen.start();
    const stopped = Promise.all([listen.stopped, this.pollLoop()]).then(async () => {
      unsubscribe();
      await this.reading;
    });
    void stopped.then(this.markReady);
    return { listening: () => this.isListening, ready: this.ready, stopped };
  }

  /** Tells the other replicas to read; one NOTIFY in flight at a time, later requests fold into one more. */
  private requestNotify(): void {
    const client = this.client;
    if (!client || this.options.signal.aborted) return; // not listening: the others' polls find our rows
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    this.notifyAgain = false;
    const wait = this.lastNotifyAt + NOTIFY_SPACING_MS - this.now();
    (wait > 0 ? sleep(wait, this.options.signal) : Promise.resolve())
      .then(() => {
        this.lastNotifyAt = this.now();
        return this.client === client ? notifyEvents(client) : undefined;
      })
      .then(
        () => {
          this.notifying = false;
          if (this.notifyAgain) this.requestNotify();
        },
        (err: unknown) => {
          this.notifying = false;
          this.warn(err, 'NOTIFY failed; other replicas will find the events by polling');
        },
      );
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
        const wait = this.lastReadAt + READ_SPACING_MS - this.now();
        if (wait > 0) await sleep(wait, this.options.signal);
        this.lastReadAt = this.now();
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
      this.checkReady();
      return;
    }
    const at = this.now();
    let high = this.high;
    // One query for both: rows at or below `high` fill gaps (late commits), the rest are new.
    let gapIds = [...this.gaps.keys()].slice(0, PAGE);
    for (;;) {
      const events = await readEventsAfter(db, high, gapIds, PAGE + gapIds.length);
      let fresh = 0;
      for (const event of events) {
        if (event.id <= high) {
          this.gaps.delete(event.id);
        } else {
          fresh++;
          const skipped = event.id - high - 1;
          if (skipped > 0 && skipped <= MAX_GAP_RUN) {
            for (let id = high + 1; id < event.id && this.gaps.size < MAX_GAPS; id++) this.gaps.set(id, at);
          }
          high = event.id;
          this.high = high;
        }
        bus.emitFromFeed(event);
        // A task left delayed by another replica's write is marked so (sql-due.ts): this replica's
        // claims must clear the mark when its time comes, which only its own writes told them of.
        const task = event.task;
        if (task?.status === 'pending' && task.runAfter > event.at) this.options.store.noteDelayed(task.runAfter);
      }
      if (fresh < PAGE || this.options.signal.aborted) break;
      gapIds = [];
    }
    for (const [id, since] of this.gaps) {
      if (at - since > this.gapWaitMs) this.gaps.delete(id);
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

  private checkReady(): void {
    if (this.high !== null && this.listenedOnce) this.markReady();
  }
}
