// A Db whose every statement (in a transaction or not) waits at a gate before it is sent, so a test
// can decide in which order concurrent transactions take their steps (fast-check's scheduler opens
// the gates). Only the start of a statement is held back, never its result: a statement waiting for
// a lock another transaction holds keeps running, and that transaction's next gate opens in its
// turn, so holding a gate can never deadlock the test.
import type { Db, Queryable } from '../../src/store/db.js';

export type Gate = (label: string) => Promise<void>;

function gated(q: Queryable, gate: Gate): Queryable {
  const label = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 60);
  return {
    all: async (sql, params) => (await gate(label(sql)), q.all(sql, params)),
    get: async (sql, params) => (await gate(label(sql)), q.get(sql, params)),
    run: async (sql, params) => (await gate(label(sql)), q.run(sql, params)),
    insert: async (sql, params) => (await gate(label(sql)), q.insert(sql, params)),
  } as Queryable;
}

export function scheduledDb(inner: Db, gate: Gate): Db {
  const outside = gated(inner, gate);
  return {
    dialect: inner.dialect,
    capabilities: inner.capabilities,
    openSession: () => inner.openSession(),
    all: outside.all,
    get: outside.get,
    run: outside.run,
    insert: outside.insert,
    async tx(fn, options) {
      await gate('BEGIN');
      return inner.tx((q) => fn(gated(q, gate)), options);
    },
    migrate: () => inner.migrate(),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}
