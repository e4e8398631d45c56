// Transitions that arrive together, served together (where the backend declares batchedWrites): one
// UPDATE changes several tasks, each with its own values and its own state check.
import { taskField, type FieldType, type TaskFieldName } from '../core/task-fields.js';
import type { TransitionOutcome, TransitionSpec } from '../core/ports.js';
import { LOCK_NAMES, lockNamedThen, placeholders, type Dialect, type Queryable, type Unanswered } from './db.js';
import type { ClaimControls } from '../core/queue-controls-types.js';
import { RETURNED } from './sql-claim-batch.js';
import { HELD_SQL, readyConditionOf } from './sql-conditions.js';
import { controlCondition, type ControlsCache } from './sql-queue-controls.js';
import { rowToTask, type TaskRow } from './rows.js';
import { logThen, type MarkSeen, type Seen } from './sql-task-writes.js';
import type { WebhooksInForce } from './sql-webhooks.js';
import type { Served } from './write-batches.js';
import { ATTEMPT_SQL } from './task-change.js';
import { storedValue } from './task-columns.js';
import { afterTransition, backToPending } from './sql-waiting.js';
import { nextReadyAfter, type ReadyFor } from './sql-held-back.js';

/** The conditions a transition may add to its status check, each a column compared with one value of its own. */
const CHECKS = [
  ['leaseToken', 'w_lease_token', 'text', 'tasks.lease_token = v.w_lease_token'],
  ['instanceId', 'w_instance_id', 'text', 'tasks.instance_id = v.w_instance_id'],
  ['leaseExpiredBefore', 'w_expired_before', 'bigint', 'tasks.lease_expires_at < v.w_expired_before'],
  ['assignableTo', 'w_assignable', 'text', '(tasks.assignee IS NULL OR tasks.assignee = v.w_assignable)'],
  ['attemptsAre', 'w_attempts', 'bigint', 'tasks.attempts = v.w_attempts'],
] as const satisfies ReadonlyArray<readonly [keyof TransitionSpec, string, 'text' | 'bigint', string]>;

const NUMERIC: ReadonlySet<FieldType> = new Set(['boolean', 'integer', 'time', 'timeOrNone']);

const setFields = (spec: TransitionSpec) =>
  (Object.keys(spec.set) as TaskFieldName[]).filter((name) => spec.set[name as keyof TransitionSpec['set']] !== undefined).map(taskField);

/**
 * The batch kind of a transition, or null for one that runs on its own: one whose decision needs a
 * read before its UPDATE (a holder recorded before it changes), one that cascades to dependants, or
 * one that changes the priority (a derived column). Claims by id batch too: their WIP locks are
 * taken before the batch's statement, which counts each instance's held tasks.
 */
export function transitionKind(spec: TransitionSpec): string | null {
  if (spec.cascade || spec.set.priority !== undefined) return null;
  if (spec.set.instanceId !== undefined && spec.holderSeen) return null;
  if (spec.claimable && spec.set.instanceId == null) return null;
  return JSON.stringify([
    spec.from, CHECKS.map(([name]) => spec[name] !== undefined), spec.reviewRequired ?? null, setFields(spec).map((f) => f.name),
    spec.attempt ?? null, spec.log.action, spec.holderSeen === true, spec.instance?.seen === true, spec.claimable === true, spec.wipLimit?.max ?? null,
  ]);
}

/**
 * What a transition must not share a batch with: another on its task, and, for one under a WIP limit,
 * another of its instance (the statement counts what each instance holds, not what it claims beside).
 */
export function transitionKeys(spec: TransitionSpec): string[] {
  return spec.wipLimit ? [`task:${spec.taskId}`, `instance:${spec.wipLimit.instanceId}`] : [`task:${spec.taskId}`];
}

/** For claims by id: the pauses and limits in force, and the guard of their stamp (see ControlsCache). */
export type ClaimableUnder = { controls: ClaimControls; guard: (params: unknown[]) => string };

/**
 * One UPDATE applying transitions of one kind (`transitionKind`) to their tasks (one each), each
 * with its own values and only where its task is in the state it needs. Returns the changed rows;
 * a transition whose task was not in that state has none (it runs again on its own, to say why).
 */
export async function transitionTogether(q: Queryable, dialect: Dialect, specs: readonly TransitionSpec[], claimable?: ClaimableUnder): Promise<TaskRow[]> {
  const first = specs[0]!;
  const fields = setFields(first);
  const checks = CHECKS.filter(([name]) => first[name] !== undefined);
  const columns: Array<readonly [string, 'text' | 'bigint']> = [
    ['id', 'bigint'], ['now', 'bigint'], ['wip_instance', 'text'],
    ...checks.map(([, column, type]) => [column, type] as const),
    ...fields.map((f) => [`s_${f.column}`, NUMERIC.has(f.type) ? 'bigint' : 'text'] as const),
  ];
  const records = specs.map((spec) => {
    const record: Record<string, unknown> = { id: spec.taskId, now: spec.now, wip_instance: spec.wipLimit?.instanceId ?? null };
    for (const [name, column] of checks) record[column] = spec[name];
    for (const f of fields) {
      const value = storedValue(f, spec.set[f.name as keyof TransitionSpec['set']]);
      record[`s_${f.column}`] = typeof value === 'boolean' ? Number(value) : value;
    }
    return record;
  });
  const set = [
    ...fields.map((f) => `${f.column} = v.s_${f.column}`), 'updated_at = v.now', ...(first.attempt ? [ATTEMPT_SQL[first.attempt]] : []),
    // Back to pending: as taskChange writes it (sql-waiting.ts, sql-due.ts).
    ...(first.set.status === 'pending' ? [backToPending(fields.some((f) => f.name === 'runAfter') ? 'v.s_run_after' : 'run_after', 'v.now')] : []),
  ];
  const where = ['tasks.id = v.id', `tasks.status IN (${placeholders(first.from.length)})`, ...checks.map(([, , , sql]) => sql)];
  const params: unknown[] = [JSON.stringify(records), ...first.from];
  if (first.reviewRequired !== undefined) {
    where.push('tasks.review_required = ?');
    params.push(first.reviewRequired ? 1 : 0);
  }
  if (first.wipLimit) {
    where.push(`(SELECT COUNT(*) FROM tasks w WHERE w.instance_id = v.wip_instance AND w.status IN (${HELD_SQL})) < ?`);
    params.push(first.wipLimit.max);
  }
  if (first.claimable) {
    if (!claimable) throw new Error('claims by id batch only under the controls in force');
    // The conditions a claim by id checks alone (see SqlStore.transitionAlone), for each row's claimer.
    const ready = readyConditionOf(dialect, 'v.now', 'v.s_instance_id');
    const allowed = controlCondition(dialect, claimable.controls, params);
    const current = claimable.guard(params);
    where.push(`tasks.id IN (SELECT t.id FROM tasks t WHERE t.id = v.id AND ${ready} AND ${allowed} AND ${current})`);
  }
  const rows = await q.all<TaskRow>(`UPDATE tasks SET ${set.join(', ')} FROM ${dialect.jsonRecords('v', columns)} WHERE ${where.join(' AND ')} RETURNING ${RETURNED}`, params);
  await afterTransition(q, dialect, first, rows);
  return rows;
}

/**
 * A batch of transitions (one kind, distinct tasks) in the caller's transaction: the WIP locks of
 * claims by id, the UPDATE (under the controls in force for claims), the audit rows and last-seen of
 * those it changed, and the first ready task after them for those asking (`ready`: one read for the
 * batch). Returns the outcome of each transition served, by its first key; the rest run on their own.
 */
export async function serveTransitions(
  q: Queryable, dialect: Dialect, inForce: ControlsCache, webhooks: WebhooksInForce, markSeen: MarkSeen, specs: TransitionSpec[], ready: ReadyFor | null = null,
): Promise<Served<TransitionOutcome> | Unanswered<Served<TransitionOutcome>>> {
  const served: Served<TransitionOutcome> = new Map();
  const first = specs[0]!;
  const wipLocks = first.wipLimit ? specs.map((s) => LOCK_NAMES.wip(s.wipLimit!.instanceId)) : [];
  const rows = await lockNamedThen(q, dialect, wipLocks, async () =>
    first.claimable
      ? ((
          await inForce.apply(q, async (controls, guard) => {
            // Left to the claims one by one under limits (counted per claim), as claims by kind are.
            if (controls.limits.length > 0) return [];
            const rows = await transitionTogether(q, dialect, specs, { controls, guard });
            return rows.length > 0 ? rows : null;
          })
        ).result ?? [])
      : transitionTogether(q, dialect, specs),
  );
  if (rows.length === 0) return served;
  const byTask = new Map(specs.map((s) => [s.taskId, s]));
  const changed = rows.map((row) => {
    const task = rowToTask(row);
    const spec = byTask.get(task.id)!;
    return { task, spec, entry: spec.log, now: spec.now };
  });
  const seen: Seen[] = [];
  for (const { task, spec } of changed) {
    if (spec.instance?.seen) seen.push([spec.instance.id, spec.instance.name ?? null, spec.now]);
    if (spec.holderSeen && task.instanceId) seen.push([task.instanceId, null, spec.now]);
  }
  const next = await nextReadyAfter(q, dialect, ready);
  return logThen(q, dialect, webhooks, changed, () => Promise.all([markSeen(...seen), next?.read]), (events) => {
    changed.forEach(({ task, spec }, i) =>
      served.set(transitionKeys(spec)[0]!, { ok: true, task, events: [events[i]!], ...(next && spec.nextReady ? { nextReadyId: next.id } : {}) }),
    );
    return served;
  });
}
