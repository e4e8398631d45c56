// Reads of task_logs as the change feed: the events after a position, and late ones looked up again.
import type { TaskEvent } from '../core/types.js';
import { placeholders, type Db } from './db.js';
import type { TaskRow } from './rows.js';
import { EVENT_SELECT, rowToEvent } from './event-payload.js';

/**
 * Events with ids above `afterId`, and those among `lateIds` (ids stepped over earlier whose
 * transactions had not committed yet), in id order; at most `limit` rows in all.
 */
export async function readEventsAfter(db: Db, afterId: number, lateIds: readonly number[], limit: number): Promise<TaskEvent[]> {
  const rows = await db.all<TaskRow>(
    `${EVENT_SELECT} WHERE l.id > ?${lateIds.length > 0 ? ` OR l.id IN (${placeholders(lateIds.length)})` : ''} ORDER BY l.id LIMIT ?`,
    [afterId, ...lateIds, limit],
  );
  return rows.map(rowToEvent);
}
