// How SQLite differs from PostgreSQL for the shared SQL, as data (see Dialect in ../db.ts).
import type { Dialect } from '../db.js';

// SQLite's planner picks the queue index without statistics: nothing to refresh. One writer at a
// time (BEGIN IMMEDIATE, and one connection) already serialises every write transaction: no locks.
export const sqliteDialect: Dialect = {
  name: 'sqlite',
  claimLock: '',
  rowLock: '',
  namedLock: null,
  tableLock: null,
  // Statements run in-process: a write reads the stamp and waits, at no cost.
  stampGuard: null,
  writableCte: false,
  indexedBy: (index) => `INDEXED BY ${index}`,
  ilike: 'LIKE',
  resetSequence: null,
  statistics: null,
  columnNames: 'SELECT name FROM pragma_table_info(?) ORDER BY cid',
  // json_each's value column holds each element with its JSON type (text or integer).
  listItems: {
    text: (column, alias) => `json_each(${column}) ${alias}`,
    ids: (column, alias) => `json_each(${column}) ${alias}`,
  },
  jsonRecords: (alias, columns) =>
    `(SELECT ${columns.map(([name, type]) => `${type === 'bigint' ? 'CAST' : ''}(json_extract(value, '$.${name}')${type === 'bigint' ? ' AS INTEGER' : ''}) AS ${name}`).join(', ')} FROM json_each(?)) AS ${alias}`,
};
