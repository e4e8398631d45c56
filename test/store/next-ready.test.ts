// The next ready task (the original complete answer's next_task_id, Discord's next in line). A
// completion that asks for it has it read in its own transaction, after its change: no statement of
// its own outside, the dependant it freed shown, what pauses and limits hold back passed over,
// completions batched together sharing one read. Asked apart from a completion, callers of one turn
// share one read (store/reads-per-turn.ts), and each still sees what its own complete freed.
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { createQueue, type Queue } from '../../src/core/queue.js';
import { parseLimitScope, parsePauseScope } from '../../src/core/queue-controls.js';
import type { Db, Queryable } from '../../src/store/db.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { backends, defaultQueueConfig, testClock } from '../helpers/stores.js';

// From the index of ready tasks, named on SQLite.
const READY_READ = /^SELECT t\.id FROM tasks t (INDEXED BY tasks_ready )?WHERE/;

type Sent = { sql: string; inTx: number | null };

/** `inner`, noting each statement sent and the transaction it was sent in (null: outside any). */
function notingDb(inner: Db, sent: Sent[]): Db & { transactions(): number } {
  let transactions = 0;
  const noting = (q: Queryable, inTx: number | null): Queryable => {
    const note = (sql: string) => void sent.push({ sql: sql.replace(/\s+/g, ' ').trim(), inTx });
    return {
      all: (sql, params) => (note(sql), q.all(sql, params)),
      get: (sql, params) => (note(sql), q.get(sql, params)),
      run: (sql, params) => (note(sql), q.run(sql, params)),
      insert: (sql, params) => (note(sql), q.insert(sql, params)),
    } as Queryable;
  };
  const outside = noting(inner, null);
  return {
    ...outside,
    dialect: inner.dialect,
    capabilities: inner.capabilities,
    openSession: () => inner.openSession(),
    tx: (fn, options) => {
      const n = ++transactions;
      return inner.tx((q) => fn(noting(q, n)), options);
    },
    migrate: () => inner.migrate(),
    ping: () => inner.ping(),
    close: () => inner.close(),
    transactions: () => transactions,
  };
}

describe.each(backends)('the next ready task ($name)', (backend) => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  async function open(wipLimit = 1): Promise<{ queue: Queue; sent: Sent[] }> {
    const opened = await backend.open();
    cleanup = opened.cleanup;
    const sent: Sent[] = [];
    const queue = createQueue({ store: new SqlStore(notingDb(opened.db, sent)), bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit }, clock: testClock().fn });
    return { queue, sent };
  }

  const readyReads = (sent: Sent[]) => sent.filter((s) => READY_READ.test(s.sql));

  /** Ten tasks, eight of them held by agent-0 … agent-7; the ninth is the next ready. */
  async function eightHeld(queue: Queue) {
    for (let i = 0; i < 10; i++) await queue.create({ description: `task ${i}` });
    const held = [];
    for (let i = 0; i < 8; i++) held.push((await queue.claimNext({ instanceId: `agent-${i}`, labels: '*' }))!);
    return { held, ninth: held.at(-1)!.id + 1 };
  }

  /** `first` held by agent-a, `other` by agent-b, and a task waiting on `first`: none ready. */
  async function twoHeldOneWaiting(queue: Queue) {
    const first = (await queue.create({ description: 'first' })).task;
    const other = (await queue.create({ description: 'other' })).task;
    const dependant = (await queue.create({ description: 'after first', dependsOn: [first.id] })).task;
    const a = (await queue.claimNext({ instanceId: 'agent-a', labels: '*' }))!;
    const b = (await queue.claimNext({ instanceId: 'agent-b', labels: '*' }))!;
    expect([a.id, b.id]).toEqual([first.id, other.id]);
    expect(await queue.nextReadyId()).toBeNull();
    return { a, b, dependant };
  }

  it('8 agents completing at once: each told the first ready task, read in the completions\' transactions', async () => {
    const { queue, sent } = await open();
    const { held, ninth } = await eightHeld(queue);
    sent.length = 0;
    const answers = await Promise.all(held.map((task) => queue.completeThenNext(task.id, { leaseToken: task.leaseToken })));
    expect(answers.map((a) => a.task.status)).toEqual(Array(8).fill('completed'));
    expect(answers.map((a) => a.nextReadyId)).toEqual(Array(8).fill(ninth));
    const reads = readyReads(sent);
    expect(reads.filter((r) => r.inTx === null)).toEqual([]);
    // One read in each transaction that completed tasks: where writes batch, one for the 8.
    const completing = new Set(sent.filter((s) => /^UPDATE tasks SET status = /.test(s.sql) || /^UPDATE tasks SET .*FROM/.test(s.sql)).map((s) => s.inTx));
    expect(new Set(reads.map((r) => r.inTx))).toEqual(completing);
    if (backend.name === 'postgres') expect(reads).toHaveLength(1);
    // Asked again later: read again, not an old answer.
    const next = (await queue.claimNext({ instanceId: 'agent-0', labels: '*' }))!;
    expect(next.id).toBe(ninth);
    expect((await queue.completeThenNext(next.id, { leaseToken: next.leaseToken })).nextReadyId).toBe(ninth + 1);
  });

  it('each is told of the dependant its own completion freed', async () => {
    const { queue } = await open();
    const { a, b, dependant } = await twoHeldOneWaiting(queue);
    const [doneB, doneA] = [
      await queue.completeThenNext(b.id, { leaseToken: b.leaseToken }),
      await queue.completeThenNext(a.id, { leaseToken: a.leaseToken }),
    ];
    expect(doneB.nextReadyId).toBeNull();
    expect(doneA.nextReadyId).toBe(dependant.id);
  });

  it('passes over what a pause or a reached limit holds back, as a claim would', async () => {
    const { queue } = await open(0);
    const first = (await queue.create({ description: 'first', priority: 'high' })).task;
    const second = (await queue.create({ description: 'second', priority: 'high' })).task;
    await queue.create({ description: 'site', project: 'site', priority: 'medium' });
    await queue.create({ description: 'db', labels: ['db'], priority: 'medium' });
    const plain = (await queue.create({ description: 'plain', priority: 'low' })).task;
    const a = (await queue.claim(first.id, { instanceId: 'a' }))!;
    const b = (await queue.claim(second.id, { instanceId: 'b' }))!;
    await queue.pause(parsePauseScope('project:site'), 'admin', null);
    await queue.setLimit(parseLimitScope('label:db'), 0, 'admin');
    expect((await queue.completeThenNext(a.id, { leaseToken: a.leaseToken })).nextReadyId).toBe(plain.id);
    await queue.pause(parsePauseScope('queue'), 'admin', null);
    expect((await queue.completeThenNext(b.id, { leaseToken: b.leaseToken })).nextReadyId).toBeNull();
  });

  it('a task that requires review goes to in_review, and the answer still names the next ready task', async () => {
    const { queue } = await open();
    const reviewed = (await queue.create({ description: 'fix it', review: true })).task;
    const after = (await queue.create({ description: 'after' })).task;
    const claimed = (await queue.claimNext({ instanceId: 'a', labels: '*' }))!;
    expect(claimed.id).toBe(reviewed.id);
    const done = await queue.completeThenNext(claimed.id, { leaseToken: claimed.leaseToken });
    expect(done.task.status).toBe('in_review');
    expect(done.nextReadyId).toBe(after.id);
  });

  it('a refused completion says why and reads nothing', async () => {
    const { queue, sent } = await open();
    await queue.create({ description: 'a' });
    await queue.create({ description: 'b' });
    const claimed = (await queue.claimNext({ instanceId: 'a', labels: '*' }))!;
    sent.length = 0;
    await expect(queue.completeThenNext(claimed.id, { leaseToken: 'not-the-token' })).rejects.toMatchObject({ code: 'LEASE_MISMATCH' });
    expect(readyReads(sent)).toEqual([]);
  });

  it('asked apart from a completion by 8 callers in one turn: one read answers all', async () => {
    const { queue, sent } = await open();
    const { held, ninth } = await eightHeld(queue);
    sent.length = 0;
    const answers = await Promise.all(
      held.map(async (task) => {
        await queue.complete(task.id, { leaseToken: task.leaseToken });
        return queue.nextReadyId();
      }),
    );
    expect(answers).toEqual(Array(8).fill(ninth));
    expect(readyReads(sent)).toHaveLength(1);
    // Asked again later: read again, not an old answer.
    const next = (await queue.claimNext({ instanceId: 'agent-0', labels: '*' }))!;
    expect(next.id).toBe(ninth);
    expect(await queue.nextReadyId()).toBe(ninth + 1);
  });

  it('asked apart, each caller is told of the task its own complete freed, even sharing the read', async () => {
    const { queue } = await open();
    const { a, b, dependant } = await twoHeldOneWaiting(queue);
    const answers = await Promise.all([
      queue.complete(a.id, { leaseToken: a.leaseToken }).then(() => queue.nextReadyId()),
      queue.complete(b.id, { leaseToken: b.leaseToken }).then(() => queue.nextReadyId()),
    ]);
    expect(answers).toEqual([dependant.id, dependant.id]);
  });
});
