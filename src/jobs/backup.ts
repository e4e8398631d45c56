// Backup loop: every BACKUP_INTERVAL_HOURS a verified snapshot of the SQLite database into BACKUP_DIR, keeping the newest BACKUP_KEEP.
import { join } from 'node:path';
import { backupDatabase, backupFileName, listBackups, rotateBackups } from '../ops/backup.js';
import type { LoopSpec } from './loop-runner.js';

export type BackupLoopOptions = {
  dbPath: string;
  dir: string;
  everyMs: number;
  keep: number;
  now: () => number;
};

export function backupLoop(options: BackupLoopOptions): LoopSpec {
  // Due one interval after the newest backup, so restarts neither skip a backup nor take one each time.
  const newest = listBackups(options.dir, options.dbPath)[0];
  const dueIn = newest ? newest.at + options.everyMs - options.now() : 0;
  return {
    name: 'backup',
    schedule: { kind: 'interval', everyMs: options.everyMs },
    // Not in the first minute: startup has enough to do.
    firstRunInMs: Math.max(60_000, dueIn),
    jitterMs: 30_000,
    async run({ signal, log }) {
      const at = options.now();
      const result = await backupDatabase(options.dbPath, join(options.dir, backupFileName(options.dbPath, at)), { signal, now: options.now });
      const removed = rotateBackups(options.dir, options.dbPath, options.keep);
      log.info(
        { path: result.path, bytes: result.bytes, tasks: result.tasks, durationMs: result.durationMs, removed: removed.length },
        'backup written and verified (integrity_check ok)',
      );
      return result;
    },
  };
}
