// Claims that arrive together, served together (where the backend declares claimBatches): one
// statement hands the n best claimable tasks to n waiting agents, each with its own lease.
import { TASK_FIELDS } from '../core/task-fields.js';
import type { ClaimControls } from '../core/queue-controls-types.js';
import type { ClaimNextOutcome, ClaimNextSpec } from '../core/ports.js';
import type { Dialect, Queryable } from './db.js';
import { HELD_SQL, labelCondition, projectCondition, readyCondition } from './sql-conditions.js';
import { controlCondition } from './sql-queue-controls.js';
import type { TaskRow } from './rows.js';

/** Claims served by one statement at most; bounds what one statement locks and returns. */
const MAX_BATCH = 64;

/** What a batch answers: the outcome of each claim it served, by instance; the rest are claimed one by one. */
export type BatchServed = Map<string, ClaimNextOutcome>;

type Waiting = { spec: ClaimNextSpec; resolve(outcome: ClaimNextOutcome): void; reject(err: unknown): void };

/**
 * Gathers the claims of one event-loop turn, and those that arrive while a batch of their kind
 * runs, by what they ask for (labels, projects, WIP limit: one statement's conditions). Two or more
 * go to `together`; a claim it did not serve (the queue ran short, the task best for it is meant
 * for it alone, a limit is in force), or one alone, goes to `single`, the claim as it always was, so
 * every answer (and every refusal's reason) is the one a claim on its own would give.
 *
 * One instance has one claim per batch: its WIP limit is counted in the statement, which cannot see
 * its own other claims; a second claim of the same instance waits for the next batch.
 */
export class ClaimBatches {
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly running = new Set<string>();

  constructor(
    private readonly together: (specs: ClaimNextSpec[]) => Promise<BatchServed>,
    private readonly single: (spec: ClaimNextSpec) => Promise<ClaimNextOutcome>,
  ) {}

  claim(spec: ClaimNextSpec): Promise<ClaimNextOutcome> {
    const kind = JSON.stringify([spec.labels, spec.projects, spec.wipLimit]);
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(kind);
      if (queue) queue.push({ spec, resolve, reject });
      else this.waiting.set(kind, [{ spec, resolve, reject }]);
      if (!this.running.has(kind)) {
        this.running.add(kind);
        setImmediate(() => void this.drain(kind));
      }
    });
  }

  private async drain(kind: string): Promise<void> {
    try {
      for (let queue = this.waiting.get(kind); queue && queue.length > 0; queue = this.waiting.get(kind)) {
        const batch: Waiting[] = [];
        const later: Waiting[] = [];
        const instances = new Set<string>();
        for (const item of queue) {
          if (batch.length < MAX_BATCH && !instances.has(item.spec.instanceId)) {
            instances.add(item.spec.instanceId);
            batch.push(item);
          } else later.push(item);
        }
        this.waiting.set(kind, later);
        if (batch.length === 1) this.runSingle(batch[0]!);
        else await this.runTogether(batch);
      }
    } finally {
      this.waiting.delete(kind);
      this.running.delete(kind);
    }
  }

  private runSingle(item: Waiting): void {
    this.single(item.spec).then(item.resolve, item.reject);
  }

  private async runTogether(batch: Waiting[]): Promise<void> {
    let served: BatchServed;
    try {
      served = await this.together(batch.map((item) => item.spec));
    } catch {
      // Each claim on its own then fails (or succeeds) with its own error, as it would have alone.
      served = new Map();
    }
    for (const item of batch) {
      const outcome = served.get(item.spec.instanceId);
      if (outcome) item.resolve(outcome);
      else this.runSingle(item);
    }
  }
}

/** Every column of the claimed rows, named through the table (the FROM items share some names; SQLite takes no `tasks.*` here). */
const RETURNED = TASK_FIELDS.map((f) => `tasks.${f.column}`).join(', ');

/** The claims' own values, read by the statement from one JSON parameter. */
const AGENT_COLUMNS = [
  ['slot', 'bigint'],
  ['instance_id', 'text'],
  ['instance_name', 'text'],
  ['lease_token', 'text'],
  ['lease_expires_at', 'bigint'],
  ['claimed_at', 'bigint'],
] as const;

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
  const now = Math.min(...specs.map((s) => s.now));
  const agents = specs.map((s, slot) => ({
    slot, instance_id: s.instanceId, instance_name: s.instanceName, lease_token: s.leaseToken, lease_expires_at: s.leaseExpiresAt, claimed_at: s.now,
  }));
  const params: unknown[] = [JSON.stringify(agents), now, first.wipLimit > 0 ? first.wipLimit : 1_000_000_000];
  const ready = readyCondition(dialect, now, params, null);
  const labels = labelCondition(dialect, first.labels, params);
  const projects = projectCondition(first.projects, params);
  const allowed = controlCondition(dialect, controls, params);
  const current = guard(params);
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
         SELECT t.id, t.priority_rank FROM tasks t
         WHERE t.status = 'pending' AND ${ready} AND ${labels} AND t.assignee IS NULL AND ${projects} AND ${allowed} AND ${current}
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
