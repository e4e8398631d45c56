// Actions on many tasks at once (retry failed, cancel pending, purge) and export/import of the queue.
import { ConflictError, InvalidError } from '../errors.js';
import type { BulkFilter, ExportData, ImportData, Store } from './ports.js';
import type { TaskEvent } from './types.js';

export function createBulkActions(store: Store, publish: (events: TaskEvent[]) => void, now: () => number) {
  return {
    async retryFailed(filter: BulkFilter = {}): Promise<number> {
      const result = await store.retryFailed(filter, now());
      publish(result.events);
      return result.count;
    },

    async cancelPending(filter: BulkFilter = {}, by?: string | null): Promise<number> {
      const result = await store.cancelPending(filter, now(), by ?? null);
      publish(result.events);
      return result.count;
    },

    async purge(olderThanDays: number): Promise<number> {
      if (!Number.isFinite(olderThanDays) || olderThanDays < 0) throw new InvalidError('older_than_days must be a number >= 0');
      const result = await store.purgeFinished(now() - olderThanDays * 86_400_000, now());
      publish(result.events);
      return result.count;
    },

    exportAll(): Promise<ExportData> {
      return store.exportAll();
    },

    /** Restores an export into an empty queue (ids, logs and instances kept). */
    async importAll(data: ImportData): Promise<{ tasks: number; logs: number; schedules: number }> {
      const imported = await store.importAll(data, now());
      if (!imported.ok) {
        const has = [`${imported.total} task(s)`, ...(imported.schedules > 0 ? [`${imported.schedules} schedule(s)`] : [])].join(' and ');
        throw new ConflictError('CONFLICT', `The queue already has ${has}; import into an empty queue`, { total: imported.total, schedules: imported.schedules });
      }
      return { tasks: imported.tasks, logs: imported.logs, schedules: imported.schedules };
    },
  };
}
