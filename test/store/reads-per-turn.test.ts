// The next ready task (the original complete answer's next_task_id) asked by many completes at once
// is read once (store/reads-per-turn.ts), and each asker still sees what its own complete freed.
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { createQueue, type Queue } from '../../src/core/queue.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { scheduledDb } from '../helpers/scheduled-db.js';
import { backends, defaultQueueConfig, testClock } from '../helpers/stores.js';

// From the index of ready tasks, named on SQLite.
const READY_READ = /^SELECT t\.id FROM tasks t (INDEXED BY tasks_ready )?WHERE/;

describe.each(backends)('next ready task asked together ($name)', (backend) => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  async function open(): Promise<{ queue: Queue; statements: string[] }> {
    const opened = await backend.open();
    cleanup = opened.cleanup;
    const statements: string[] = [];
    const db = scheduledDb(opened.db, async (label) => void statements.push(label));
    const queue = createQueue({ store: new SqlStore(db), bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit: 1 }, clock: testClock().fn });
    return { queue, statements };
  }

  it('8 agents completing at once and asking for the next task: one read answers all', async () => {
    const { queue, statements } = await open();
    for (let i = 0; i < 10; i++) await queue.create({ description: `task ${i}` });
    const held = [];
    for (let i = 0; i < 8; i++) held.push((await queue.claimNext({ instanceId: `agent-${i}`, labels: '*' }))!);
    const ninth = held.at(-1)!.id + 1;
    statements.length = 0;
    const answers = await Promise.all(
      held.map(async (task) => {
        await queue.complete(task.id, { leaseToken: task.leaseToken });
        return queue.nextReadyId();
      }),
    );
    expect(answers).toEqual(Array(8).fill(ninth));
    expect(statements.filter((s) => READY_READ.test(s))).toHaveLength(1);
    // Asked again later: read again, not an old answer.
    const next = (await queue.claimNext({ instanceId: 'agent-0', labels: '*' }))!;
    expect(next.id).toBe(ninth);
    expect(await queue.nextReadyId()).toBe(ninth + 1);
  });

  it('each asker is told of the task its own complete freed, even sharing the read', async () => {
    const { queue } = await open();
    const first = (await queue.create({ description: 'first' })).task;
    const other = (await queue.create({ description: 'other' })).task;
    const dependant = (await queue.create({ description: 'after first', dependsOn: [first.id] })).task;
    const a = (await queue.claimNext({ instanceId: 'agent-a', labels: '*' }))!;
    const b = (await queue.claimNext({ instanceId: 'agent-b', labels: '*' }))!;
    expect([a.id, b.id]).toEqual([first.id, other.id]);
    expect(await queue.nextReadyId()).toBeNull();
    const answers = await Promise.all([
      queue.complete(a.id, { leaseToken: a.leaseToken }).then(() => queue.nextReadyId()),
      queue.complete(b.id, { leaseToken: b.leaseToken }).then(() => queue.nextReadyId()),
    ]);
    expect(answers).toEqual([dependant.id, dependant.id]);
  });
});
