// Which background loops `athena serve` runs, with what settings; started on the leader replica only.
import type { Config } from '../config.js';
import type { Queue } from '../core/queue.js';
import type { Logger } from '../logger.js';
import type { Db } from '../store/db.js';
import { backupDirFor } from '../ops/backup.js';
import { backupLoop } from './backup.js';
import { instanceLivenessLoop } from './liveness.js';
import type { Loop, LoopRunner } from './loop-runner.js';
import { retentionLoop, type RetentionWarning } from './retention.js';
import { dailySummaryLoop, type DailySummary } from './summary.js';
import { leaseSweeperLoop } from './sweeper.js';
import { schedulesLoop } from './schedules.js';
import { webhookDeliveryLoop, type WebhookDelivery } from './webhooks.js';

export type ServerLoopsConfig = Pick<
  Config,
  | 'SWEEP_INTERVAL_SECONDS'
  | 'SCHEDULE_TICK_SECONDS'
  | 'INSTANCE_OFFLINE_MINUTES'
  | 'RETENTION_DAYS'
  | 'BACKUP_DIR'
  | 'BACKUP_INTERVAL_HOURS'
  | 'BACKUP_KEEP'
  | 'SUMMARY_TIME'
  | 'TZ'
  | 'DB_PATH'
> &
  Partial<Pick<Config, 'WEBHOOK_POLL_SECONDS'>>;

export type ServerLoopsDeps = {
  config: ServerLoopsConfig;
  queue: Queue;
  db: Db;
  log: Logger;
  runner: LoopRunner;
  onSummary?: (summary: DailySummary) => void | Promise<void>;
  onRetentionWarning?: (warning: RetentionWarning) => void | Promise<void>;
  /** Sends webhook deliveries from the outbox. */
  webhooks?: WebhookDelivery;
};

/** Starts the loops under `signal`; `stopped` settles when every one has ended after it aborts. */
export function startServerLoops(deps: ServerLoopsDeps, signal: AbortSignal): { loops: Loop[]; stopped: Promise<void> } {
  const { config, queue, db, log, runner } = deps;
  const loops: Loop[] = [
    runner.start(leaseSweeperLoop(queue, { everyMs: config.SWEEP_INTERVAL_SECONDS * 1000 }), signal),
    runner.start(schedulesLoop(queue, { everyMs: config.SCHEDULE_TICK_SECONDS * 1000 }), signal),
    runner.start(instanceLivenessLoop(queue, { offlineAfterMs: config.INSTANCE_OFFLINE_MINUTES * 60_000 }), signal),
    runner.start(
      dailySummaryLoop({ queue, at: config.SUMMARY_TIME, timeZone: config.TZ, retentionDays: config.RETENTION_DAYS, onSummary: deps.onSummary }),
      signal,
    ),
  ];
  if (deps.webhooks) loops.push(runner.start(webhookDeliveryLoop(deps.webhooks, { everyMs: (config.WEBHOOK_POLL_SECONDS ?? 1) * 1000 }), signal));
  if (config.RETENTION_DAYS > 0) {
    loops.push(runner.start(retentionLoop(queue, { retentionDays: config.RETENTION_DAYS, onWarning: deps.onRetentionWarning }), signal));
  } else {
    log.info('retention is off (RETENTION_DAYS=0): finished tasks are kept');
  }
  if (!db.capabilities.fileBackup) {
    log.info('no backup loop on PostgreSQL: back it up with pg_dump (e.g. pg_dump "$DATABASE_URL" > athena.sql) or your provider\'s snapshots');
  } else if (config.BACKUP_INTERVAL_HOURS <= 0 || config.DB_PATH === ':memory:') {
    log.info('backups are off (BACKUP_INTERVAL_HOURS=0)');
  } else {
    loops.push(
      runner.start(
        backupLoop({
          dbPath: config.DB_PATH,
          dir: backupDirFor(config),
          everyMs: config.BACKUP_INTERVAL_HOURS * 3_600_000,
          keep: config.BACKUP_KEEP,
          now: queue.now,
        }),
        signal,
      ),
    );
  }
  return { loops, stopped: Promise.all(loops.map((l) => l.stopped)).then(() => undefined) };
}
