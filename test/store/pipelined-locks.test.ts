// A claim's named locks and its claiming statement leave together (lockNamedThen, store/db.ts): one
// round trip fewer, and still the claim runs only once the locks are held.
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_NAMES, lockNamed, lockNamedThen, type Dialect, type Queryable } from '../../src/store/db.js';
import { openTestQueue, postgresBackend, type TestQueue } from '../helpers/stores.js';

/** A Queryable whose statements answer only when the test says, recording the order they were sent in. */
function heldQueryable() {
  const sent: string[] = [];
  const answers: Array<{ sql: string; resolve(v: unknown): void; reject(e: unknown): void }> = [];
  const send = (sql: string) =>
    new Promise<never>((resolve, reject) => {
      sent.push(sql);
      answers.push({ sql, resolve: resolve as (v: unknown) => void, reject });
    });
  const q = { all: send, get: send, run: send, insert: send } as unknown as Queryable;
  return { q, sent, answers };
}

const dialect = { namedLock: (n: number) => `LOCK ${n}` } as unknown as Dialect;

describe('lockNamedThen', () => {
  it('sends the statement after the locks before their answer, and answers with its result', async () => {
    const { q, sent, answers } = heldQueryable();
    const result = lockNamedThen(q, dialect, ['b', 'a'], () => q.all('UPDATE tasks', []));
    expect(sent).toEqual(['LOCK 2', 'UPDATE tasks']);
    answers[0]!.resolve(1);
    answers[1]!.resolve([{ id: 7 }]);
    expect(await result).toEqual([{ id: 7 }]);
  });

  it('a lock that fails is the error thrown, not the aborted statement behind it', async () => {
    const { q, answers } = heldQueryable();
    const result = lockNamedThen(q, dialect, ['a'], () => q.all('UPDATE tasks', []));
    const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    answers[0]!.reject(deadlock);
    answers[1]!.reject(Object.assign(new Error('current transaction is aborted'), { code: '25P02' }));
    await expect(result).rejects.toBe(deadlock);
  });

  it('without locks to take, only the statement goes', async () => {
    const { q, sent, answers } = heldQueryable();
    const result = lockNamedThen(q, dialect, [], () => q.all('UPDATE tasks', []));
    expect(sent).toEqual(['UPDATE tasks']);
    answers[0]!.resolve([]);
    expect(await result).toEqual([]);
  });
});

describe('pipelined WIP lock on PostgreSQL', () => {
  let t: TestQueue;
  afterEach(async () => t?.cleanup());

  it('a claim waits for the agent WIP lock another transaction holds, then counts what that one committed', async () => {
    t = await openTestQueue(postgresBackend, { wipLimit: 1 });
    const first = (await t.queue.create({ description: 'taken meanwhile' })).task;
    await t.queue.create({ description: 'would be second' });
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockHeld = new Promise<void>((resolve) => (locked = resolve));
    // Another transaction holds agent-1's WIP lock and gives agent-1 a task before it commits.
    const other = t.db.tx(async (q) => {
      await lockNamed(q, t.db.dialect, LOCK_NAMES.wip('agent-1'));
      await q.run(`UPDATE tasks SET status = 'in_progress', instance_id = 'agent-1', lease_token = 'x', lease_expires_at = ? WHERE id = ?`, [t.clock.now + 60_000, first.id]);
      locked();
      await holding;
    });
    await lockHeld;
    let settled = false;
    const claim = t.queue.claimNext({ instanceId: 'agent-1', labels: '*' }).then(
      (task) => ({ task }),
      (err: { code?: string }) => ({ code: err.code }),
    );
    void claim.finally(() => (settled = true));
    // Wait until the claim either answers or is seen waiting on the lock (in the database).
    const waitingOnLock = async () =>
      Number((await t.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'`))?.n ?? 0) > 0;
    const until = Date.now() + 10_000;
    while (!settled && !(await waitingOnLock()) && Date.now() < until) await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    release();
    await other;
    expect(await claim).toEqual({ code: 'WIP_LIMIT' });
  });
});
