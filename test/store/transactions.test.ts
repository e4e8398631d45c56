// Transactions on both backends: a statement the body sent without waiting for its answer is still
// part of the transaction (a peek, or a transition's log row, returns Unanswered and the COMMIT goes
// right behind), and one that failed fails the transaction instead of being lost.
import { afterEach, describe, expect, it } from 'vitest';
import { answered, Unanswered, type Db } from '../../src/store/db.js';
import { backends } from '../helpers/stores.js';

describe.each(backends)('transactions ($name)', (backend) => {
  let db: Db;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  async function open(): Promise<void> {
    const opened = await backend.open();
    db = opened.db;
    cleanup = opened.cleanup;
  }

  const cursors = () => db.all<{ name: string }>('SELECT name FROM cursors ORDER BY name');

  it('a body may return before an answer it does not need: the statement commits with the transaction', async () => {
    await open();
    const sent = await db.tx(async (q) => new Unanswered(q.get<{ name: string }>(`INSERT INTO cursors (name, position, updated_at) VALUES ('a', 1, 1) RETURNING name`)));
    expect(await answered(sent)).toEqual({ name: 'a' });
    expect(await cursors()).toEqual([{ name: 'a' }]);
  });

  it('a failed statement the body did not wait for fails the transaction, and its other writes are undone', async () => {
    await open();
    const outcome = db.tx(async (q) => {
      await q.run(`INSERT INTO cursors (name, position, updated_at) VALUES ('kept?', 1, 1)`);
      void q.run(`INSERT INTO cursors (name, position, updated_at) VALUES ('kept?', 2, 2)`); // the same key again
      return 'done';
    });
    await expect(outcome).rejects.toThrow();
    expect(await cursors()).toEqual([]);
  });

  it('a body that returned before a failed answer fails the transaction, and nothing is left unhandled', async () => {
    await open();
    const outcome = db.tx(async (q) => {
      await q.run(`INSERT INTO cursors (name, position, updated_at) VALUES ('c', 1, 1)`);
      return new Unanswered(q.run(`INSERT INTO cursors (name, position, updated_at) VALUES ('c', 2, 2)`)); // the same key again
    });
    await expect(outcome).rejects.toThrow();
    expect(await cursors()).toEqual([]);
  });

  it('a failed statement whose error the body caught still fails the transaction', async () => {
    await open();
    const outcome = db.tx(async (q) => {
      await q.run(`INSERT INTO cursors (name, position, updated_at) VALUES ('b', 1, 1)`);
      await q.run(`INSERT INTO cursors (name, position, updated_at) VALUES ('b', 2, 2)`).catch(() => 0);
      return 'done';
    });
    await expect(outcome).rejects.toThrow();
    expect(await cursors()).toEqual([]);
  });
});
