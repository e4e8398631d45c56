// Live output of a task's runs: appends fenced by the lease, kept capped per run, read from a byte offset.
import { HELD_SQL } from './sql-conditions.js';
import type { Db } from './db.js';
import { rowToTask, type TaskRow } from './rows.js';
import type { AppendOutputOutcome, AppendOutputSpec, OutputRead } from '../core/ports.js';

/** PostgreSQL's TEXT cannot hold NUL; what a terminal would not show anyway becomes U+FFFD. */
const storable = (text: string) => text.replace(/\u0000/g, '\uFFFD');

/**
 * Appends what the worker sent for the run it holds. `offset` is where the bytes start in the run's
 * output as the worker counts it, so a batch sent again (the answer was lost) is stored once, and
 * order is the worker's whatever the arrival order. Bytes older than `capBytes` behind the end go.
 */
export function appendOutput(db: Db, spec: AppendOutputSpec): Promise<AppendOutputOutcome> {
  return db.tx(async (q): Promise<AppendOutputOutcome> => {
    // The holder check and the lock that orders concurrent appends to this task, in one read.
    const held = await q.get<{ runs: number }>(
      `SELECT runs FROM tasks WHERE id = ? AND lease_token = ? AND status IN (${HELD_SQL}) ${db.dialect.rowLock}`,
      [spec.taskId, spec.leaseToken],
    );
    if (!held) {
      const current = await q.get<TaskRow>('SELECT * FROM tasks WHERE id = ?', [spec.taskId]);
      return { ok: false, current: current ? rowToTask(current) : null };
    }
    const run = Number(held.runs);
    const last = await q.get<{ end_offset: number }>(
      'SELECT start_offset + byte_length AS end_offset FROM task_output WHERE task_id = ? AND run = ? ORDER BY start_offset DESC LIMIT 1',
      [spec.taskId, run],
    );
    const end = last ? Number(last.end_offset) : 0;
    const bytes = Buffer.from(spec.text, 'utf8');
    if (spec.offset + bytes.length <= end || bytes.length === 0) return { ok: true, run, end, stored: null };
    // Overlap with what is stored (a batch sent again) is skipped; a gap (bytes the worker had to drop) stays a gap.
    const skip = Math.max(0, end - spec.offset);
    const start = spec.offset + skip;
    const fresh = bytes.subarray(skip);
    const text = storable(fresh.toString('utf8'));
    await q.run('INSERT INTO task_output (task_id, run, start_offset, byte_length, text, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
      spec.taskId, run, start, fresh.length, text, spec.now,
    ]);
    const newEnd = start + fresh.length;
    await q.run('DELETE FROM task_output WHERE task_id = ? AND run = ? AND start_offset + byte_length <= ?', [spec.taskId, run, newEnd - spec.capBytes]);
    return { ok: true, run, end: newEnd, stored: { offset: start, text } };
  });
}

/** The run's output from `since` (or from where the cap starts, when that is later) to its end. */
export async function readOutput(db: Db, taskId: number, run: number, since: number, capBytes: number): Promise<OutputRead> {
  const last = await db.get<{ end_offset: number }>(
    'SELECT start_offset + byte_length AS end_offset FROM task_output WHERE task_id = ? AND run = ? ORDER BY start_offset DESC LIMIT 1',
    [taskId, run],
  );
  const end = last ? Number(last.end_offset) : 0;
  const from = Math.min(end, Math.max(since, end - capBytes, 0));
  const rows = await db.all<{ start_offset: number; byte_length: number; text: string }>(
    'SELECT start_offset, byte_length, text FROM task_output WHERE task_id = ? AND run = ? AND start_offset + byte_length > ? ORDER BY start_offset',
    [taskId, run, from],
  );
  const parts: Buffer[] = [];
  let start = from;
  rows.forEach((row, i) => {
    const rowStart = Number(row.start_offset);
    const bytes = Buffer.from(String(row.text), 'utf8');
    if (i === 0) start = Math.max(from, rowStart);
    parts.push(rowStart < from ? bytes.subarray(from - rowStart) : bytes);
  });
  return { run, start, end, text: Buffer.concat(parts).toString('utf8') };
}
