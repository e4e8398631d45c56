// Readiness by dependencies kept in the row (store/sql-waiting.ts): claims pass over the tasks that
// wait on an unfinished dependency without walking them, and every way a dependency comes to be
// met (completed, accepted in review, dependencies edited away, a retried or reopened dependency
// completing, two dependencies completing at once through two replicas) leaves the task claimable.
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { createQueue, type Queue } from '../../src/core/queue.js';
import type { Store } from '../../src/core/ports.js';
import type { Db } from '../../src/store/db.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { openBefore } from '../helpers/old-database.js';
import { backends, defaultQueueConfig, openReopenable, openTestQueue, type TestQueue } from '../helpers/stores.js';

/** Ids an agent taking any task claims, in order, until none is left for it. */
async function claimAll(queue: Queue, instanceId = 'agent'): Promise<number[]> {
  const ids: number[] = [];
  for (let task = await queue.claimNext({ instanceId, labels: '*' }); task; task = await queue.claimNext({ instanceId, labels: '*' })) ids.push(task.id);
  return ids;
}

/** Claims task `id` by name (through its own walk) and completes it. */
async function finish(queue: Queue, id: number): Promise<void> {
  const task = await queue.claim(id, { instanceId: `finisher-${id}` });
  await queue.complete(id, { leaseToken: task.leaseToken });
}

/** The lease token of a task an agent holds. */
async function leaseOf(store: Store, id: number): Promise<string> {
  return (await store.getTaskWithLease(id))!.leaseToken!;
}

/** The flag as the row keeps it (1: passed over by the walks). */
async function waiting(db: Db, id: number): Promise<number> {
  return Number((await db.get<{ w: number }>('SELECT waiting_on_dependencies AS w FROM tasks WHERE id = ?', [id]))?.w);
}

describe.each(backends)('tasks waiting on dependencies ($name)', (backend) => {
  let t: TestQueue;
  afterEach(async () => t?.cleanup());

  it('claims and peeks pass over waiting tasks ahead of ready ones; a completed dependency frees them in claiming order', async () => {
    t = await openTestQueue(backend, { wipLimit: 0 });
    const parent = (await t.queue.create({ description: 'parent', priority: 'low', labels: ['ops'] })).task;
    const waitingIds: number[] = [];
    for (let i = 0; i < 5; i++) waitingIds.push((await t.queue.create({ description: `after parent ${i}`, priority: 'high', labels: i % 2 ? ['gpu'] : [], dependsOn: [parent.id] })).task.id);
    const ready = (await t.queue.create({ description: 'ready', priority: 'medium', labels: ['gpu'] })).task;
    expect(await waiting(t.db, waitingIds[0]!)).toBe(1);
    expect((await t.queue.peekNext())?.id).toBe(ready.id);
    expect((await t.queue.offerNext('peeker'))?.id).toBe(ready.id);
    // Without labels: only unlabelled tasks, all of them waiting.
    expect(await t.queue.claimNext({ instanceId: 'plain-agent', labels: [] })).toBeNull();
    expect(await t.queue.claimNext({ instanceId: 'gpu-agent', labels: ['gpu'] })).toMatchObject({ id: ready.id });
    expect(await claimAll(t.queue)).toEqual([parent.id]);
    await t.queue.complete(parent.id, { leaseToken: await leaseOf(t.store, parent.id) });
    expect(await waiting(t.db, waitingIds[0]!)).toBe(0);
    expect((await t.queue.claimNext({ instanceId: 'plain-agent', labels: [] }))?.id).toBe(waitingIds[0]);
    expect(await claimAll(t.queue)).toEqual(waitingIds.slice(1));
  });

  it('a task waits until every dependency completed; accepting a review completes one', async () => {
    t = await openTestQueue(backend, { wipLimit: 0 });
    const reviewed = (await t.queue.create({ description: 'reviewed', review: true })).task;
    const plain = (await t.queue.create({ description: 'plain' })).task;
    const after = (await t.queue.create({ description: 'after both', priority: 'high', dependsOn: [reviewed.id, plain.id] })).task;
    await finish(t.queue, plain.id);
    expect(await claimAll(t.queue)).toEqual([reviewed.id]);
    await t.queue.complete(reviewed.id, { leaseToken: await leaseOf(t.store, reviewed.id) });
    expect((await t.queue.get(reviewed.id)).status).toBe('in_review');
    expect(await claimAll(t.queue)).toEqual([]);
    await t.queue.review(reviewed.id, { decision: 'accept', by: 'lead' });
    expect(await claimAll(t.queue)).toEqual([after.id]);
  });

  it('a dependency reopened after it completed holds its pending dependants back until it completes again', async () => {
    t = await openTestQueue(backend, { wipLimit: 0 });
    const parent = (await t.queue.create({ description: 'parent' })).task;
    const child = (await t.queue.create({ description: 'child', dependsOn: [parent.id] })).task;
    await finish(t.queue, parent.id);
    await t.queue.reopen(parent.id, { reason: 'not done after all' });
    expect(await waiting(t.db, child.id)).toBe(1);
    expect(await claimAll(t.queue)).toEqual([parent.id]);
    await t.queue.complete(parent.id, { leaseToken: await leaseOf(t.store, parent.id) });
    expect(await claimAll(t.queue)).toEqual([child.id]);
  });

  it('dependants blocked by a failed dependency wait on its retry, and are claimed once it completes', async () => {
    t = await openTestQueue(backend, { wipLimit: 0, maxAttempts: 1 });
    const parent = (await t.queue.create({ description: 'parent' })).task;
    const child = (await t.queue.create({ description: 'child', dependsOn: [parent.id] })).task;
    const grandchild = (await t.queue.create({ description: 'grandchild', dependsOn: [child.id] })).task;
    const claimed = (await t.queue.claimNext({ instanceId: 'agent', labels: '*' }))!;
    await t.queue.fail(parent.id, { leaseToken: claimed.leaseToken, error: 'broke' });
    expect((await t.queue.get(grandchild.id)).status).toBe('blocked');
    await t.queue.retry(parent.id);
    expect((await t.queue.get(grandchild.id)).status).toBe('pending');
    expect([await waiting(t.db, child.id), await waiting(t.db, grandchild.id)]).toEqual([1, 1]);
    expect(await claimAll(t.queue)).toEqual([parent.id]);
    await t.queue.complete(parent.id, { leaseToken: await leaseOf(t.store, parent.id) });
    expect(await claimAll(t.queue)).toEqual([child.id]);
    await t.queue.complete(child.id, { leaseToken: await leaseOf(t.store, child.id) });
    expect(await claimAll(t.queue)).toEqual([grandchild.id]);
  });

  it('a task cancelled while it waited, reopened after its dependency completed, is claimed', async () => {
    t = await openTestQueue(backend, { wipLimit: 0 });
    const parent = (await t.queue.create({ description: 'parent' })).task;
    const child = (await t.queue.create({ description: 'child', dependsOn: [parent.id] })).task;
    await t.queue.cancel(child.id);
    await finish(t.queue, parent.id);
    await t.queue.reopen(child.id);
    expect(await claimAll(t.queue)).toEqual([child.id]);
  });

  it('dependencies edited or added: on an unfinished task it waits, with them gone it is claimed', async () => {
    t = await openTestQueue(backend, { wipLimit: 0 });
    const parent = (await t.queue.create({ description: 'parent', priority: 'low' })).task;
    const edited = (await t.queue.create({ description: 'edited', priority: 'high' })).task;
    const added = (await t.queue.create({ description: 'added', priority: 'high' })).task;
    await t.queue.edit(edited.id, { dependsOn: [parent.id] });
    await t.queue.addDependencies(added.id, [parent.id]);
    expect([await waiting(t.db, edited.id), await waiting(t.db, added.id)]).toEqual([1, 1]);
    expect((await t.queue.peekNext())?.id).toBe(parent.id);
    await t.queue.edit(edited.id, { dependsOn: [] });
    expect(await claimAll(t.queue)).toEqual([edited.id, parent.id]);
    await t.queue.complete(parent.id, { leaseToken: await leaseOf(t.store, parent.id) });
    expect(await claimAll(t.queue)).toEqual([added.id]);
  });

  it('an import restores which tasks wait: they are passed over until their dependency completes', async () => {
    t = await openTestQueue(backend, { wipLimit: 0 });
    const parent = (await t.queue.create({ description: 'parent', priority: 'low' })).task;
    const child = (await t.queue.create({ description: 'child', priority: 'high', dependsOn: [parent.id] })).task;
    const data = await t.queue.exportAll();
    await t.cleanup();
    t = await openTestQueue(backend, { wipLimit: 0 });
    await t.queue.importAll(data);
    expect(await waiting(t.db, child.id)).toBe(1);
    expect(await claimAll(t.queue)).toEqual([parent.id]);
    await t.queue.complete(parent.id, { leaseToken: await leaseOf(t.store, parent.id) });
    expect(await claimAll(t.queue)).toEqual([child.id]);
  });
});

describe.each(['sqlite', 'postgres'] as const)('dependencies completing at once through two replicas (%s)', (backend) => {
  it('40 tasks, each waiting on two tasks completed at the same moment through two replicas: all 40 are claimed', async () => {
    const opened = await openReopenable(backend);
    try {
      const queueOn = (db: Db) => createQueue({ store: new SqlStore(db), bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit: 0 } });
      const [a, b] = [queueOn(opened.db), queueOn(await opened.reopen())];
      const pairs: Array<[number, number]> = [];
      const dependants: number[] = [];
      for (let i = 0; i < 40; i++) {
        const first = (await a.create({ description: `first ${i}` })).task.id;
        const second = (await a.create({ description: `second ${i}` })).task.id;
        pairs.push([first, second]);
        dependants.push((await a.create({ description: `after ${i}`, dependsOn: [first, second] })).task.id);
      }
      const leases = new Map<number, string>();
      for (const [first, second] of pairs) {
        leases.set(first, (await a.claim(first, { instanceId: 'replica-a' })).leaseToken);
        leases.set(second, (await b.claim(second, { instanceId: 'replica-b' })).leaseToken);
      }
      // Each pair's two completions race, one through each replica (each in a transaction of its own).
      await Promise.all(pairs.flatMap(([first, second]) => [a.complete(first, { leaseToken: leases.get(first)! }), b.complete(second, { leaseToken: leases.get(second)! })]));
      expect((await claimAll(a)).sort((x, y) => x - y)).toEqual(dependants);
    } finally {
      await opened.cleanup();
    }
  });
});

describe.each(['sqlite', 'postgres'] as const)('migration waiting_on_dependencies (%s)', (backend) => {
  it('marks the pending tasks that wait and the tasks depended on; claims pass over the waiting ones', async () => {
    // #1 pending; #2 waits on #1; #3 completed; #4 waits on #3 (ready); #5 waits on #1 and #3.
    const old = await openBefore(
      backend,
      '023_waiting',
      `INSERT INTO tasks (id, description, status, priority, priority_rank, created_at, updated_at, depends_on) VALUES
         (1, 'first', 'pending', 'low', 2, 1000, 1000, '[]'),
         (2, 'after first', 'pending', 'high', 0, 1001, 1001, '[1]'),
         (3, 'done', 'completed', 'high', 0, 1002, 1002, '[]'),
         (4, 'after done', 'pending', 'medium', 1, 1003, 1003, '[3]'),
         (5, 'after both', 'pending', 'high', 0, 1004, 1004, '[1,3]');`,
      `SELECT setval(pg_get_serial_sequence('tasks', 'id'), 5)`,
    );
    try {
      expect((await old.db.migrate()).some((name) => name.includes('waiting_on_dependencies'))).toBe(true);
      const rows = await old.db.all<{ id: number; w: number; d: number }>('SELECT id, waiting_on_dependencies AS w, has_dependants AS d FROM tasks ORDER BY id');
      expect(rows.map((r) => [Number(r.id), Number(r.w), Number(r.d)])).toEqual([[1, 0, 1], [2, 1, 0], [3, 0, 1], [4, 0, 0], [5, 1, 0]]);
      const store = new SqlStore(old.db);
      const queue = createQueue({ store, bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit: 0 } });
      expect(await claimAll(queue)).toEqual([4, 1]);
      await queue.complete(1, { leaseToken: await leaseOf(store, 1) });
      expect(await claimAll(queue)).toEqual([2, 5]);
    } finally {
      await old.cleanup();
    }
  });
});
