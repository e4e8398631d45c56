// Column lists and stored values of the tasks table, derived from the field declaration (core/task-fields.ts).
import { taskField, type TaskField, type TaskFieldName } from '../core/task-fields.js';
import { PRIORITY_RANK, type Priority } from '../core/types.js';
import { placeholders } from './db.js';

/** A value as its column stores it: JSON text for `json-text` fields (SQL NULL stays NULL). */
export function storedValue(field: TaskField, value: unknown): unknown {
  if (field.stored === 'json-text') return value === null || value === undefined ? null : JSON.stringify(value);
  return value;
}

/** The stored value of a derived field from the fields it is derived from. */
export const priorityRank = (priority: Priority): number => PRIORITY_RANK[priority];

/**
 * An INSERT of the named fields into tasks (`suffix` after VALUES), and a function turning a
 * record of those fields' values into its parameters. Built once per call site, so the statement
 * text stays the same (prepared once).
 */
export function taskInsert<N extends TaskFieldName>(
  names: readonly N[],
  suffix = '',
): { sql: string; params(values: Record<N, unknown>): unknown[]; rows(count: number): string } {
  const fields = names.map((name) => taskField(name));
  const insert = (count: number) =>
    `INSERT INTO tasks (${fields.map((f) => f.column).join(', ')}) VALUES ${Array.from({ length: count }, () => `(${placeholders(fields.length)})`).join(', ')}${suffix ? ` ${suffix}` : ''}`;
  return {
    sql: insert(1),
    params: (values) => fields.map((f) => storedValue(f, values[f.name as N])),
    /** The same INSERT of `count` rows (their params one record after another). */
    rows: insert,
  };
}
