// Retention loop: purges completed/cancelled tasks (and their logs) older than RETENTION_DAYS, a day after announcing what will go.
import type { Queue } from '../core/queue.js';
import type { LoopSpec } from './loop-runner.js';

export const DAY_MS = 86_400_000;

/** The announcement made a day before a purge. */
export type RetentionWarning = {
  /** Finished tasks that will be purged (an upper bound: tasks still needed by a dependant stay). */
  count: number;
  /** Tasks finished before this instant are the ones announced. */
  finishedBefore: number;
  /** The purge happens at the first retention run after this instant. */
  purgeAfter: number;
  retentionDays: number;
};

// Kept in the cursors table, so the notice period survives restarts.
const WARNED_AT = 'retention:warned-at';
const WARNED_CUTOFF = 'retention:warned-cutoff';

export type RetentionOptions = {
  retentionDays: number;
  /** How often to look (the purge itself follows its warning by a day). */
  everyMs?: number;
  /** Told about every warning that announces at least one task (the Discord notifier posts it). */
  onWarning?: (warning: RetentionWarning) => void | Promise<void>;
};

/**
 * Each run either waits (the last warning is less than a day old) or purges what the last warning
 * announced — never more, even if RETENTION_DAYS changed since — and then announces the next batch:
 * tasks that will be older than RETENTION_DAYS a day from now. The first run ever only announces.
 */
export function retentionLoop(queue: Pick<Queue, 'getCursor' | 'setCursor' | 'countPurgeable' | 'now' | 'purge'>, options: RetentionOptions): LoopSpec {
  const retentionMs = options.retentionDays * DAY_MS;
  return {
    name: 'retention',
    schedule: { kind: 'interval', everyMs: options.everyMs ?? 3_600_000 },
    firstRunInMs: 60_000,
    jitterMs: 60_000,
    async run({ log }) {
      const now = queue.now();
      const warnedAt = await queue.getCursor(WARNED_AT);
      const warnedCutoff = await queue.getCursor(WARNED_CUTOFF);
      let purged = 0;
      if (warnedAt !== null && warnedCutoff !== null) {
        if (now - warnedAt < DAY_MS) return { purged: 0, warning: null };
        const cutoff = Math.min(now - retentionMs, warnedCutoff);
        // queue.purge takes an age; the extra second keeps its own clock read from reaching past the announced cutoff.
        purged = await queue.purge(Math.max(0, now - cutoff + 1000) / DAY_MS);
        if (purged > 0) log.info({ purged, finishedBefore: new Date(cutoff).toISOString() }, 'purged finished tasks past retention');
      }
      const finishedBefore = now - retentionMs + DAY_MS;
      const warning: RetentionWarning = {
        count: await queue.countPurgeable(finishedBefore),
        finishedBefore,
        purgeAfter: now + DAY_MS,
        retentionDays: options.retentionDays,
      };
      if (warning.count > 0) {
        log.warn(
          { count: warning.count, finishedBefore: new Date(finishedBefore).toISOString(), purgeAfter: new Date(warning.purgeAfter).toISOString() },
          `${warning.count} finished task(s) will be purged in a day (RETENTION_DAYS=${options.retentionDays})`,
        );
        // Before recording the warning: if telling fails, the run fails and the warning is retried.
        await options.onWarning?.(warning);
      }
      await queue.setCursor(WARNED_CUTOFF, finishedBefore, now);
      await queue.setCursor(WARNED_AT, now, now);
      return { purged, warning };
    },
  };
}

/** The notice people read (Discord, logs) a day before a purge. */
export function retentionNoticeText(warning: RetentionWarning, timeZone = 'UTC'): string {
  const when = (ms: number) => new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'medium', timeStyle: 'short' }).format(new Date(ms));
  return (
    `${warning.count} completed or cancelled task(s) finished before ${when(warning.finishedBefore)} ${timeZone} ` +
    `will be deleted after ${when(warning.purgeAfter)} ${timeZone} (RETENTION_DAYS=${warning.retentionDays}). ` +
    'Export them first with GET /api/export if you need them.'
  );
}
