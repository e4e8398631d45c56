// The invariants the model-based queue test checks after every step, read from the database itself:
// each task's log replayed through the lifecycle (one holder at a time, attempts by the rule, never
// more than max_attempts), the log against what the API acknowledged, the WIP limit along the whole
// history, the dependency graph free of cycles, and the readiness the rows keep (store/sql-waiting.ts):
// no pending task marked as waiting on a dependency unless one has not completed, every task depended
// on marked so; and after the last step, once every task's time has come, no pending task left that a
// claim should take (claimableLeft).
import type { Db } from '../../src/store/db.js';

type Row = Record<string, unknown>;

export type Snapshot = {
  tasks: Array<{
    id: number; status: string; attempts: number; maxAttempts: number; instanceId: string | null; leaseToken: string | null; dependsOn: number[];
    waitingOnDependencies: boolean; hasDependants: boolean;
  }>;
  logs: Array<{ id: number; taskId: number | null; action: string; instanceId: string | null }>;
  deps: Array<{ taskId: number; dependsOn: number }>;
};

export async function snapshot(db: Db): Promise<Snapshot> {
  const tasks = await db.all<Row>('SELECT id, status, attempts, max_attempts, instance_id, lease_token, depends_on, waiting_on_dependencies, has_dependants FROM tasks ORDER BY id');
  const logs = await db.all<Row>('SELECT id, task_id, action, instance_id FROM task_logs ORDER BY id');
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    tasks: tasks.map((r) => ({
      id: Number(r.id),
      status: String(r.status),
      attempts: Number(r.attempts),
      maxAttempts: Number(r.max_attempts),
      instanceId: str(r.instance_id),
      leaseToken: str(r.lease_token),
      dependsOn: JSON.parse(String(r.depends_on)) as number[],
      waitingOnDependencies: Number(r.waiting_on_dependencies) === 1,
      hasDependants: Number(r.has_dependants) === 1,
    })),
    logs: logs.map((r) => ({ id: Number(r.id), taskId: r.task_id === null ? null : Number(r.task_id), action: String(r.action), instanceId: str(r.instance_id) })),
    // The dependency graph's edges, from each task's depends_on (their one home).
    deps: tasks.flatMap((r) => (JSON.parse(String(r.depends_on)) as number[]).map((dependsOn) => ({ taskId: Number(r.id), dependsOn }))),
  };
}

export const HELD = new Set(['in_progress', 'needs_input']);
const FINAL = new Set(['completed', 'failed', 'cancelled']);
/** Actions whose log rows are one for one with acknowledged calls. */
export const ONE_FOR_ONE = ['created', 'claimed', 'heartbeat', 'completed', 'released', 'cancelled', 'retried', 'dependencies'] as const;
/** Actions that end a hold. */
const ENDS_HOLD = new Set(['completed', 'failed', 'requeued', 'released', 'cancelled']);

/** What the test was told, to hold the database to. */
export type Acknowledged = {
  wipLimit: number;
  /** Per task, per action in ONE_FOR_ONE: calls the API acknowledged. */
  counts: Map<number, Map<string, number>>;
  /** Acknowledged fail calls plus the moves sweeps reported: every `requeued` and `failed` row. */
  endings: number;
  /** Tasks acknowledged completed or cancelled: states nothing leaves. */
  finals: Map<number, string>;
};

/** Replays one task's log through the lifecycle; returns the state it ends in. */
function replayTask(taskId: number, maxAttempts: number, rows: Snapshot['logs'], problems: string[]): { status: string | null; attempts: number } {
  let status: string | null = null;
  let attempts = 0;
  for (const row of rows) {
    const bad = (why: string) => problems.push(`task #${taskId}: log #${row.id} "${row.action}" ${why} (it was ${status}, attempts ${attempts}/${maxAttempts})`);
    switch (row.action) {
      case 'created':
        if (status !== null) bad('twice');
        status = 'pending';
        break;
      case 'claimed':
        if (status !== 'pending') bad('while not pending: two holders');
        status = 'in_progress';
        attempts++;
        if (attempts > maxAttempts) bad(`starts attempt ${attempts} of ${maxAttempts}`);
        break;
      case 'heartbeat':
        if (status !== 'in_progress') bad('on a task not held');
        break;
      case 'completed':
        if (status !== 'in_progress') bad('of a task not held');
        status = 'completed';
        break;
      case 'requeued':
        if (status !== 'in_progress') bad('of a task not held');
        if (attempts >= maxAttempts) bad('with no attempt left');
        status = 'pending';
        break;
      case 'failed':
        if (!(HELD.has(status ?? '') || (status === 'pending' && attempts >= maxAttempts))) bad('from a state that cannot fail');
        status = 'failed';
        break;
      case 'released':
        if (!HELD.has(status ?? '')) bad('of a task not held');
        status = 'pending';
        attempts = Math.max(0, attempts - 1);
        break;
      case 'cancelled':
        if (status === null || FINAL.has(status)) bad('of a finished task');
        status = 'cancelled';
        break;
      case 'retried':
        if (status !== 'failed') bad('of a task not failed');
        status = 'pending';
        attempts = 0;
        break;
      case 'blocked':
        if (status !== 'pending') bad('of a task not pending');
        status = 'blocked';
        break;
      case 'unblocked':
        if (status !== 'blocked') bad('of a task not blocked');
        status = 'pending';
        break;
      case 'dependencies':
        if (status !== 'pending' && status !== 'blocked') bad('added to a task that started');
        break;
    }
  }
  return { status, attempts };
}

function findCycle(edges: Snapshot['deps']): number[] | null {
  const next = new Map<number, number[]>();
  for (const e of edges) next.set(e.taskId, [...(next.get(e.taskId) ?? []), e.dependsOn]);
  const state = new Map<number, 'open' | 'done'>();
  const path: number[] = [];
  const visit = (id: number): number[] | null => {
    if (state.get(id) === 'done') return null;
    if (state.get(id) === 'open') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'open');
    path.push(id);
    for (const to of next.get(id) ?? []) {
      const cycle = visit(to);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return null;
  };
  for (const id of next.keys()) {
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return null;
}

/**
 * Pending tasks a claim should take once every task's time has come: an attempt left and every
 * dependency completed. After the model's last step, agents holding nothing claim until none is
 * given; any left means what the rows keep about readiness (store/sql-waiting.ts, sql-due.ts) held it back.
 */
export function claimableLeft(snap: Snapshot): string[] {
  const completed = new Set(snap.tasks.filter((t) => t.status === 'completed').map((t) => t.id));
  return snap.tasks
    .filter((t) => t.status === 'pending' && t.attempts < t.maxAttempts && t.dependsOn.every((id) => completed.has(id)))
    .map((t) => `task #${t.id} is pending with every dependency completed and an attempt left, but no claim takes it`);
}

/** Every invariant, against one snapshot; returns the problems found (none when all hold). */
export function checkSnapshot(snap: Snapshot, acked: Acknowledged): string[] {
  const problems: string[] = [];
  const logsOf = new Map<number, Snapshot['logs']>();
  for (const log of snap.logs) if (log.taskId !== null) logsOf.set(log.taskId, [...(logsOf.get(log.taskId) ?? []), log]);

  for (const task of snap.tasks) {
    const rows = logsOf.get(task.id) ?? [];
    const replayed = replayTask(task.id, task.maxAttempts, rows, problems);
    if (replayed.status !== task.status) problems.push(`task #${task.id} is ${task.status} but its log ends ${replayed.status}`);
    if (replayed.attempts !== task.attempts) problems.push(`task #${task.id} has attempts ${task.attempts}, its log counts ${replayed.attempts} (claims, minus releases, since the last retry)`);
    if (task.attempts > task.maxAttempts) problems.push(`task #${task.id} used ${task.attempts} of ${task.maxAttempts} attempts`);
    const held = HELD.has(task.status);
    if (held && (task.leaseToken === null || task.instanceId === null)) problems.push(`task #${task.id} is ${task.status} without a holder`);
    if (!held && task.leaseToken !== null) problems.push(`task #${task.id} is ${task.status} but a lease token still opens it`);
    for (const action of ONE_FOR_ONE) {
      const logged = rows.filter((r) => r.action === action).length;
      const told = acked.counts.get(task.id)?.get(action) ?? 0;
      if (logged !== told) problems.push(`task #${task.id}: ${told} "${action}" acknowledged, ${logged} in the log`);
    }
    const final = acked.finals.get(task.id);
    if (final && task.status !== final) problems.push(`task #${task.id} was acknowledged ${final} but is ${task.status}`);
    // The model deletes nothing: every dependency is listed once and exists.
    if (new Set(task.dependsOn).size !== task.dependsOn.length || task.dependsOn.some((id) => !snap.tasks.some((t) => t.id === id))) {
      problems.push(`task #${task.id} lists depends_on ${JSON.stringify(task.dependsOn)}: a dependency twice or one that does not exist`);
    }
    // Marked waiting while every dependency completed: no claim would ever take it.
    const unfinished = task.dependsOn.filter((id) => snap.tasks.find((t) => t.id === id)?.status !== 'completed');
    if (task.status === 'pending' && task.waitingOnDependencies && unfinished.length === 0) {
      problems.push(`task #${task.id} is marked waiting on its dependencies, but #${task.dependsOn.join(', #')} all completed`);
    }
    const dependant = snap.tasks.find((t) => t.dependsOn.includes(task.id));
    if (dependant && !task.hasDependants) problems.push(`task #${task.id} is not marked as depended on, but #${dependant.id} depends on it`);
  }
  for (const taskId of acked.counts.keys()) {
    if (!snap.tasks.some((t) => t.id === taskId)) problems.push(`task #${taskId} was acknowledged but is not stored`);
  }

  const endings = snap.logs.filter((l) => l.action === 'requeued' || l.action === 'failed').length;
  if (endings !== acked.endings) problems.push(`${acked.endings} fail/requeue moves acknowledged, ${endings} in the log`);

  // The WIP limit along the whole history, in log order: a claim's row comes after the row of any
  // end it counted on, since that end committed before the claim counted.
  const holder = new Map<number, string>();
  const holding = new Map<string, number>();
  for (const log of snap.logs) {
    if (log.taskId === null) continue;
    if (log.action === 'claimed' && log.instanceId) {
      holder.set(log.taskId, log.instanceId);
      const n = (holding.get(log.instanceId) ?? 0) + 1;
      holding.set(log.instanceId, n);
      if (acked.wipLimit > 0 && n > acked.wipLimit) problems.push(`instance ${log.instanceId} held ${n} tasks (WIP limit ${acked.wipLimit}) at log #${log.id}`);
    } else if (ENDS_HOLD.has(log.action) && holder.has(log.taskId)) {
      const instance = holder.get(log.taskId)!;
      holder.delete(log.taskId);
      holding.set(instance, holding.get(instance)! - 1);
    }
  }
  const heldNow = new Map<string, number>();
  for (const task of snap.tasks) if (HELD.has(task.status) && task.instanceId) heldNow.set(task.instanceId, (heldNow.get(task.instanceId) ?? 0) + 1);
  for (const [instance, n] of heldNow) {
    if (acked.wipLimit > 0 && n > acked.wipLimit) problems.push(`instance ${instance} holds ${n} tasks (WIP limit ${acked.wipLimit})`);
  }

  const cycle = findCycle(snap.deps);
  if (cycle) problems.push(`dependency cycle ${cycle.map((id) => `#${id}`).join(' → ')}`);
  return problems;
}
