// Why a task waits, from what the dashboard holds: the same rules a claim applies in SQL
// (src/store/sql-conditions.ts readyCondition and assigneeCondition, src/store/sql-queue-controls.ts
// controlCondition), read here so a card can say what keeps it in the queue. No DOM: tested in Node too.

/** Whether a pause or limit scope (`queue`, `label:<name>`, `project:<name>`) covers this task. */
export function scopeCovers(scope, task) {
  if (scope === 'queue') return true;
  const colon = scope.indexOf(':');
  const kind = scope.slice(0, colon);
  const value = scope.slice(colon + 1);
  if (kind === 'label') return task.labels.includes(value);
  if (kind === 'project') return task.project === value;
  return false;
}

/**
 * The reasons, each `{ kind, text }`, in the order a claim checks them; empty when nothing in the
 * queue's rules holds the task back (it waits only for a free agent whose labels cover it).
 * ctx: { pauses: [{scope, paused_by, reason}], limits: [{scope, max, held}],
 *        statusOf(id) → the status of a task, undefined when the dashboard does not know it, null when it is gone,
 *        now: ms, formatTime(iso) → text }
 * A dependency whose status is unknown is left out (the caller loads it); a deleted one holds nothing back,
 * as in the claim's SQL.
 */
export function waitingReasons(task, ctx) {
  const time = ctx.formatTime ?? ((iso) => iso);
  if (task.status === 'blocked') return [{ kind: 'blocked', text: task.blocked_reason ? `blocked: ${task.blocked_reason}` : 'blocked' }];
  if (task.status !== 'pending') return [];
  const out = [];
  for (const pause of ctx.pauses) {
    if (!scopeCovers(pause.scope, task)) continue;
    const by = pause.paused_by ? ` by ${pause.paused_by}` : '';
    out.push({ kind: 'paused', text: pause.scope === 'queue' ? `queue paused${by}` : `paused: ${pause.scope}${by}` });
  }
  for (const limit of ctx.limits) {
    if (scopeCovers(limit.scope, task) && limit.held >= limit.max) {
      out.push({ kind: 'limit', text: `concurrency limit reached: ${limit.scope} ${limit.held}/${limit.max}` });
    }
  }
  const open = [];
  for (const id of task.depends_on) {
    const status = ctx.statusOf(id);
    // Unknown (not loaded yet), gone (deleted: the claim's join finds no row) or completed: nothing to wait for.
    if (status === undefined || status === null || status === 'completed') continue;
    open.push(`#${id} (${status.replace('_', ' ')})`);
  }
  if (open.length > 0) out.push({ kind: 'dependencies', text: `waiting on ${open.join(', ')}` });
  if (task.run_after && Date.parse(task.run_after) > ctx.now) out.push({ kind: 'scheduled', text: `scheduled: not before ${time(task.run_after)}` });
  if (task.assignee) out.push({ kind: 'assigned', text: `assigned: only ${task.assignee} may take it` });
  if (task.preferred_instance_id && task.preferred_until && Date.parse(task.preferred_until) > ctx.now) {
    out.push({ kind: 'preferred', text: `kept for ${task.preferred_instance_id} until ${time(task.preferred_until)} (changes asked in review)` });
  }
  if (task.attempts >= task.max_attempts) out.push({ kind: 'attempts', text: `no attempt left (${task.attempts}/${task.max_attempts})` });
  return out;
}

/** Dependencies of these tasks whose status the dashboard does not know yet. */
export function unknownDependencies(tasks, statusOf) {
  const missing = new Set();
  for (const task of tasks) {
    if (task.status !== 'pending') continue;
    for (const id of task.depends_on) if (statusOf(id) === undefined) missing.add(id);
  }
  return [...missing];
}
