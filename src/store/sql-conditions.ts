// WHERE fragments the queue's reads and writes share: which tasks an agent holds, which tasks an
// agent's labels cover, which pending tasks are ready to be claimed.
import { HELD_STATUSES } from '../core/types.js';
import { placeholders, type Dialect, type Queryable } from './db.js';
import { labelsWithin, someDependency } from './sql-lists.js';
import { walkedOf } from './sql-waiting.js';
import type { LabelScope } from '../core/ports.js';

export const HELD_SQL = HELD_STATUSES.map((s) => `'${s}'`).join(', ');

/** The index of pending tasks by label list, in claiming order (migration pending_labels). */
export const PENDING_LABELS_INDEX = 'tasks_pending_labels';

/**
 * WHERE fragment: the task's labels are all covered by the agent's labels; `covered`, when known,
 * names the label lists of pending tasks they cover (coveredLabelLists).
 *
 * A claim walks the pending tasks in priority order; an agent whose labels cover none of them would
 * walk them all, on every claim and every long-poll look (58 ms on SQLite, 225 ms on PostgreSQL with
 * 100,000 pending tasks: `npm run bench -- --only=labels`). An agent without labels walks the
 * unlabelled tasks alone (tasks_pending_labels holds them in claiming order), and the fragment also
 * asks whether any is pending, in a subquery that does not refer to the task row: both databases
 * answer it once, before the walk (where the planner's statistics would pick another index). An
 * agent with labels asks first, in a statement of its own (coveredLabelLists; the comment of
 * migration pending_labels calls it by its first name, labelsCoverAnyPending): when its labels cover
 * one list, the walk is of that list's tasks alone; several are named to the walk, which claims
 * among the first tasks of each (firstAcrossLists) and walks so only when those are taken.
 */
export function labelCondition(dialect: Dialect, labels: LabelScope, params: unknown[], covered: readonly string[] | null = null): string {
  if (labels === '*') return '1 = 1';
  if (covered !== null && covered.length === 1) {
    params.push(covered[0]);
    return 't.labels = ?';
  }
  params.push(...labels);
  const row = labelsWithin(dialect, 't', labels.length);
  if (covered !== null && covered.length > 1) {
    // Said outright, so a planner with statistics (PostgreSQL) walks only those lists' tasks when they are few.
    params.push(...covered);
    return `${row} AND t.labels IN (${placeholders(covered.length)})`;
  }
  if (labels.length > 0) return row;
  // A scalar subquery, not EXISTS: SQLite turns an EXISTS into a join, and then sorts every pending
  // task. Ordered as the index is, so PostgreSQL reads the index rather than the table from its start
  // (where finished tasks gather), which it would when its statistics say most pending tasks match.
  return `${row} AND (SELECT 1 FROM tasks lx ${dialect.indexedBy(PENDING_LABELS_INDEX)} WHERE ${walkedOf('lx')} AND lx.labels = '[]' ORDER BY lx.priority_rank, lx.id LIMIT 1) IS NOT NULL`;
}

/** The index of pending tasks that wait on no dependency, in claiming order (migration waiting_on_dependencies). */
export const READY_INDEX = 'tasks_ready';

/**
 * What a walk of the pending tasks reads (alias t), for an agent with `labels` (covering the label
 * lists `covered`, see coveredLabelLists): the tasks of one label list when labelCondition names it
 * (tasks_pending_labels), else the tasks that wait on nothing, in claiming order. Named for SQLite,
 * whose planner would take tasks_queue and walk the tasks waiting on others too (sql-waiting.ts).
 */
export function walkSource(dialect: Dialect, labels: LabelScope, covered: readonly string[] | null): string {
  const oneList = labels !== '*' && (labels.length === 0 || covered?.length === 1);
  return oneList ? 'tasks t' : `tasks t ${dialect.indexedBy(READY_INDEX)}`;
}

/** The index of pending tasks by project, in claiming order (migration pending_projects). */
export const PENDING_PROJECTS_INDEX = 'tasks_pending_projects';

/** The index of pending tasks without a project, in claiming order (migration pending_unprojected). */
export const PENDING_UNPROJECTED_INDEX = 'tasks_pending_unprojected';

/** A part of the pending tasks a claim reads on its own, in claiming order from its part of `index`; `where` (over t) pushes its parameters. */
export type ClaimSlice = { index: string; where: (params: unknown[]) => string };

/** The tasks of one project, the agent's labels met (its part of tasks_pending_projects). */
export function projectSlice(dialect: Dialect, labels: LabelScope, covered: readonly string[] | null, project: string): ClaimSlice {
  return {
    index: PENDING_PROJECTS_INDEX,
    where: (params) => {
      params.push(project);
      // IS NOT NULL said outright: SQLite uses a partial index only for a WHERE that names its condition.
      return `t.project = ? AND t.project IS NOT NULL AND ${labelCondition(dialect, labels, params, covered)}`;
    },
  };
}

/** The tasks without a project, the agent's labels met (tasks_pending_unprojected). */
export function unprojectedSlice(dialect: Dialect, labels: LabelScope, covered: readonly string[] | null): ClaimSlice {
  return { index: PENDING_UNPROJECTED_INDEX, where: (params) => `t.project IS NULL AND ${labelCondition(dialect, labels, params, covered)}` };
}

/** The tasks of one label list (its part of tasks_pending_labels). */
export function listSlice(list: string): ClaimSlice {
  return {
    index: PENDING_LABELS_INDEX,
    where: (params) => {
      params.push(list);
      return 't.labels = ?';
    },
  };
}

/**
 * The parts of the pending tasks a claim reads, each in claiming order from its part of an index,
 * rather than walking every pending task (which it would, past all of them, when none is its): the
 * tasks of each of the agent's projects, its labels met in each (projects are named, so no read
 * comes first); else the label lists its labels cover, when several (one narrows the walk itself,
 * see labelCondition). Null: one walk. What pauses and limits hold back is left out by claimParts
 * (sql-held-back.ts), which callers use.
 */
export function claimSlices(dialect: Dialect, labels: LabelScope, projects: readonly string[], covered: readonly string[] | null): ClaimSlice[] | null {
  if (projects.length > 0) return projects.map((project) => projectSlice(dialect, labels, covered, project));
  if (covered !== null && covered.length > 1) return covered.map(listSlice);
  return null;
}

/**
 * Where claims lock rows (PostgreSQL), the tasks a claim for labels covering several lists reads,
 * unlocked, from each list before it claims the first of them still free: more than the claims
 * likely to race for them (a walk per list under FOR UPDATE would lock a task in each list).
 */
export const FIRST_OF_EACH_LIST = 8;

/**
 * Statement text: the ids (or other `columns` of c) of the first `limit` tasks in claiming order among the rows `branch`
 * selects for each of `lists` (each branch: `id` and `priority_rank` of that part's first tasks,
 * read from its part of an index (ClaimSlice); it pushes its parameters to `params`).
 */
export function firstAcrossLists<T>(lists: readonly T[], limit: number, params: unknown[], branch: (list: T, params: unknown[]) => string, columns = 'c.id'): string {
  return `SELECT ${columns} FROM (${lists.map((list, i) => `SELECT * FROM (${branch(list, params)}) l${i}`).join(' UNION ALL ')}) c ORDER BY c.priority_rank, c.id LIMIT ${limit}`;
}

/** WHERE fragment: the task over alias t is one of `ids` (a claim among the first tasks firstAcrossLists read). */
export function idIn(ids: readonly number[], params: unknown[]): string {
  params.push(...ids);
  return `t.id IN (${placeholders(ids.length)})`;
}

/** Distinct label lists (or projects) of pending tasks a claim reads at most before it leaves the choice to its walk. */
export const MAX_LISTS = 64;

/**
 * The distinct values of `column` among the pending tasks `index` holds (its predicate: the walk's
 * part, and `where`), read each once (a loose index scan: one probe per distinct value, however many
 * tasks share it), those `kept` names (a condition over lk.<column> pushing its parameters, or none).
 * Null when more than MAX_LISTS are pending: the caller walks, as it would without them. Its own
 * statement: SQLite runs a subquery holding a WITH clause again for every row walked.
 */
export async function distinctPending(
  q: Queryable, dialect: Dialect, w: { index: string; column: 'labels' | 'project'; where?: (alias: string) => string; kept?: (params: unknown[]) => string },
): Promise<string[] | null> {
  const index = dialect.indexedBy(w.index);
  const c = w.column;
  const also = w.where ? ` AND ${w.where('x')}` : '';
  const params: unknown[] = [];
  const kept = w.kept ? w.kept(params) : '1 = 1';
  // A row with no value: the scan reached the last one. A value past MAX_LISTS: it stopped early.
  const rows = await q.all<{ value: string | null }>(
    `WITH RECURSIVE lk(${c}, n) AS (
       SELECT MIN(x.${c}), 1 FROM tasks x ${index} WHERE ${walkedOf('x')}${also}
       UNION ALL
       SELECT (SELECT MIN(x.${c}) FROM tasks x ${index} WHERE ${walkedOf('x')}${also} AND x.${c} > lk.${c}), lk.n + 1
       FROM lk WHERE lk.${c} IS NOT NULL AND lk.n <= ${MAX_LISTS}
     )
     SELECT lk.${c} AS value FROM lk WHERE lk.${c} IS NULL OR lk.n > ${MAX_LISTS} OR ${kept}`,
    params,
  );
  if (!rows.some((r) => r.value === null)) return null;
  return rows.flatMap((r) => (r.value === null ? [] : [r.value]));
}

/**
 * The label lists of pending tasks that `labels` cover (none: the claim has nothing to walk), read
 * from tasks_pending_labels (distinctPending). Null where it tells the walk nothing: for '*', for no
 * labels (labelCondition asks that itself), and when more than MAX_LISTS distinct lists are pending
 * (the walk then checks each task's labels, as it always did).
 */
export async function coveredLabelLists(q: Queryable, dialect: Dialect, labels: LabelScope): Promise<string[] | null> {
  if (labels === '*' || labels.length === 0) return null;
  return distinctPending(q, dialect, {
    index: PENDING_LABELS_INDEX,
    column: 'labels',
    kept: (params) => {
      params.push(...labels);
      return labelsWithin(dialect, 'lk', labels.length);
    },
  });
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
