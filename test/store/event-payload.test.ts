// The task log keeps what a task's lifecycle changes, not the whole task (store/event-payload.ts): an
// event read back from the log (notifier, dashboard replay, other replicas' feeds) carries the same
// task the live event did, while each log row stores a fraction of it.
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../src/core/types.js';
import { readEventsAfter } from '../../src/store/event-log.js';
import { backends, openTestQueue, type TestQueue } from '../helpers/stores.js';

describe.each(backends)('events in the task log ($name)', (backend) => {
  let t: TestQueue;
  afterEach(async () => t?.cleanup());

  async function lifecycle(): Promise<TaskEvent[]> {
    const live: TaskEvent[] = [];
    t.bus.subscribe((e) => live.push(e));
    const { queue } = t;
    const a = (await queue.create({ description: 'fix the flaky login test', labels: ['backend', 'web'], project: 'site', priority: 'high', notes: 'see CI run 12' })).task;
    const claimed = (await queue.claimNext({ instanceId: 'agent-1', labels: '*' }))!;
    await queue.heartbeat(a.id, { instanceId: 'agent-1', leaseToken: claimed.leaseToken, progress: 'half way' });
    await queue.askForInput(a.id, { instanceId: 'agent-1', leaseToken: claimed.leaseToken, question: 'which browser?' });
    await queue.answer(a.id, { answer: 'firefox', by: 'ana' });
    await queue.fail(a.id, { instanceId: 'agent-1', leaseToken: claimed.leaseToken, error: 'timed out', retry: true });
    t.clock.advance(60_000);
    const again = (await queue.claimNext({ instanceId: 'agent-2', labels: '*' }))!;
    await queue.complete(a.id, { instanceId: 'agent-2', leaseToken: again.leaseToken, result: { summary: 'fixed', files: 3 }, notes: 'retried once' });
    const b = (await queue.create({ description: 'write the release notes', dependsOn: [a.id], assignee: 'agent-3' })).task;
    await queue.cancel(b.id, { user: 'ana', reason: 'not needed' });
    // Claims arriving together (one statement on PostgreSQL) log their events together.
    for (let i = 0; i < 3; i++) await queue.create({ description: `batch ${i}` });
    await Promise.all([1, 2, 3].map((n) => queue.claimNext({ instanceId: `agent-${n}`, labels: '*' })));
    return live;
  }

  it('every event read back carries the task the live event carried', async () => {
    t = await openTestQueue(backend);
    const live = await lifecycle();
    expect(live.filter((e) => e.type === 'claimed')).toHaveLength(5);
    const read = await t.queue.eventsSince(0, 100);
    expect(read).toEqual(live);
    expect(await readEventsAfter(t.db, 0, [], 100)).toEqual(live);
  });

  it('a log row stores what the lifecycle changed, not what was asked for', async () => {
    t = await openTestQueue(backend);
    const live = await lifecycle();
    const rows = await t.db.all<{ id: number; payload: string }>('SELECT id, payload FROM task_logs ORDER BY id');
    let stored = 0;
    let whole = 0;
    for (const row of rows) {
      const event = live.find((e) => e.id === Number(row.id))!;
      const payload = JSON.parse(row.payload) as Record<string, unknown>;
      for (const asked of ['description', 'labels', 'project', 'priority', 'dependsOn', 'createdAt']) expect(payload).not.toHaveProperty(asked);
      expect(payload.status).toBe(event.task!.status);
      stored += row.payload.length;
      whole += JSON.stringify(event.task).length;
    }
    expect(stored / whole).toBeLessThan(0.4);
  });

  it('an event read back shows what was asked for as the task holds it now', async () => {
    t = await openTestQueue(backend);
    const { queue } = t;
    const task = (await queue.create({ description: 'first words', labels: ['a'] })).task;
    await queue.claimNext({ instanceId: 'agent-1', labels: '*' });
    await queue.edit(task.id, { description: 'second words', by: 'ana' });
    const [created, claimed] = await queue.eventsSince(0, 10);
    expect(created!.type).toBe('created');
    expect(created!.task).toMatchObject({ status: 'pending', instanceId: null, description: 'second words', labels: ['a'] });
    expect(claimed!.task).toMatchObject({ status: 'in_progress', instanceId: 'agent-1', attempts: 1, description: 'second words' });
  });

  it('a deleted task: its own event keeps the whole task, the rest of its log goes with it', async () => {
    t = await openTestQueue(backend);
    const { queue } = t;
    const task = (await queue.create({ description: 'short lived', labels: ['x'] })).task;
    const removed = await queue.remove(task.id, { by: 'ana' });
    const events = await queue.eventsSince(0, 10);
    expect(events.map((e) => e.type)).toEqual(['deleted']);
    expect(events[0]!.task).toEqual(removed);
  });

  it('rows written with the whole task (before) read back as written; rows without a task read back without one', async () => {
    t = await openTestQueue(backend);
    const { queue } = t;
    const task = (await queue.create({ description: 'older row' })).task;
    const oldTask = { ...task, description: 'as it was then' };
    await t.db.run('INSERT INTO task_logs (task_id, action, details, instance_id, timestamp, payload) VALUES (?, ?, ?, ?, ?, ?)', [
      task.id, 'edited', null, null, 1, JSON.stringify(oldTask),
    ]);
    await t.db.run('INSERT INTO task_logs (task_id, action, details, instance_id, timestamp, payload) VALUES (?, ?, ?, ?, ?, ?)', [
      task.id, 'imported', null, null, 2, null,
    ]);
    const [, old, imported] = await queue.eventsSince(0, 10);
    expect(old!.task).toEqual(oldTask);
    expect(imported!.task).toBeNull();
  });
});
