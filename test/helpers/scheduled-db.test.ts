// The scheduling harness of the model-based tests: the scheduler may open gates in any order, but a
// transaction's statements reach the database in the order they were sent, as on a real connection
// (a lock sent with the claim behind it, without waiting for its answer: store/db.ts lockNamedThen).
import { afterEach, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../src/store/db.js';
import { scheduledDb } from './scheduled-db.js';
import { backends } from './stores.js';

describe.each(backends)('scheduledDb ($name)', (backend) => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  it('a transaction’s statements start in the order sent, whichever gate opens first', async () => {
    const opened = await backend.open();
    cleanup = opened.cleanup;
    const gates: Array<{ label: string; open(): void }> = [];
    const started: string[] = [];
    const inner: Db = {
      ...opened.db,
      tx: (fn, options) => opened.db.tx((q) => fn(recording(q, started)), options),
    };
    const db = scheduledDb(inner, (label) => new Promise<void>((open) => gates.push({ label, open })));
    const done = db.tx(async (q) => Promise.all([q.get('SELECT 1 AS first'), q.get('SELECT 2 AS second')]));
    const until = async (count: number) => {
      while (gates.length < count) await new Promise((resolve) => setImmediate(resolve));
    };
    await until(1);
    gates[0]!.open(); // BEGIN
    await until(3); // both statements sent
    gates.find((g) => g.label.includes('second'))!.open(); // the later one's gate first
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([]);
    gates.find((g) => g.label.includes('first'))!.open();
    await done;
    expect(started).toEqual(['SELECT 1 AS first', 'SELECT 2 AS second']);
  });
});

function recording(q: Queryable, started: string[]): Queryable {
  return {
    all: (sql, params) => (started.push(sql), q.all(sql, params)),
    get: (sql, params) => (started.push(sql), q.get(sql, params)),
    run: (sql, params) => (started.push(sql), q.run(sql, params)),
    insert: (sql, params) => (started.push(sql), q.insert(sql, params)),
  } as Queryable;
}
