// Pauses and limits set through one replica (or one of two processes on a SQLite file) are honoured by the very next claim
// on the other, which keeps the controls it read before: no message between them is awaited.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { parseLimitScope, parsePauseScope } from '../../src/core/queue-controls.js';
import { createQueue, type Queue } from '../../src/core/queue.js';
import type { Db } from '../../src/store/db.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { defaultQueueConfig, openReopenable, type ReopenableDb } from '../helpers/stores.js';

const queueOn = (db: Db): Queue => createQueue({ store: new SqlStore(db), bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit: 0 } });

const heldWithLabel = async (db: Db, label: string): Promise<number> =>
  (await db.all<{ labels: string }>(`SELECT labels FROM tasks WHERE status IN ('in_progress', 'needs_input')`))
    .filter((row) => (JSON.parse(row.labels) as string[]).includes(label)).length;

describe.each(['sqlite', 'postgres'] as const)('pauses and limits set through another replica (%s)', (backend) => {
  let opened: ReopenableDb;
  let a: Queue;
  let b: Queue;
  let dbB: Db;
  beforeEach(async () => {
    // PostgreSQL: two pools on one schema, as two replicas; SQLite: two connections to one file, as two processes.
    opened = await openReopenable(backend, 9);
    dbB = await opened.reopen();
    a = queueOn(opened.db);
    b = queueOn(dbB);
  });
  afterEach(async () => opened?.cleanup());

  it('a queue pause set on B stops the next claim on A, by id too; a resume on B lets A claim again', async () => {
    const first = (await a.create({ description: 'first' })).task;
    const second = (await a.create({ description: 'second' })).task;
    expect((await a.claimNext({ instanceId: 'x', labels: '*' }))!.id).toBe(first.id);

    await b.pause(parsePauseScope('queue'), 'ops', 'deploying');
    expect(await a.claimNext({ instanceId: 'y', labels: '*' })).toBeNull();
    await expect(a.claim(second.id, { instanceId: 'y' })).rejects.toMatchObject({ code: 'NOT_CLAIMABLE', message: expect.stringContaining('queue is paused') });

    await b.resume(parsePauseScope('queue'), 'ops');
    expect((await a.claimNext({ instanceId: 'y', labels: '*' }))!.id).toBe(second.id);
  });

  it('a label pause and a limit set on B apply to the next claims on A; removed on B, A claims those tasks again', async () => {
    const db1 = (await a.create({ description: 'db 1', labels: ['db'], priority: 'high' })).task;
    const db2 = (await a.create({ description: 'db 2', labels: ['db'], priority: 'high' })).task;
    const web = (await a.create({ description: 'web', labels: ['web'] })).task;
    expect((await a.claimNext({ instanceId: 'x', labels: '*' }))!.id).toBe(db1.id);

    await b.setLimit(parseLimitScope('label:db'), 1, 'admin');
    await expect(a.claim(db2.id, { instanceId: 'y' })).rejects.toMatchObject({ message: expect.stringContaining('label:db already has 1 task(s) in progress (limit 1)') });
    await b.removeLimit(parseLimitScope('label:db'), 'admin');
    await b.pause(parsePauseScope('label:db'), 'ops', null);
    expect((await a.claimNext({ instanceId: 'y', labels: '*' }))!.id).toBe(web.id);
    expect(await a.claimNext({ instanceId: 'z', labels: '*' })).toBeNull();

    await b.resume(parsePauseScope('label:db'), 'ops');
    expect((await a.claimNext({ instanceId: 'z', labels: '*' }))!.id).toBe(db2.id);
  });

  it('16 agents split over both, after a limit of 2 is set on B, never hold more than 2 of its tasks', async () => {
    for (let i = 0; i < 30; i++) await a.create({ description: `db ${i}`, labels: ['db'] });
    for (let i = 0; i < 10; i++) await a.create({ description: `page ${i}`, labels: ['web'], priority: 'high' });
    // Both have claimed (and read the controls) before the limit exists.
    for (const queue of [a, b]) {
      const task = (await queue.claimNext({ instanceId: 'warm', labels: '*' }))!;
      await queue.complete(task.id, { leaseToken: task.leaseToken });
    }
    await b.setLimit(parseLimitScope('label:db'), 2, 'admin');

    let most = 0;
    const agent = async (n: number) => {
      const queue = n % 2 === 0 ? a : b;
      for (;;) {
        const task = await queue.claimNext({ instanceId: `agent-${n}`, labels: '*' });
        if (!task) return;
        most = Math.max(most, await heldWithLabel(opened.db, 'db'));
        await new Promise((resolve) => setTimeout(resolve, 3)); // the work
        most = Math.max(most, await heldWithLabel(opened.db, 'db'));
        await queue.complete(task.id, { leaseToken: task.leaseToken });
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, n) => agent(n)));
    expect(most).toBe(2);
    expect((await a.stats()).byStatus.completed).toBe(40);
  }, 60_000);
});
