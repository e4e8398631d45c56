// What pauses and reached limits hold back, left out of a claim's walk. A claim walks the pending
// tasks in claiming order and passes over each one a pause or a reached limit holds back: with 10,000
// of a paused project ahead of the ready ones, every claim and long-poll look walked them all. While
// such tasks are pending, a claim reads instead the first tasks of each other project and of none
// (migration pending_unprojected), or of each label list that holds no held-back label.
import type { LabelScope } from '../core/ports.js';
import type { ClaimControls } from '../core/queue-controls-types.js';
import type { Dialect, Queryable } from './db.js';
import {
  PENDING_LABELS_INDEX, PENDING_PROJECTS_INDEX, assigneeCondition, claimSlices, distinctPending, firstAcrossLists, listSlice, projectSlice,
  readyCondition, unprojectedSlice, walkSource, type ClaimSlice,
} from './sql-conditions.js';
import { controlCondition, heldCountSql } from './sql-queue-controls.js';
import { WALKED } from './sql-waiting.js';

/** Whether pauses or limits are in force (null: none applied). */
const holdsBack = (controls: ClaimControls | null): boolean => controls !== null && (controls.pauses.length > 0 || controls.limits.length > 0);

/** The projects and labels whose tasks no claim may take now. */
export type HeldBack = { projects: ReadonlySet<string>; labels: ReadonlySet<string> };

/**
 * The projects and labels paused, or at their limit: the held tasks of each limit counted, in one
 * statement, where the agent (`labels`, `projects`) could take a task of its scope. A claim under a
 * limit reads this after taking the limit's lock (lockLimits), so no other claim raises the count
 * meanwhile; a task ending may lower it, as if this claim had come first.
 */
export async function heldBack(q: Queryable, dialect: Dialect, controls: ClaimControls, agent: { labels: LabelScope; projects: readonly string[] }): Promise<HeldBack> {
  const projects = new Set<string>();
  const labels = new Set<string>();
  const of = (kind: 'label' | 'project') => (kind === 'project' ? projects : labels);
  for (const pause of controls.pauses) if (pause.kind !== 'queue') of(pause.kind).add(pause.value);
  // Counted only where the agent could take a task of the limit's scope.
  const mine = (l: { kind: 'label' | 'project'; value: string }): boolean =>
    l.kind === 'project' ? agent.projects.length === 0 || agent.projects.includes(l.value) : agent.labels === '*' || agent.labels.includes(l.value);
  const limits = controls.limits.filter((l) => mine(l) && !of(l.kind).has(l.value));
  if (limits.length > 0) {
    const params: unknown[] = [];
    const counts = limits.map((limit, i) => {
      params.push(limit.value);
      return `SELECT ${i} AS i, ${heldCountSql(dialect, limit.kind)} AS held`;
    });
    for (const row of await q.all<{ i: number; held: number }>(counts.join(' UNION ALL '), params)) {
      const limit = limits[Number(row.i)]!;
      if (Number(row.held) >= limit.max) of(limit.kind).add(limit.value);
    }
  }
  return { projects, labels };
}

const holdsAny = (list: string, labels: ReadonlySet<string>): boolean => (JSON.parse(list) as string[]).some((label) => labels.has(label));

/**
 * The parts of the pending tasks a claim by an agent with `labels` and `projects` reads (claimSlices,
 * `covered` as coveredLabelLists read it), leaving out what the controls in force hold back: an
 * agent's own projects held back are not read; for an agent serving every project, while some held
 * back project has pending tasks, the first tasks of each other project and of none; else, while a
 * label list holding a held-back label is pending, the lists (of those its labels cover) holding
 * none. Empty: nothing the claim could take. Null: one walk. Where more than MAX_LISTS projects or
 * lists are pending, the walk passes over the held-back tasks as it did before. Only a narrowing: the
 * claim's statement still applies every control (controlCondition).
 */
export async function claimParts(
  q: Queryable, dialect: Dialect, controls: ClaimControls, labels: LabelScope, projects: readonly string[], covered: readonly string[] | null,
): Promise<ClaimSlice[] | null> {
  if (!holdsBack(controls)) return claimSlices(dialect, labels, projects, covered);
  const held = await heldBack(q, dialect, controls, { labels, projects });
  if (projects.length > 0) return projects.filter((p) => !held.projects.has(p)).map((p) => projectSlice(dialect, labels, covered, p));
  if (held.projects.size > 0) {
    const pending = await distinctPending(q, dialect, { index: PENDING_PROJECTS_INDEX, column: 'project', where: (x) => `${x}.project IS NOT NULL` });
    if (pending !== null && pending.some((p) => held.projects.has(p))) {
      return [...pending.filter((p) => !held.projects.has(p)).map((p) => projectSlice(dialect, labels, covered, p)), unprojectedSlice(dialect, labels, covered)];
    }
  }
  // An agent without labels takes only tasks without labels, which no label holds back.
  if (held.labels.size > 0 && (labels === '*' || labels.length > 0)) {
    const lists = labels === '*' ? await distinctPending(q, dialect, { index: PENDING_LABELS_INDEX, column: 'labels' }) : covered;
    if (lists !== null && lists.some((list) => holdsAny(list, held.labels))) return lists.filter((list) => !holdsAny(list, held.labels)).map(listSlice);
  }
  return claimSlices(dialect, labels, projects, covered);
}

/** Whom a read of the ready tasks is for: what a claim by `instanceId` (null: anyone) could take at `now`, under `controls` (null: none applied). */
export type ReadyFor = { now: number; instanceId: string | null; controls: ClaimControls | null };

/** WHERE fragment over t: a pending task ready for `r` (in `slice`, when given); pushes its parameters. */
export function readyFor(dialect: Dialect, r: ReadyFor, params: unknown[], slice?: ClaimSlice): string {
  const ready = readyCondition(dialect, r.now, params, r.instanceId);
  const part = slice ? ` AND ${slice.where(params)}` : '';
  // A caller naming itself is not shown tasks assigned to another agent.
  const assigned = r.instanceId ? ` AND ${assigneeCondition(r.instanceId, params)}` : '';
  // Nor a task a claim would refuse for a pause or a limit.
  const allowed = r.controls ? ` AND ${controlCondition(dialect, r.controls, params)}` : '';
  return `${WALKED} AND ${ready}${part}${assigned}${allowed}`;
}

/**
 * Statement text: the first `limit` tasks ready for `r` in claiming order, their id (and
 * priority_rank, `withRank`): one walk, or the first of each of `parts` (claimParts: what the
 * controls hold back left out).
 */
export function firstReady(dialect: Dialect, r: ReadyFor, parts: ClaimSlice[] | null, limit: number, params: unknown[], withRank = false): string {
  const columns = withRank ? 't.id, t.priority_rank' : 't.id';
  if (parts === null) return `SELECT ${columns} FROM ${walkSource(dialect, '*', null)} WHERE ${readyFor(dialect, r, params)} ORDER BY t.priority_rank, t.id LIMIT ${limit}`;
  return firstAcrossLists(
    parts, limit, params,
    (slice) => `SELECT t.id, t.priority_rank FROM tasks t ${dialect.indexedBy(slice.index)} WHERE ${readyFor(dialect, r, params, slice)} ORDER BY t.priority_rank, t.id LIMIT ${limit}`,
    withRank ? 'c.id, c.priority_rank' : 'c.id',
  );
}

/** The parts to read for `r` (claimParts) while controls hold something back; null (one walk) at once otherwise. */
const partsFor = (q: Queryable, dialect: Dialect, r: ReadyFor): Promise<ClaimSlice[] | null> | null =>
  holdsBack(r.controls) ? claimParts(q, dialect, r.controls!, '*', [], null) : null;

/** The ids of the first `limit` tasks ready for `r` in `parts` (claimParts), read in `q`. */
function readyIdsOf(q: Queryable, dialect: Dialect, r: ReadyFor, parts: ClaimSlice[] | null, limit: number): Promise<number[]> {
  if (parts?.length === 0) return Promise.resolve([]);
  const params: unknown[] = [];
  return q.all<{ id: number }>(firstReady(dialect, r, parts, limit, params), params).then((rows) => rows.map((row) => Number(row.id)));
}

/** The ids of the first `limit` tasks ready for `r`, read in `q`; what the controls hold back is not walked, as by a claim. */
export async function readyIdsIn(q: Queryable, dialect: Dialect, r: ReadyFor, limit: number): Promise<number[]> {
  return readyIdsOf(q, dialect, r, await partsFor(q, dialect, r), limit);
}

/** The first ready task, read in a transition's transaction: `id` is set once `read` resolves. */
export type NextReady = { read: Promise<void>; id: number | null };

/**
 * The first ready task for `r` read in a transition's transaction after its change
 * (TransitionSpec.nextReady); null when `r` is (none asked). Returns once its statement left: at
 * once where no control holds anything back, so the COMMIT travels right behind it; else after the
 * held-back counts it needs were read, so nothing is sent after the COMMIT.
 */
export async function nextReadyAfter(q: Queryable, dialect: Dialect, r: ReadyFor | null): Promise<NextReady | null> {
  if (!r) return null;
  const counting = partsFor(q, dialect, r);
  // No await unless the counts are read: the statement must leave before the caller's COMMIT.
  const parts = counting ? await counting : null;
  const next: NextReady = { read: Promise.resolve(), id: null };
  next.read = readyIdsOf(q, dialect, r, parts, 1).then((ids) => {
    next.id = ids[0] ?? null;
  });
  return next;
}
