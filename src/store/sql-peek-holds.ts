// The original protocol's peek (GET /api/tasks/next) with its hold, in the database so every replica
// sees every other replica's holds (see core/peek-holds.ts for why peeks hold tasks).
import type { PeekOutcome, PeekSpec } from '../core/ports.js';
import { answered, Unanswered, type Db, type Dialect, type Queryable } from './db.js';
import { rowToTask, type TaskRow } from './rows.js';
import type { ClaimSlice } from './sql-conditions.js';
import { claimParts, firstReady, readyFor } from './sql-held-back.js';
import type { ClaimControls } from '../core/queue-controls-types.js';

/** Expired holds a peek deletes at most: each peek adds at most one, so the table stays at the live holds. */
const EXPIRED_DELETED_PER_PEEK = 16;

/** Candidate preference: 1 the caller's own live hold, 2 the first task nobody holds, 3 the first task (all held). */
const ALL_HELD = 3;

/**
 * SELECT of at most one (id, pref) row: the task to show. Each branch walks the queue index in order
 * and stops early: a free task is looked for among the first `window` ready tasks only, so a peek
 * costs at most that many rows however many holds a caller peeking in a loop has left.
 */
function candidateSql(dialect: Dialect, spec: PeekSpec, controls: ClaimControls, parts: ClaimSlice[] | null, params: unknown[]): string {
  const r = { now: spec.now, instanceId: spec.instanceId, controls };
  const branches: string[] = [];
  if (spec.instanceId !== null) {
    params.push(spec.instanceId, spec.now);
    branches.push(
      `SELECT id, pref FROM (SELECT t.id, 1 AS pref FROM peek_holds h JOIN tasks t ON t.id = h.task_id
         WHERE h.holder = ? AND h.held_until > ? AND ${readyFor(dialect, r, params)} ORDER BY t.priority_rank, t.id LIMIT 1) own`,
    );
  }
  const free = firstReady(dialect, r, parts, spec.window, params, true);
  params.push(spec.now);
  // The first of them is locked for the statement, skipping any another peek has locked: peeks at the
  // same moment (agents answered together) each take a different task instead of all but one
  // losing the race for the same hold. The status is checked again on the locked row. Taken in the
  // order the walk read them, each by id: ordered by the row's own priority_rank, PostgreSQL walked
  // the pending tasks in claiming order (tasks_queue) until one of them, past every delayed, waiting
  // or held-back task ahead (10,000 delayed or of a paused project: 16-19 ms a peek).
  branches.push(
    `SELECT id, pref FROM (SELECT t.id, 2 AS pref FROM (
         SELECT w.id, w.priority_rank FROM (${free}) w
         WHERE NOT EXISTS (SELECT 1 FROM peek_holds h WHERE h.task_id = w.id AND h.held_until > ?)) c
       JOIN tasks t ON t.id = c.id WHERE t.status = 'pending'
       ORDER BY c.priority_rank, c.id LIMIT 1 ${dialect.claimLock}) free`,
  );
  branches.push(`SELECT id, ${ALL_HELD} AS pref FROM (${firstReady(dialect, r, parts, 1, params, true)}) first`);
  return `SELECT id, pref FROM (${branches.join(' UNION ALL ')}) candidates ORDER BY pref LIMIT 1`;
}

/**
 * Takes (or renews) the hold on the candidate for this caller, unless another caller's live hold is
 * there already: a peek that picked the same free task at the same moment on another replica. On
 * PostgreSQL the second one waits for the first's row and then finds the condition false.
 */
const TAKE_HOLD = `ON CONFLICT (task_id) DO UPDATE SET holder = excluded.holder, held_until = excluded.held_until
  WHERE peek_holds.held_until <= ? OR peek_holds.holder = excluded.holder`;

type PeekRow = TaskRow & { peek_pref: number; peek_held: number };

/**
 * PostgreSQL: one statement picks the task, deletes a few expired holds, takes the hold and returns
 * the task's row. `peek_pref` says which branch chose it, `peek_held` whether the hold was taken.
 */
function peekStatement(dialect: Dialect, spec: PeekSpec, controls: ClaimControls, parts: ClaimSlice[] | null): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const candidate = candidateSql(dialect, spec, controls, parts, params);
  params.push(spec.now, EXPIRED_DELETED_PER_PEEK, spec.instanceId, spec.holdUntil, spec.now);
  const sql = `WITH candidate AS (${candidate}),
     expired AS (
       DELETE FROM peek_holds WHERE task_id IN (
         SELECT task_id FROM peek_holds WHERE held_until <= CAST(? AS BIGINT) AND task_id NOT IN (SELECT id FROM candidate)
         ORDER BY held_until LIMIT ? FOR UPDATE SKIP LOCKED)
     ),
     held AS (
       INSERT INTO peek_holds (task_id, holder, held_until) SELECT id, CAST(? AS TEXT), CAST(? AS BIGINT) FROM candidate WHERE pref < ${ALL_HELD}
       ${TAKE_HOLD}
       RETURNING task_id
     )
     SELECT t.*, c.pref AS peek_pref, (SELECT COUNT(*) FROM held) AS peek_held FROM candidate c JOIN tasks t ON t.id = c.id`;
  return { sql, params };
}

const peekOutcome = (row: PeekRow | undefined): PeekOutcome =>
  row ? { task: rowToTask(row), lostRace: Number(row.peek_pref) < ALL_HELD && Number(row.peek_held) === 0 } : { task: null, lostRace: false };

/**
 * PostgreSQL: peeks that arrive together (one or more), each its own statement (peekStatement), sent
 * together in one transaction: they run one after the other, each seeing the holds taken before it,
 * so each is answered as it would be alone, in one round trip instead of one each. The transaction
 * is not durable: a hold lasts two seconds, and one lost in a crash of the database server costs at
 * most a claim race, so its commit need not wait for the disk (which, one peek each, was most of a
 * peek's time). Its statements run on their generic plan: PostgreSQL, left to choose, planned each
 * peek anew for its values, which cost more than running it (the original protocol on one server:
 * about 320 -> 500 cycles/s).
 */
export async function peeksInOneTransaction(db: Db, specs: readonly PeekSpec[], controls: ClaimControls): Promise<PeekOutcome[]> {
  const parts = await claimParts(db, db.dialect, controls, '*', [], null);
  if (parts?.length === 0) return specs.map(() => peekOutcome(undefined));
  const statements = specs.map((spec) => peekStatement(db.dialect, spec, controls, parts));
  // The answers are not waited for inside the transaction: its COMMIT travels right behind the statements.
  const sent = await db.tx(async (q) => new Unanswered(Promise.all(statements.map(({ sql, params }) => q.get<PeekRow>(sql, params)))), {
    durable: false,
    genericPlans: true,
  });
  return (await answered(sent)).map(peekOutcome);
}

/** SQLite (no writes inside WITH): the same steps in one write transaction, which nothing interleaves. */
async function peekInTransaction(q: Queryable, dialect: Dialect, spec: PeekSpec, controls: ClaimControls): Promise<PeekOutcome> {
  const parts = await claimParts(q, dialect, controls, '*', [], null);
  if (parts?.length === 0) return { task: null, lostRace: false };
  const params: unknown[] = [];
  const chosen = await q.get<{ id: number; pref: number }>(candidateSql(dialect, spec, controls, parts, params), params);
  if (!chosen) return { task: null, lostRace: false };
  const id = Number(chosen.id);
  await q.run(
    `DELETE FROM peek_holds WHERE task_id IN (SELECT task_id FROM peek_holds WHERE held_until <= ? AND task_id <> ? ORDER BY held_until LIMIT ?)`,
    [spec.now, id, EXPIRED_DELETED_PER_PEEK],
  );
  let lostRace = false;
  if (Number(chosen.pref) < ALL_HELD) {
    const taken = await q.run(`INSERT INTO peek_holds (task_id, holder, held_until) VALUES (?, ?, ?) ${TAKE_HOLD}`, [id, spec.instanceId, spec.holdUntil, spec.now]);
    lostRace = taken === 0;
  }
  const row = await q.get<TaskRow>('SELECT * FROM tasks WHERE id = ?', [id]);
  return row ? { task: rowToTask(row), lostRace } : { task: null, lostRace: false };
}

/** The peek, showing only what a claim under `controls` (the pauses and limits in force) would take. */
export async function peekAndHold(db: Db, spec: PeekSpec, controls: ClaimControls): Promise<PeekOutcome> {
  return db.dialect.writableCte ? (await peeksInOneTransaction(db, [spec], controls))[0]! : db.tx((q) => peekInTransaction(q, db.dialect, spec, controls));
}
