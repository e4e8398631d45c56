// Copies a whole queue, table by table in chunks, from one store to another empty one (any backends).
import { InvalidError } from '../errors.js';
import { TASK_COLUMNS } from '../core/task-fields.js';
import type { Db, Queryable, Row } from './db.js';

/** Every table of a queue in foreign-key order, with the columns both backends share. */
const TABLES = [
  {
    name: 'tasks',
    columns: TASK_COLUMNS,
    key: 'id',
  },
  { name: 'task_logs', columns: ['id', 'task_id', 'action', 'details', 'instance_id', 'timestamp', 'payload'], key: 'id' },
  { name: 'instances', columns: ['id', 'name', 'last_seen', 'status'], key: 'id' },
  { name: 'cursors', columns: ['name', 'position', 'updated_at'], key: 'name' },
  { name: 'api_keys', columns: ['id', 'name', 'role', 'instance_id', 'key_hash', 'prefix', 'created_at', 'last_used_at', 'revoked_at'], key: 'id' },
  { name: 'discord_submitters', columns: ['task_id', 'user_id', 'created_at'], key: 'task_id' },
  { name: 'task_comments', columns: ['id', 'task_id', 'author', 'body', 'source', 'discord_message_id', 'created_at'], key: 'id' },
  {
    name: 'schedules',
    columns: ['id', 'cron', 'time_zone', 'template', 'ends_at', 'missed', 'overlap', 'paused', 'next_run_at', 'last_run_at', 'created_by', 'created_at', 'updated_at'],
    key: 'id',
  },
  { name: 'schedule_runs', columns: ['id', 'schedule_id', 'run_at', 'outcome', 'task_id', 'covers', 'created_at'], key: 'id' },
] as const;

type Table = (typeof TABLES)[number];

export type CopyProgress = { table: string; copied: number; total: number };
export type CopyResult = Record<Table['name'], number>;

/** Rows read per page; inserts are further split to stay under SQLite's 32766 bound parameters. */
const PAGE_ROWS = 2000;
const MAX_PARAMS = 30_000;

async function count(q: Queryable, table: string): Promise<number> {
  const row = await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row?.n ?? 0);
}

/**
 * Copies every row with its id, in one transaction on the target: a failure leaves the target
 * empty, so the copy can simply be run again. The source should not be written meanwhile (stop
 * the servers first); it is read page by page in key order, so memory stays bounded.
 */
export async function copyQueue(source: Db, target: Db, onProgress: (progress: CopyProgress) => void = () => {}): Promise<CopyResult> {
  for (const table of TABLES) {
    const existing = await count(target, table.name);
    if (existing > 0) {
      throw new InvalidError(`the target already holds ${existing} row(s) in ${table.name}; migrate-data copies into an empty queue only`);
    }
  }
  const totals = {} as CopyResult;
  for (const table of TABLES) totals[table.name] = await count(source, table.name);

  await target.tx(async (q) => {
    for (const table of TABLES) await copyTable(source, q, table, totals[table.name], onProgress);
    const reset = target.dialect.resetSequence;
    if (reset) {
      for (const table of ['tasks', 'task_logs', 'api_keys', 'task_comments', 'schedules', 'schedule_runs']) await q.run(reset(table));
    }
  });

  const copied = {} as CopyResult;
  for (const table of TABLES) {
    copied[table.name] = await count(target, table.name);
    if (copied[table.name] !== totals[table.name]) {
      throw new Error(`copied ${copied[table.name]} of ${totals[table.name]} rows of ${table.name}: was the source written during the copy?`);
    }
  }
  return copied;
}

async function copyTable(source: Db, target: Queryable, table: Table, total: number, onProgress: (p: CopyProgress) => void): Promise<void> {
  const columns = table.columns.join(', ');
  const perInsert = Math.max(1, Math.min(1000, Math.floor(MAX_PARAMS / table.columns.length)));
  let copied = 0;
  let after: unknown = null;
  onProgress({ table: table.name, copied, total });
  for (;;) {
    const where = after === null ? '' : `WHERE ${table.key} > ?`;
    // Every key is unique, so a page ends between rows.
    const rows = await source.all<Row>(`SELECT ${columns} FROM ${table.name} ${where} ORDER BY ${table.key} LIMIT ?`, after === null ? [PAGE_ROWS] : [after, PAGE_ROWS]);
    const full = rows.length === PAGE_ROWS;
    for (let i = 0; i < rows.length; i += perInsert) {
      const chunk = rows.slice(i, i + perInsert);
      const tuple = `(${table.columns.map(() => '?').join(', ')})`;
      await target.run(
        `INSERT INTO ${table.name} (${columns}) VALUES ${chunk.map(() => tuple).join(', ')}`,
        chunk.flatMap((row) => table.columns.map((c) => row[c] ?? null)),
      );
    }
    copied += rows.length;
    if (rows.length > 0) onProgress({ table: table.name, copied, total });
    if (!full || rows.length === 0) break;
    after = rows[rows.length - 1]![table.key];
  }
}
