// How PostgreSQL differs from SQLite for the shared SQL, as data (see Dialect in ../db.ts).
import { stampOf } from '../change-stamps.js';
import type { Dialect } from '../db.js';

export const postgresDialect: Dialect = {
  name: 'postgres',
  // Concurrent claimers skip rows another transaction is claiming instead of queueing behind it.
  claimLock: 'FOR UPDATE OF t SKIP LOCKED',
  rowLock: 'FOR UPDATE',
  // Keyed by name and schema, so queues sharing one database do not wait for each other. Several are
  // taken in the order of the VALUES list (a values scan returns its rows in order).
  namedLock: (count) =>
    count === 1
      ? 'SELECT pg_advisory_xact_lock(hashtext(?), hashtext(current_schema()))'
      : `SELECT COUNT(pg_advisory_xact_lock(hashtext(l.name), hashtext(current_schema()))) FROM (VALUES ${Array.from({ length: count }, () => '(?)').join(', ')}) AS l(name)`,
  tableLock: (table) => `LOCK TABLE ${table} IN EXCLUSIVE MODE`,
  // athena_stamp_changed (migration 020) raises STAMP_CHANGED, which tx runs again (errors.ts).
  stampGuard: (table) => `CASE WHEN ${stampOf(table)} = ? THEN 1 ELSE athena_stamp_changed('${table}') END`,
  writableCte: true,
  indexedBy: () => '',
  ilike: 'ILIKE',
  // Rows imported with explicit ids do not advance the BIGSERIAL sequence by themselves.
  resetSequence: (table) =>
    `SELECT setval(pg_get_serial_sequence('${table}', 'id'), COALESCE((SELECT MAX(id) FROM ${table}), 0) + 1, false)`,
  // Autovacuum analyzes late; stale statistics make labelled claims read every matching pending task (statistics.ts).
  statistics: {
    refresh: 'ANALYZE tasks',
    inserted: `SELECT n_tup_ins AS inserted FROM pg_stat_user_tables WHERE relid = to_regclass('tasks')`,
  },
  columnNames: 'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position',
  // The lists are JSON text, as on SQLite. Both forms are function calls, so they may follow the
  // table whose column they read in a FROM list (functions there see earlier items, as json_each does).
  listItems: {
    text: (column, alias) => `jsonb_array_elements_text(${column}::jsonb) AS ${alias}(value)`,
    ids: (column, alias) => `unnest(CAST(ARRAY(SELECT jsonb_array_elements_text(${column}::jsonb)) AS BIGINT[])) AS ${alias}(value)`,
  },
  jsonRecords: (alias, columns) => `jsonb_to_recordset(CAST(? AS jsonb)) AS ${alias}(${columns.map(([name, type]) => `${name} ${type}`).join(', ')})`,
};
