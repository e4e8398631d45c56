// WHERE fragments the queue's reads and writes share: which tasks an agent holds, which tasks an
// agent's labels cover, which pending tasks are ready to be claimed.
import { HELD_STATUSES } from '../core/types.js';
import { placeholders, type Dialect } from './db.js';
import { labelsWithin, someDependency } from './sql-lists.js';
import type { LabelScope } from '../core/ports.js';

export const HELD_SQL = HELD_STATUSES.map((s) => `'${s}'`).join(', ');

/** WHERE fragment: the task's labels are all covered by the agent's labels. */
export function labelCondition(dialect: Dialect, labels: LabelScope, params: unknown[]): string {
  if (labels === '*') return '1 = 1';
  params.push(...labels);
  return labelsWithin(dialect, 't', labels.length);
}

/**
 * WHERE fragment: due, an attempt left, every dependency completed, and not kept for another agent
 * (after a review asked for changes, the agent that did the work has it first until preferred_until).
 * `instanceId` is who would claim it; null asks for tasks anyone may claim now.
 */
export function readyCondition(dialect: Dialect, now: number, params: unknown[], instanceId: string | null): string {
  params.push(now, now, instanceId);
  return readyConditionOf(dialect, '?', '?');
}

/** readyCondition with the time and the claimer as SQL expressions (`now` appears first, twice). */
export function readyConditionOf(dialect: Dialect, now: string, instanceId: string): string {
  return `t.run_after <= ${now} AND t.attempts < t.max_attempts AND NOT ${someDependency(dialect, 't', (p) => `${p}.status <> 'completed'`)}
    AND (t.preferred_instance_id IS NULL OR t.preferred_until <= ${now} OR t.preferred_instance_id = ${instanceId})`;
}

/** WHERE fragment: the task is assigned to nobody or to this instance. */
export function assigneeCondition(instanceId: string, params: unknown[]): string {
  params.push(instanceId);
  return '(t.assignee IS NULL OR t.assignee = ?)';
}

/** WHERE fragment: the task belongs to one of these projects (any task when none is named). */
export function projectCondition(projects: readonly string[], params: unknown[]): string {
  if (projects.length === 0) return '1 = 1';
  params.push(...projects);
  return `t.project IN (${placeholders(projects.length)})`;
}
