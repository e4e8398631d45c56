// Claims that arrive together, served together (where the backend declares batchedWrites): one
// statement hands the n best claimable tasks to n waiting agents, each with its own lease.
import { TASK_FIELDS } from '../core/task-fields.js';
import type { ClaimControls } from '../core/queue-controls-types.js';
import type { ClaimNextOutcome, ClaimNextSpec } from '../core/ports.js';
import { LOCK_NAMES, lockNamedThen, type Dialect, type Queryable, type Unanswered } from './db.js';
import { FIRST_OF_EACH_LIST, HELD_SQL, coveredLabelLists, firstAcrossLists, idIn, labelCondition, projectCondition, readyCondition, walkSource } from './sql-conditions.js';
import { controlCondition, type ControlsCache } from './sql-queue-controls.js';
import { claimParts } from './sql-held-back.js';
import { rowToTask, type TaskRow } from './rows.js';
import { logThen, type MarkSeen } from './sql-task-writes.js';
import type { WebhooksInForce } from './sql-webhooks.js';
import type { Served } from './write-batches.js';
import { WALKED } from './sql-waiting.js';

/** Every column of the changed rows, named through the table (the FROM items share some names; SQLite takes no `tasks.*` here). */
export const RETURNED = TASK_FIELDS.map((f) => `tasks.${f.column}`).join(', ');

/** The claims' own values, read by the statement from one JSON parameter. */
const AGENT_COLUMNS = [
  ['slot', 'bigint'],
  ['instance_id', 'text'],
  ['instance_name', 'text'],
  ['lease_token', 'text'],
  ['lease_expires_at', 'bigint'],
  ['claimed_at', 'bigint'],
] as const;

/** The batch kind of a claim: claims alike in these are served by one statement. */
export const claimKind = (spec: ClaimNextSpec): string => JSON.stringify([spec.labels, spec.projects, spec.wipLimit]);

/**
 * One statement claiming for several agents with the same labels, projects and WIP limit (`specs`,
 * one per instance), as if each had claimed alone at the earliest of their times, in arrival order:
 * the best claimable task goes to the first, the next to the second. An agent that would be treated
 * apart is left out, for its own claim: one that holds its WIP limit, or one with a pending task
 * assigned to it or kept for it (the batch's candidates are tasks meant for anyone). Returns the
 * claimed rows (each names its agent in instance_id); agents short of a task get none.
 *
 * The caller holds the WIP locks of the instances when there is a limit, in a statement before
 * this one (on READ COMMITTED this one then sees every claim they committed), and runs it only
 * while no concurrency limit is in force: counting one against n claims at once is not done here.
 */
export async function claimTogether(q: Queryable, dialect: Dialect, specs: readonly ClaimNextSpec[], controls: ClaimControls, guard: (params: unknown[]) => string): Promise<TaskRow[]> {
  const first = specs[0]!;
  const covered = await coveredLabelLists(q, dialect, first.labels);
  if (covered?.length === 0) return [];
  const now = Math.min(...specs.map((s) => s.now));
  const agents = specs.map((s, slot) => ({
    slot, instance_id: s.instanceId, instance_name: s.instanceName, lease_token: s.leaseToken, lease_expires_at: s.leaseExpiresAt, claimed_at: s.now,
  }));
  /** WHERE fragment (over t): pending, claimable now by an agent it is not meant for, its labels meeting `labelled`. */
  const claimable = (params: unknown[], labelled: (params: unknown[]) => string): string => {
    const ready = readyCondition(dialect, now, params, null);
    const labels = labelled(params);
    const projects = projectCondition(first.projects, params);
    const allowed = controlCondition(dialect, controls, params);
    const current = guard(params);
    return `${WALKED} AND ${ready} AND ${labels} AND t.assignee IS NULL AND ${projects} AND ${allowed} AND ${current}`;
  };
  // Their projects, or labels covering several lists: the first tasks of each part, read unlocked
  // from its part of an index; the statement claims among those (agents it leaves short claim on their own).
  let among: number[] | null = null;
  const parts = await claimParts(q, dialect, controls, first.labels, first.projects, covered);
  if (parts?.length === 0) return [];
  if (parts !== null) {
    const limit = specs.length + FIRST_OF_EACH_LIST;
    const read: unknown[] = [];
    const firsts = firstAcrossLists(parts, limit, read, (slice, p) =>
      `SELECT t.id, t.priority_rank FROM tasks t ${dialect.indexedBy(slice.index)}
       WHERE ${claimable(p, slice.where)}
       ORDER BY t.priority_rank, t.id LIMIT ${limit}`,
    );
    among = (await q.all<{ id: number }>(firsts, read)).map((r) => Number(r.id));
    if (among.length === 0) return [];
  }
  const params: unknown[] = [JSON.stringify(agents), now, first.wipLimit > 0 ? first.wipLimit : 1_000_000_000];
  const chosen = among;
  const where = claimable(params, (p) => {
    const labels = labelCondition(dialect, first.labels, p, covered);
    return chosen === null ? labels : `${labels} AND ${idIn(chosen, p)}`;
  });
  return q.all<TaskRow>(
    `WITH agents AS (
       SELECT a.* FROM ${dialect.jsonRecords('a', AGENT_COLUMNS)}
       WHERE NOT EXISTS (SELECT 1 FROM tasks x WHERE x.status = 'pending' AND x.assignee = a.instance_id)
         AND NOT EXISTS (SELECT 1 FROM tasks x WHERE x.status = 'pending' AND x.preferred_instance_id = a.instance_id AND x.preferred_until > ?)
         AND (SELECT COUNT(*) FROM tasks w WHERE w.instance_id = a.instance_id AND w.status IN (${HELD_SQL})) < ?
     ),
     numbered AS (SELECT a.*, ROW_NUMBER() OVER (ORDER BY a.slot) AS k FROM agents a),
     picked AS (
       SELECT c.id, ROW_NUMBER() OVER (ORDER BY c.priority_rank, c.id) AS k FROM (
         SELECT t.id, t.priority_rank FROM ${chosen === null ? walkSource(dialect, first.labels, covered) : 'tasks t'}
         WHERE ${where}
         ORDER BY t.priority_rank, t.id LIMIT (SELECT COUNT(*) FROM agents) ${dialect.claimLock}
       ) c
     )
     UPDATE tasks SET status = 'in_progress', instance_id = n.instance_id, instance_name = n.instance_name, claimed_at = n.claimed_at,
       lease_token = n.lease_token, lease_expires_at = n.lease_expires_at, lease_ms = n.lease_expires_at - n.claimed_at,
       question = NULL, answer = NULL, updated_at = n.claimed_at, attempts = attempts + 1, runs = runs + 1
     FROM picked p JOIN numbered n ON n.k = p.k
     WHERE tasks.id = p.id AND tasks.status = 'pending'
     RETURNING ${RETURNED}`,
    params,
  );
}

/**
 * A batch of claims (distinct instances, one kind) in the caller's transaction: the WIP locks, the
 * claiming statement under the controls in force, the audit rows and last-seen of those it served.
 * Returns the outcome of each claim served, by instance; the rest claim on their own.
 */
export async function serveClaims(
  q: Queryable, dialect: Dialect, inForce: ControlsCache, webhooks: WebhooksInForce, markSeen: MarkSeen, specs: ClaimNextSpec[],
): Promise<Served<ClaimNextOutcome> | Unanswered<Served<ClaimNextOutcome>>> {
  const served: Served<ClaimNextOutcome> = new Map();
  const wipLocks = specs[0]!.wipLimit > 0 ? specs.map((s) => LOCK_NAMES.wip(s.instanceId)) : [];
  const { result: rows } = await lockNamedThen(q, dialect, wipLocks, () =>
    inForce.apply(q, async (controls, guard) => {
      // Left to the claims one by one: a paused queue (to say so) and limits (counted per claim).
      if (controls.limits.length > 0 || controls.pauses.some((p) => p.kind === 'queue')) return [];
      const rows = await claimTogether(q, dialect, specs, controls, guard);
      return rows.length > 0 ? rows : null;
    }),
  );
  if (!rows || rows.length === 0) return served;
  const bySpec = new Map(specs.map((s) => [s.instanceId, s]));
  const claimed = rows.map((row) => {
    const task = rowToTask(row);
    const spec = bySpec.get(task.instanceId!)!;
    const by = spec.instanceName ?? spec.instanceId;
    return { task, spec, now: spec.now, entry: { action: 'claimed' as const, details: `attempt ${task.attempts} of ${task.maxAttempts} by ${by}`, instanceId: spec.instanceId } };
  });
  return logThen(q, dialect, webhooks, claimed, () => markSeen(...claimed.map(({ spec }) => [spec.instanceId, spec.instanceName, spec.now] as const)), (events) => {
    claimed.forEach(({ task, spec }, i) => served.set(spec.instanceId, { ok: true, task, events: [events[i]!] }));
    return served;
  });
}
