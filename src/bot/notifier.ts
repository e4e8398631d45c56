// The Discord notifier: a durable consumer of task events (rows of task_logs) with a persisted cursor.
//
// Position is kept in three rows of the cursors table: `discord-notifier` (every event up to it is
// handled), and while a batch is being delivered, its last event id and how many of its planned
// messages Discord has accepted. A restart re-plans the same batch (planning is deterministic) and
// skips what was sent; a message sent but not yet recorded is sent again with the same nonce,
// which Discord drops as a duplicate for a few minutes (enforce_nonce).
import type { EventBus } from '../core/events.js';
import type { Task, TaskEvent } from '../core/types.js';
import type { Logger } from '../logger.js';
import type { EventLogPort } from '../core/ports.js';
import type { BotMessage } from './messages.js';
import { isAnnouncement, notificationKind, planNotifications, type PlanOptions, type PlannedMessage } from './notification-plan.js';
import { backoffMs, createWakeup, sleep } from '../timing.js';

import { NOTIFIER_CURSOR } from './notifier-cursor.js';

export { NOTIFIER_CURSOR };
const BATCH_END = `${NOTIFIER_CURSOR}:batch-end`;
const BATCH_SENT = `${NOTIFIER_CURSOR}:batch-sent`;

export type NotifierOptions = PlanOptions & {
  /** A batch waits until its first event is this old (or the batch is full), so a burst lands in one batch. */
  coalesceMs: number;
  batchSize?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Read the feed this often even without a wake-up (events written by another process). */
  idleCheckMs?: number;
  /**
   * A missing id younger than this may be a transaction still committing (PostgreSQL hands out
   * ids before commit), so the batch stops before it; older gaps are rolled-back or purged rows.
   */
  gapGraceMs?: number;
};

/** Sends one planned message; throws when Discord did not accept it. */
export type Delivery = (message: PlannedMessage, rendered: BotMessage) => Promise<void>;

export type NotifierDeps = {
  /** The event log it reads and keeps its cursors in (the queue gives it). */
  eventLog: EventLogPort;
  bus: EventBus;
  nextInLine: () => Promise<Task | null>;
  deliver: Delivery;
  /** Errors retrying cannot fix (the message itself is invalid): logged and skipped. */
  isPermanent?: (err: unknown) => boolean;
  log: Logger;
  options: NotifierOptions;
  now?: () => number;
};

export type NotifierStatus = { ok: boolean; detail: string; position: number | null; sent: number };

type Batch = { events: TaskEvent[]; end: number; sent: number; fresh: boolean };

export function createNotifier(deps: NotifierDeps) {
  const { eventLog, bus, log, options } = deps;
  const now = deps.now ?? Date.now;
  const batchSize = options.batchSize ?? 500;
  const retryBaseMs = options.retryBaseMs ?? 1000;
  const retryMaxMs = options.retryMaxMs ?? 60_000;
  const idleCheckMs = options.idleCheckMs ?? 30_000;
  const gapGraceMs = options.gapGraceMs ?? 5000;
  const isPermanent = deps.isPermanent ?? (() => false);
  const newEvents = createWakeup();
  const retryNow = createWakeup();

  let position: number | null = null;
  let sent = 0;
  let health = { ok: true, detail: 'starting' };

  function setFailing(err: unknown, what: string): void {
    const message = (err as Error)?.message ?? String(err);
    if (health.ok) log.warn({ err }, `${what}; retrying with backoff`);
    else log.debug({ err }, `${what}; still retrying`);
    health = { ok: false, detail: `${what}: ${message}` };
  }

  async function advance(to: number): Promise<void> {
    await eventLog.setCursor(NOTIFIER_CURSOR, to, now());
    position = to;
  }

  /** Reads the persisted position, starting at the newest event on first start (no replay of history). */
  async function load(): Promise<Batch | null> {
    let cursor = await eventLog.getCursor(NOTIFIER_CURSOR);
    if (cursor === null) {
      cursor = await eventLog.lastEventId();
      await eventLog.setCursor(NOTIFIER_CURSOR, cursor, now());
      log.info({ position: cursor }, 'notifications start at the newest event');
    }
    position = cursor;
    const end = (await eventLog.getCursor(BATCH_END)) ?? 0;
    if (end <= cursor) return null;
    const alreadySent = (await eventLog.getCursor(BATCH_SENT)) ?? 0;
    const events = (await eventLog.eventsSince(cursor, batchSize * 2)).filter((e) => e.id <= end);
    log.info({ from: cursor, to: end, alreadySent }, 'resuming an interrupted notification batch');
    return { events, end, sent: alreadySent, fresh: false };
  }

  /** The events up to the first gap that may still fill in. */
  function settled(events: TaskEvent[], after: number): TaskEvent[] {
    let expected = after + 1;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      if (event.id !== expected && now() - event.at < gapGraceMs) return events.slice(0, i);
      expected = event.id + 1;
    }
    return events;
  }

  async function nextBatch(signal: AbortSignal): Promise<Batch | null> {
    const events = await eventLog.eventsSince(position!, batchSize);
    if (events.length === 0) {
      await newEvents.wait(idleCheckMs, signal);
      return null;
    }
    // A batch spans at least `coalesceMs` from its first event (unless full), so a burst of
    // changes lands in few batches and each becomes one summary instead of a message per task.
    const youngFor = events[0]!.at + options.coalesceMs - now();
    if (events.length < batchSize && youngFor > 0) {
      await sleep(youngFor, signal);
      return null;
    }
    const ready = settled(events, position!);
    if (ready.length === 0) {
      await sleep(Math.min(gapGraceMs, 250), signal);
      return null;
    }
    return { events: ready, end: ready.at(-1)!.id, sent: 0, fresh: true };
  }

  /** Sends one message until Discord accepts it; false when stopped first. */
  async function deliverWithRetry(message: PlannedMessage, signal: AbortSignal): Promise<boolean> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const next = message.needsNextInLine ? await deps.nextInLine() : null;
        await deps.deliver(message, message.render(next));
        if (!health.ok) log.info('notifications are being delivered again');
        health = { ok: true, detail: 'delivering' };
        sent++;
        return true;
      } catch (err) {
        if (signal.aborted) return false;
        if (isPermanent(err)) {
          log.error({ err, nonce: message.nonce, events: message.eventIds }, 'Discord refused a notification as invalid; skipping it');
          return true;
        }
        setFailing(err, 'could not deliver a notification');
        await retryNow.wait(backoffMs(attempt, retryBaseMs, retryMaxMs), signal);
      }
    }
    return false;
  }

  async function deliverBatch(batch: Batch, signal: AbortSignal): Promise<void> {
    const plan = planNotifications(batch.events, options);
    if (plan.length > 0) {
      if (batch.fresh) {
        await eventLog.setCursor(BATCH_SENT, 0, now());
        await eventLog.setCursor(BATCH_END, batch.end, now());
      }
      for (let i = batch.sent; i < plan.length; i++) {
        if (!(await deliverWithRetry(plan[i]!, signal))) return;
        await eventLog.setCursor(BATCH_SENT, i + 1, now());
      }
    }
    await advance(batch.end);
  }

  return {
    /** Runs until `signal` aborts; never rejects. */
    async run(signal: AbortSignal): Promise<void> {
      const unsubscribe = bus.subscribe((event) => {
        if ((position === null || event.id > position) && (notificationKind(event, options) || isAnnouncement(event))) newEvents.wake();
      });
      let pending: Batch | null | undefined; // undefined: reload the position from the event log
      let failures = 0;
      try {
        while (!signal.aborted) {
          try {
            if (pending === undefined) pending = await load();
            const batch = pending ?? (await nextBatch(signal));
            pending = null;
            if (batch && !signal.aborted) await deliverBatch(batch, signal);
            failures = 0;
          } catch (err) {
            if (signal.aborted) break;
            pending = undefined;
            setFailing(err, 'the notification feed failed');
            await retryNow.wait(backoffMs(failures++, retryBaseMs, retryMaxMs), signal);
          }
        }
      } finally {
        unsubscribe();
      }
    },
    /** Retry now (e.g. Discord just reconnected) instead of waiting out the backoff. */
    nudge(): void {
      retryNow.wake();
      newEvents.wake();
    },
    status(): NotifierStatus {
      return { ...health, position, sent };
    },
  };
}
