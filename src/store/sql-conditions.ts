// WHERE fragments the queue's reads and writes share: which tasks an agent holds, which tasks an
// agent's labels cover, which pending tasks are ready to be claimed.
import { HELD_STATUSES } from '../core/types.js';
import { placeholders } from './db.js';
import type { LabelScope } from '../core/ports.js';

export const HELD_SQL = HELD_STATUSES.map((s) => `'${s}'`).join(', ');

/** WHERE fragment: the task's labels are all covered by the agent's labels. */
export function labelCondition(labels: LabelScope, params: unknown[]): string {
  if (labels === '*') return '1 = 1';
  if (labels.length === 0) return 'NOT EXISTS (SELECT 1 FROM task_labels l WHERE l.task_id = t.id)';
  params.push(...labels);
  return `NOT EXISTS (SELECT 1 FROM task_labels l WHERE l.task_id = t.id AND l.label NOT IN (${placeholders(labels.length)}))`;
}

/** WHERE fragment: due, an attempt left, and every dependency completed. */
export function readyCondition(now: number, params: unknown[]): string {
  params.push(now);
  return `t.run_after <= ? AND t.attempts < t.max_attempts AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks p ON p.id = d.depends_on WHERE d.task_id = t.id AND p.status <> 'completed')`;
}
