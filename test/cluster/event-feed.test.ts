// Cross-replica events: a write on one replica reaches the others' buses once, wakes their
// long-poll waiters, and rows whose ids commit out of order are not skipped.
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClaimWaiters } from '../../src/core/waiters.js';
import { createReplicaBus } from '../../src/cluster/replica-bus.js';
import { createEventBus } from '../../src/core/events.js';
import type { TaskEvent } from '../../src/core/types.js';
import { openReplicas, waitFor, type ReplicaSet } from '../helpers/replicas.js';

const ofTask = (events: TaskEvent[], taskId: number, type: string) => events.filter((e) => e.taskId === taskId && e.type === type);

describe('replica bus', () => {
  it('passes each event id through once, tells local listeners about local emits, and forgets ids after keepMs', () => {
    let now = 0;
    const bus = createReplicaBus(createEventBus(), { keepMs: 1000, now: () => now });
    const seen: number[] = [];
    const local: number[] = [];
    bus.subscribe((e) => seen.push(e.id));
    bus.onLocalEvent((e) => local.push(e.id));
    const event = (id: number) => ({ id, type: 'created', taskId: id, task: null, instanceId: null, details: null, at: 0 });
    bus.emit(event(1));
    bus.emitFromFeed(event(2));
    bus.emitFromFeed(event(1));
    bus.emit(event(2));
    expect(seen).toEqual([1, 2]);
    expect(local).toEqual([1, 2]);
    expect(bus.lastId()).toBe(2);
    now = 5000;
    bus.emit(event(3)); // prunes 1 and 2
    bus.emitFromFeed(event(1));
    expect(seen).toEqual([1, 2, 3, 1]);
  });
});

describe('replica bus listeners', () => {
  it('a throwing local listener is reported, the emit does not throw, and the other listeners still get the event', () => {
    const errors: unknown[] = [];
    const bus = createReplicaBus(createEventBus(), { onListenerError: (err) => errors.push(err) });
    const local: number[] = [];
    const subscribed: number[] = [];
    bus.onLocalEvent(() => {
      throw new Error('metrics broke');
    });
    bus.onLocalEvent((e) => local.push(e.id));
    bus.subscribe((e) => subscribed.push(e.id));
    const event = { id: 1, type: 'created' as const, taskId: 1, task: null, instanceId: null, details: null, at: 0 };
    expect(() => bus.emit(event)).not.toThrow();
    expect(local).toEqual([1]);
    expect(subscribed).toEqual([1]);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('metrics broke');
  });
});

describe('event feed across replicas (postgres)', () => {
  let set: ReplicaSet | undefined;
  afterEach(async () => {
    await set?.close();
    set = undefined;
  });

  it('an event written on replica B reaches replica A via LISTEN/NOTIFY, and each bus emits it once', async () => {
    set = await openReplicas(2); // polling every 60 s: only a notification can deliver in time
    const [a, b] = set.replicas as [typeof set.replicas[0], typeof set.replicas[0]];
    await Promise.all([a.feed!.ready, b.feed!.ready]); // listening, and the first read has set the starting point
    expect(a.feed!.listening() && b.feed!.listening()).toBe(true);
    const started = Date.now();
    const { task } = await b.queue.create({ description: 'written on B' });
    await waitFor(() => ofTask(a.events, task.id, 'created').length > 0, 3000, 'A to see the create');
    expect(Date.now() - started).toBeLessThan(1000);
    await a.queue.claimNext({ instanceId: 'agent-a' });
    await waitFor(() => ofTask(b.events, task.id, 'claimed').length > 0, 3000, 'B to see the claim');
    // A fixed wait on purpose: it checks that nothing more arrives (no duplicate).
    await new Promise((r) => setTimeout(r, 300));
    for (const r of [a, b]) {
      expect(ofTask(r.events, task.id, 'created')).toHaveLength(1);
      expect(ofTask(r.events, task.id, 'claimed')).toHaveLength(1);
    }
    expect(a.bus.lastId()).toBe(b.bus.lastId());
  });

  it('a task delayed through replica B is claimable on replica A when its time comes', async () => {
    set = await openReplicas(2);
    const [a, b] = set.replicas as [typeof set.replicas[0], typeof set.replicas[0]];
    await Promise.all([a.feed!.ready, b.feed!.ready]);
    // A's walk clears the marks of delayed tasks come due, then trusts for a second (RECHECK_MS) that
    // no mark it was not told of comes due: B's write reaches it only through the feed.
    expect(await a.queue.claimNext({ instanceId: 'agent-a' })).toBeNull();
    const { task } = await b.queue.create({ description: 'in 200 ms', runAfter: Date.now() + 200 });
    await waitFor(() => ofTask(a.events, task.id, 'created').length > 0, 3000, 'A to see the create');
    expect(await a.queue.claimNext({ instanceId: 'agent-a' })).toBeNull();
    await waitFor(() => Date.now() >= task.runAfter, 3000, 'the task to come due');
    expect((await a.queue.claimNext({ instanceId: 'agent-a' }))?.id).toBe(task.id);
  });

  it('a long-poll waiter on replica A is woken by a task created on replica B', async () => {
    set = await openReplicas(2);
    const [a, b] = set.replicas as [typeof set.replicas[0], typeof set.replicas[0]];
    // Both: B's notifications go out on its own LISTEN session, which must be up before it writes.
    await Promise.all([a.feed!.ready, b.feed!.ready]);
    const waiters = createClaimWaiters(a.queue);
    try {
      const started = Date.now();
      const waiting = waiters.claimOrWait({ instanceId: 'sleeper' }, 5000);
      await vi.waitFor(() => expect(waiters.size()).toBe(1));
      const { task } = await b.queue.create({ description: 'wake up' });
      const claimed = await waiting;
      expect(claimed?.id).toBe(task.id);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      waiters.releaseAll();
    }
  });

  it('a row whose id commits after a higher id is still delivered (late commit)', async () => {
    set = await openReplicas(2);
    const [a, b] = set.replicas as [typeof set.replicas[0], typeof set.replicas[0]];
    // Both: B's notifications go out on its own LISTEN session, which must be up before it writes.
    await Promise.all([a.feed!.ready, b.feed!.ready]);
    const slow = new pg.Client({ connectionString: set.url });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      const held = (await slow.query<{ id: string }>(`INSERT INTO task_logs (task_id, action, details, timestamp) VALUES (NULL, 'purged', 'slow writer', 1) RETURNING id`)).rows[0]!;
      const heldId = Number(held.id);
      const { task } = await b.queue.create({ description: 'commits first' }); // takes heldId + 1
      await waitFor(() => ofTask(a.events, task.id, 'created').length > 0, 3000, 'A to see the later id');
      expect(a.events.find((e) => e.id === heldId)).toBeUndefined();
      await slow.query('COMMIT');
      await b.queue.create({ description: 'next write' }); // its notification makes A look again
      await waitFor(() => a.events.some((e) => e.id === heldId), 3000, 'A to see the late row');
      const late = a.events.find((e) => e.id === heldId)!;
      expect(late).toMatchObject({ type: 'purged', details: 'slow writer' });
      expect(a.events.indexOf(late)).toBeGreaterThan(a.events.findIndex((e) => e.taskId === task.id));
    } finally {
      await slow.end();
    }
  });

  it('polling delivers even without notifications, and replicas of other schemas are not disturbed', async () => {
    set = await openReplicas(2, { pollMs: 200 });
    const other = await openReplicas(1);
    try {
      const [a] = set.replicas as [typeof set.replicas[0]];
      await a.feed!.ready;
      // A row written without a notification (as if it was lost): only polling can find it.
      const direct = new pg.Client({ connectionString: set.url });
      await direct.connect();
      await direct.query(`INSERT INTO task_logs (task_id, action, details, timestamp) VALUES (NULL, 'purged', 'no notify', 1)`);
      await direct.end();
      await waitFor(() => a.events.some((e) => e.details === 'no notify'), 3000, 'the poll');
      expect(other.replicas[0]!.events).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});
