// A Db whose every statement (in a transaction or not) waits at a gate before it is sent, so a test
// can decide in which order concurrent transactions take their steps (fast-check's scheduler opens
// the gates). Only the start of a statement is held back, never its result: a statement waiting for
// a lock another transaction holds keeps running, and that transaction's next gate opens in its
// turn, so holding a gate can never deadlock the test.
import type { Db, Queryable } from '../../src/store/db.js';

export type Gate = (label: string) => Promise<void>;

type Gated = Queryable & {
  /** Resolves once every statement asked for so far has passed its gate and gone to the inner Db. */
  allSent(): Promise<void>;
};

/**
 * `inOrder` (a transaction's statements): a statement starts only after the one sent before it in the
 * same transaction started, as on a real connection, where statements sent without waiting for an
 * answer (a lock and the claim behind it) reach the server in the order they were sent.
 */
function gated(q: Queryable, gate: Gate, inOrder = false): Gated {
  const label = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 60);
  let previous: Promise<unknown> = Promise.resolve();
  const sending: Array<Promise<unknown>> = [];
  const opened = (sql: string): Promise<unknown> => {
    if (!inOrder) return gate(label(sql));
    previous = Promise.all([previous, gate(label(sql))]);
    return previous;
  };
  const send = <T>(sql: string, run: () => Promise<T>): Promise<T> => {
    let sent!: () => void;
    sending.push(new Promise<void>((resolve) => (sent = resolve)));
    return opened(sql).then(() => {
      sent();
      return run();
    });
  };
  return {
    all: (sql, params) => send(sql, () => q.all(sql, params)),
    get: (sql, params) => send(sql, () => q.get(sql, params)),
    run: (sql, params) => send(sql, () => q.run(sql, params)),
    insert: (sql, params) => send(sql, () => q.insert(sql, params)),
    allSent: async () => void (await Promise.all(sending)),
  } as Gated;
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
      return inner.tx(async (q) => {
        const statements = gated(q, gate, true);
        const result = await fn(statements);
        // A body may return before its answers (Unanswered): the COMMIT must still follow every
        // statement it sent, as it does on a real connection, not overtake one held at its gate.
        await statements.allSent();
        return result;
      }, options);
    },
    migrate: () => inner.migrate(),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}
