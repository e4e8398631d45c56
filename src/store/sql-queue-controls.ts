// Pauses and concurrency limits over the shared SQL: their rows, and the WHERE fragment and locks a claim applies.
import type { LabelScope } from '../core/ports.js';
import { scopeText, type ClaimControls, type ConcurrencyLimit, type LimitScope, type Pause, type PauseScope } from '../core/queue-controls-types.js';
import { stampOf } from './change-stamps.js';
import { HELD_SQL } from './sql-conditions.js';
import { hasAnyLabel, hasLabel } from './sql-lists.js';
import { LOCK_NAMES, lockNamed, placeholders, type Db, type Dialect, type Queryable } from './db.js';

type ControlRow = { source: string; kind: string; value: string; max_held: number | null };

const scopeOf = (kind: string, value: string): PauseScope =>
  kind === 'queue' ? { kind: 'queue' } : { kind: kind as 'label' | 'project', value };
const valueOf = (scope: PauseScope): string => (scope.kind === 'queue' ? '' : scope.value);

function rowToPause(row: Record<string, unknown>): Pause {
  return {
    scope: scopeText(scopeOf(String(row.kind), String(row.value))),
    pausedBy: row.paused_by === null ? null : String(row.paused_by),
    reason: row.reason === null ? null : String(row.reason),
    pausedAt: Number(row.paused_at),
  };
}

/** SQL counting the held tasks of one label or project (one parameter: its name). */
export function heldCountSql(dialect: Dialect, kind: 'label' | 'project'): string {
  return kind === 'label'
    ? `(SELECT COUNT(*) FROM tasks h WHERE h.status IN (${HELD_SQL}) AND ${hasLabel(dialect, 'h')})`
    : `(SELECT COUNT(*) FROM tasks h WHERE h.status IN (${HELD_SQL}) AND h.project = ?)`;
}

export async function setPause(db: Db, scope: PauseScope, by: string | null, reason: string | null, now: number): Promise<Pause> {
  const row = await db.get(
    `INSERT INTO queue_pauses (kind, value, paused_by, reason, paused_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (kind, value) DO UPDATE SET paused_by = excluded.paused_by, reason = excluded.reason, paused_at = excluded.paused_at
     RETURNING *`,
    [scope.kind, valueOf(scope), by, reason, now],
  );
  return rowToPause(row!);
}

export async function removePause(db: Db, scope: PauseScope): Promise<Pause | null> {
  const row = await db.get('DELETE FROM queue_pauses WHERE kind = ? AND value = ? RETURNING *', [scope.kind, valueOf(scope)]);
  return row ? rowToPause(row) : null;
}

export async function listPauses(db: Db): Promise<Pause[]> {
  const rows = await db.all("SELECT * FROM queue_pauses ORDER BY CASE kind WHEN 'queue' THEN 0 ELSE 1 END, kind, value");
  return rows.map(rowToPause);
}

export async function setLimit(db: Db, scope: LimitScope, max: number, by: string | null, now: number): Promise<ConcurrencyLimit> {
  await db.run(
    `INSERT INTO concurrency_limits (kind, value, max_held, set_by, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (kind, value) DO UPDATE SET max_held = excluded.max_held, set_by = excluded.set_by, updated_at = excluded.updated_at`,
    [scope.kind, scope.value, max, by, now],
  );
  return (await listLimits(db)).find((l) => l.scope === scopeText(scope))!;
}

export async function removeLimit(db: Db, scope: LimitScope): Promise<boolean> {
  return (await db.run('DELETE FROM concurrency_limits WHERE kind = ? AND value = ?', [scope.kind, scope.value])) > 0;
}

export async function listLimits(db: Db): Promise<ConcurrencyLimit[]> {
  const held = (kind: 'label' | 'project') => heldCountSql(db.dialect, kind).replace('?', 'c.value');
  const rows = await db.all(
    `SELECT c.*, CASE c.kind WHEN 'label' THEN ${held('label')} ELSE ${held('project')} END AS held
     FROM concurrency_limits c ORDER BY c.kind, c.value`,
  );
  return rows.map((row) => ({
    scope: `${String(row.kind)}:${String(row.value)}`,
    max: Number(row.max_held),
    held: Number(row.held),
    setBy: row.set_by === null ? null : String(row.set_by),
    updatedAt: Number(row.updated_at),
  }));
}

/** The pauses and limits in force and their stamp, read in one statement (one snapshot). */
export async function readClaimControls(q: Queryable): Promise<StampedControls> {
  const rows = await q.all<ControlRow & { stamp: number }>(
    `SELECT s.stamp, c.source, c.kind, c.value, c.max_held FROM change_stamps s
     LEFT JOIN (SELECT 'pause' AS source, kind, value, NULL AS max_held FROM queue_pauses
                UNION ALL SELECT 'limit' AS source, kind, value, max_held FROM concurrency_limits) c ON 1 = 1
     WHERE s.name = 'queue_controls'`,
  );
  const controls: ClaimControls = { pauses: [], limits: [] };
  for (const row of rows) {
    if (row.source === 'pause') controls.pauses.push(scopeOf(String(row.kind), String(row.value)));
    else if (row.source === 'limit') controls.limits.push({ kind: row.kind as 'label' | 'project', value: String(row.value), max: Number(row.max_held) });
  }
  return { stamp: Number(rows[0]!.stamp), controls };
}

export type StampedControls = { stamp: number; controls: ClaimControls };

/**
 * The pauses and limits in force as this store last read them, so a claim need not read them
 * first. Per process and safe so: a claim applies them only under their stamp, checked by the
 * claim's own statement (`guard`), and a claim that changed nothing reads them again and runs once
 * more when they had changed. A pause or limit set through any replica is thus honoured by the
 * next claim on every replica, however late the news of it travels between them.
 */
export class ControlsCache {
  private known: StampedControls | null = null;

  /** The limits in force as last read, or null when none were read yet (or since forget). */
  limits(): ClaimControls['limits'] | null {
    return this.known?.controls.limits ?? null;
  }

  /**
   * The controls in force as last read (read now if never), for what only shows tasks (peeks, the
   * next in line): a task shown under controls another replica changed a moment ago is refused by
   * the claim that follows, whose refusal reads them again.
   */
  async inForce(q: Queryable): Promise<ClaimControls> {
    if (!this.known) this.known = await readClaimControls(q);
    return this.known.controls;
  }

  /** Drops what is known, after a change this store made itself (the next claim reads first). */
  forget(): void {
    this.known = null;
  }

  /**
   * Runs `attempt` (a claim's statements) with the controls in force; `guard` adds what its
   * statement must check. Returns what the attempt returned, or null when it changed nothing under
   * the controls in force, with those controls (to say what held it back).
   */
  async apply<T>(
    q: Queryable,
    attempt: (controls: ClaimControls, guard: (params: unknown[]) => string) => Promise<T | null>,
  ): Promise<{ result: T | null; controls: ClaimControls }> {
    const cached = this.known;
    if (cached) {
      const result = await attempt(cached.controls, (params) => {
        params.push(cached.stamp);
        return `${stampOf('queue_controls')} = ?`;
      });
      if (result !== null) return { result, controls: cached.controls };
    }
    const fresh = await readClaimControls(q);
    this.known = fresh;
    // Nothing changed since: the attempt's refusal stands.
    if (cached && fresh.stamp === cached.stamp) return { result: null, controls: fresh.controls };
    // Read in this transaction before the attempt's statement, as every claim did before this cache
    // (on READ COMMITTED a statement sees what committed before it began): nothing to check.
    return { result: await attempt(fresh.controls, () => '1 = 1'), controls: fresh.controls };
  }
}

/**
 * Takes the named lock of every limit a claim by an agent with these labels could count against,
 * in one order (so two claims never wait for each other crosswise). Holding them, the counts in
 * the claim statement see every claim of the same scope that committed before: on PostgreSQL's
 * READ COMMITTED two claims could otherwise both count one below the limit and both claim.
 */
export async function lockLimits(q: Queryable, dialect: Dialect, controls: ClaimControls, labels: LabelScope): Promise<void> {
  const names = controls.limits
    .filter((l) => l.kind === 'project' || labels === '*' || labels.includes(l.value))
    .map((l) => LOCK_NAMES.limit(`${l.kind}:${l.value}`));
  await lockNamed(q, dialect, ...names);
}

/** WHERE fragment over the candidate task `t`: not paused, and no limit of its labels or project reached. */
export function controlCondition(dialect: Dialect, controls: ClaimControls, params: unknown[]): string {
  if (controls.pauses.some((p) => p.kind === 'queue')) return '1 = 0';
  const parts: string[] = [];
  const labelPauses = controls.pauses.flatMap((p) => (p.kind === 'label' ? [p.value] : []));
  const projectPauses = controls.pauses.flatMap((p) => (p.kind === 'project' ? [p.value] : []));
  if (labelPauses.length > 0) {
    parts.push(`NOT ${hasAnyLabel(dialect, 't', labelPauses.length)}`);
    params.push(...labelPauses);
  }
  if (projectPauses.length > 0) {
    parts.push(`(t.project IS NULL OR t.project NOT IN (${placeholders(projectPauses.length)}))`);
    params.push(...projectPauses);
  }
  for (const limit of controls.limits) {
    // IS NOT NULL said outright: a task without a project is outside the limit, and NULL = ? is unknown, not false.
    const matches = limit.kind === 'label' ? hasLabel(dialect, 't') : '(t.project IS NOT NULL AND t.project = ?)';
    parts.push(`NOT (${matches} AND ${heldCountSql(dialect, limit.kind)} >= ?)`);
    params.push(limit.value, limit.value, limit.max);
  }
  return parts.length > 0 ? parts.join(' AND ') : '1 = 1';
}

/** Why a claimable task is held back by a pause or a limit right now, or null. */
export async function controlHolding(q: Queryable, dialect: Dialect, controls: ClaimControls, task: { labels: string[]; project: string | null }): Promise<string | null> {
  for (const pause of controls.pauses) {
    if (pause.kind === 'queue' || (pause.kind === 'label' && task.labels.includes(pause.value)) || (pause.kind === 'project' && task.project === pause.value)) {
      return `${scopeText(pause)} is paused`;
    }
  }
  for (const limit of controls.limits) {
    if (limit.kind === 'label' ? !task.labels.includes(limit.value) : task.project !== limit.value) continue;
    const row = await q.get<{ held: number }>(`SELECT ${heldCountSql(dialect, limit.kind)} AS held`, [limit.value]);
    const held = Number(row?.held ?? 0);
    if (held >= limit.max) return `${limit.kind}:${limit.value} already has ${held} task(s) in progress (limit ${limit.max})`;
  }
  return null;
}
