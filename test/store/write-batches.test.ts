// Claims and transitions that arrive together are served by one statement per kind (write-batches.ts):
// every rule of a write on its own still holds. Run on PostgreSQL (where batches are on) and on SQLite with them switched
// on, so the statement's SQL is checked on both; the counting shows the batch really ran.
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { parseLimitScope, parsePauseScope } from '../../src/core/queue-controls.js';
import { createQueue, type Queue } from '../../src/core/queue.js';
import type { ClaimedTask } from '../../src/core/types.js';
import type { Db } from '../../src/store/db.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { scheduledDb } from '../helpers/scheduled-db.js';
import { backends, defaultQueueConfig, testClock, type TestClock } from '../helpers/stores.js';

type Batching = { queue: Queue; db: Db; statements: string[]; clock: TestClock; cleanup(): Promise<void> };

/** A queue whose store batches claims, with every statement it sends counted (its first 60 characters). */
async function openBatching(backend: (typeof backends)[number], wipLimit = 1): Promise<Batching> {
  const opened = await backend.open();
  const statements: string[] = [];
  const counted = scheduledDb(opened.db, async (label) => void statements.push(label));
  const db: Db = { ...counted, capabilities: { ...opened.db.capabilities, batchedWrites: true } };
  const clock = testClock();
  const queue = createQueue({ store: new SqlStore(db), bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit }, clock: clock.fn });
  return { queue, db: opened.db, statements, clock, cleanup: opened.cleanup };
}

const claimingStatements = (statements: string[]) => statements.filter((s) => s.startsWith('WITH agents AS') || s.startsWith('UPDATE tasks SET status'));
const updates = (statements: string[]) => statements.filter((s) => s.startsWith('UPDATE tasks')).length;

/** `count` tasks, each claimed by its own agent (agent-0 …), one after another. */
async function holding(queue: Queue, count: number, options: { review?: number[] } = {}): Promise<ClaimedTask[]> {
  for (let i = 0; i < count; i++) await queue.create({ description: `task ${i}`, review: options.review?.includes(i) });
  const held: ClaimedTask[] = [];
  for (let i = 0; i < count; i++) held.push((await queue.claimNext({ instanceId: `agent-${i}`, labels: '*' }))!);
  return held;
}

const outcome = (r: PromiseSettledResult<unknown>) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code?: string }).code);

/** `count` agents (agent-0 …) claiming in the same turn of the event loop. */
const claimAll = (queue: Queue, count: number, labels: string[] | '*' = '*') =>
  Promise.all(Array.from({ length: count }, (_, n) => queue.claimNext({ instanceId: `agent-${n}`, labels })));

describe.each(backends)('writes served together ($name)', (backend) => {
  let opened: Batching;
  afterEach(async () => opened?.cleanup());

  it('16 agents at once, 12 tasks: the 12 best tasks go out once each, in arrival order, in far fewer statements than 16 claims', async () => {
    opened = await openBatching(backend);
    const { queue } = opened;
    const priorities = ['low', 'high', 'medium', 'low', 'high', 'medium', 'low', 'low', 'high', 'medium', 'low', 'low'] as const;
    const ids: number[] = [];
    for (const priority of priorities) ids.push((await queue.create({ description: `task ${ids.length}`, priority })).task.id);
    opened.statements.length = 0;

    const claimed = await claimAll(queue, 16);
    const got = claimed.filter((t): t is ClaimedTask => t !== null);
    expect(got).toHaveLength(12);
    expect(new Set(got.map((t) => t.id)).size).toBe(12);
    // Arrival order: agent-0 gets the best task (the first high), agent-1 the next, and so on.
    const best = ids.map((id, i) => ({ id, rank: { high: 0, medium: 1, low: 2 }[priorities[i]!] })).sort((a, b) => a.rank - b.rank || a.id - b.id);
    expect(claimed.slice(0, 12).map((t) => t?.id)).toEqual(best.map((t) => t.id));
    expect(claimed.slice(12)).toEqual([null, null, null, null]);
    // One statement claimed the 12; the 4 agents left over claimed alone (and found nothing).
    expect(claimingStatements(opened.statements).length).toBeLessThanOrEqual(5);
    for (const task of got) {
      expect(task.status).toBe('in_progress');
      expect(task.attempts).toBe(1);
    }
    const logs = await opened.db.all<{ task_id: number; instance_id: string; details: string }>(`SELECT task_id, instance_id, details FROM task_logs WHERE action = 'claimed' ORDER BY task_id`);
    expect(logs).toHaveLength(12);
    for (const log of logs) expect(log.details).toBe(`attempt 1 of 3 by ${log.instance_id}`);
    const seen = await opened.db.all<{ id: string }>('SELECT id FROM instances ORDER BY id');
    expect(seen).toHaveLength(16);
  });

  it('an agent with a task assigned to it gets that task when it is the best for it, even claiming with others', async () => {
    opened = await openBatching(backend);
    const { queue } = opened;
    for (let i = 0; i < 4; i++) await queue.create({ description: `low ${i}`, priority: 'low' });
    const mine = (await queue.create({ description: 'for agent-2', priority: 'high', assignee: 'agent-2' })).task;
    const claimed = await claimAll(queue, 4);
    expect(claimed[2]?.id).toBe(mine.id);
    expect(claimed.filter((t) => t !== null)).toHaveLength(4);
  });

  it('a task kept for the agent that did it (changes asked in review) goes to that agent first', async () => {
    opened = await openBatching(backend);
    const { queue, db } = opened;
    const kept = (await queue.create({ description: 'kept', priority: 'high' })).task;
    for (let i = 0; i < 3; i++) await queue.create({ description: `low ${i}`, priority: 'low' });
    await db.run('UPDATE tasks SET preferred_instance_id = ?, preferred_until = ? WHERE id = ?', ['agent-1', testClock().now + 60_000, kept.id]);
    const claimed = await claimAll(queue, 3);
    // agent-0 arrived first, but the best task is kept for agent-1.
    expect(claimed.map((t) => t?.id === kept.id)).toEqual([false, true, false]);
    expect(claimed.filter((t) => t !== null)).toHaveLength(3);
  });

  it('the WIP limit holds: an agent at its limit is refused, the same instance twice in one turn gets one task', async () => {
    opened = await openBatching(backend);
    const { queue } = opened;
    for (let i = 0; i < 6; i++) await queue.create({ description: `task ${i}` });
    const first = await queue.claimNext({ instanceId: 'agent-0', labels: '*' });
    expect(first).not.toBeNull();
    const results = await Promise.allSettled([
      queue.claimNext({ instanceId: 'agent-0', labels: '*' }),
      queue.claimNext({ instanceId: 'agent-1', labels: '*' }),
      queue.claimNext({ instanceId: 'agent-1', labels: '*' }),
      queue.claimNext({ instanceId: 'agent-2', labels: '*' }),
    ]);
    const codes = results.map((r) => (r.status === 'fulfilled' ? (r.value ? 'task' : 'none') : (r.reason as { code?: string }).code));
    expect(codes[0]).toBe('WIP_LIMIT');
    expect([codes[1], codes[2]].sort()).toEqual(['WIP_LIMIT', 'task']);
    expect(codes[3]).toBe('task');
    const held = await opened.db.all<{ instance_id: string; n: number }>(
      `SELECT instance_id, COUNT(*) AS n FROM tasks WHERE status = 'in_progress' GROUP BY instance_id ORDER BY instance_id`,
    );
    expect(held.map((h) => [h.instance_id, Number(h.n)])).toEqual([['agent-0', 1], ['agent-1', 1], ['agent-2', 1]]);
  });

  it('labels and projects are honoured, a concurrency limit is never exceeded, a paused queue hands out nothing', async () => {
    opened = await openBatching(backend, 0);
    const { queue } = opened;
    for (let i = 0; i < 4; i++) await queue.create({ description: `db ${i}`, labels: ['db'] });
    for (let i = 0; i < 4; i++) await queue.create({ description: `gpu ${i}`, labels: ['gpu'] });
    const dbOnly = await claimAll(queue, 3, ['db']);
    expect(dbOnly.map((t) => t?.labels)).toEqual([['db'], ['db'], ['db']]);

    await queue.setLimit(parseLimitScope('label:gpu'), 2, 'admin');
    const limited = await claimAll(queue, 6, ['gpu', 'db']);
    expect(limited.filter((t) => t?.labels.includes('gpu'))).toHaveLength(2);
    expect(limited.filter((t) => t?.labels.includes('db'))).toHaveLength(1);

    await queue.removeLimit(parseLimitScope('label:gpu'), 'admin');
    await queue.pause(parsePauseScope('queue'), 'ops', null);
    expect(await claimAll(queue, 4)).toEqual([null, null, null, null]);
    await queue.resume(parsePauseScope('queue'), 'ops');
    expect((await claimAll(queue, 4)).filter((t) => t !== null)).toHaveLength(2);
  });

  it('12 completions at once: one UPDATE for them; a stale lease among them is refused alone, with its reason', async () => {
    opened = await openBatching(backend);
    const { queue } = opened;
    const held = await holding(queue, 12);
    opened.statements.length = 0;
    const results = await Promise.allSettled(
      held.map((task, i) => queue.complete(task.id, { leaseToken: i === 5 ? 'not-the-lease' : task.leaseToken, result: { n: i }, notes: `done ${i}` })),
    );
    expect(results.map(outcome)).toEqual(held.map((_, i) => (i === 5 ? 'LEASE_MISMATCH' : 'ok')));
    // One for the 11, one for the stale lease on its own (which changed nothing).
    expect(updates(opened.statements)).toBe(2);
    const rows = await opened.db.all<{ id: number; status: string; result: string; notes: string; lease_token: string | null }>(
      'SELECT id, status, result, notes, lease_token FROM tasks ORDER BY id',
    );
    rows.forEach((row, i) => {
      expect(row.status).toBe(i === 5 ? 'in_progress' : 'completed');
      if (i !== 5) expect([JSON.parse(row.result), row.notes, row.lease_token]).toEqual([{ n: i }, `done ${i}`, null]);
    });
    const logs = await opened.db.all<{ task_id: number; details: string }>(`SELECT task_id, details FROM task_logs WHERE action = 'completed' ORDER BY task_id`);
    expect(logs).toHaveLength(11);
    expect(logs[0]!.details).toBe('done 0');
  });

  it('a task completed twice at once is completed once; a task that requires review goes to review from the same batch', async () => {
    opened = await openBatching(backend);
    const { queue } = opened;
    const [a, b, c] = await holding(queue, 3, { review: [2] });
    const results = await Promise.allSettled([
      queue.complete(a!.id, { leaseToken: a!.leaseToken }),
      queue.complete(a!.id, { leaseToken: a!.leaseToken }),
      queue.complete(b!.id, { leaseToken: b!.leaseToken }),
      queue.complete(c!.id, { leaseToken: c!.leaseToken }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(results.map((r) => (r.status === 'fulfilled' ? (r.value as { status: string }).status : null))).toEqual(['completed', null, 'completed', 'in_review']);
    const completed = await opened.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM task_logs WHERE action = 'completed' AND task_id = ?`, [a!.id]);
    expect(Number(completed!.n)).toBe(1);
  });

  it('heartbeats at once each extend their own lease, and record their holders as seen', async () => {
    opened = await openBatching(backend);
    const { queue, db } = opened;
    const held = await holding(queue, 6);
    await db.run('DELETE FROM instances');
    opened.clock.advance(1000); // past the last-seen throttle's window
    opened.statements.length = 0;
    const beats = await Promise.all(held.map((task, i) => queue.heartbeat(task.id, { leaseToken: task.leaseToken, leaseMs: 60_000 + i * 1000, progress: `step ${i}` })));
    expect(updates(opened.statements)).toBe(1);
    beats.forEach((task, i) => expect(task.leaseExpiresAt).toBe(opened.clock.now + 60_000 + i * 1000));
    const seen = await db.all<{ id: string }>('SELECT id FROM instances ORDER BY id');
    expect(seen.map((r) => r.id)).toEqual(held.map((_, i) => `agent-${i}`).sort());
  });

  it('claims by id at once (the original protocol): one UPDATE; a task claimed twice, an instance at its WIP limit, a task not ready, one paused and one assigned elsewhere are refused with their reasons', async () => {
    opened = await openBatching(backend);
    const { queue } = opened;
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) ids.push((await queue.create({ description: `task ${i}` })).task.id);
    const later = (await queue.create({ description: 'later', runAfter: opened.clock.now + 60_000 })).task;
    const paused = (await queue.create({ description: 'paused', labels: ['gpu'] })).task;
    const theirs = (await queue.create({ description: 'theirs', assignee: 'someone-else' })).task;
    await queue.pause(parsePauseScope('label:gpu'), 'ops', null);
    opened.statements.length = 0;
    const results = await Promise.allSettled([
      queue.claim(ids[0]!, { instanceId: 'agent-0' }),
      queue.claim(ids[1]!, { instanceId: 'agent-1' }),
      queue.claim(ids[1]!, { instanceId: 'agent-2' }), // the same task: one of the two gets it
      queue.claim(ids[2]!, { instanceId: 'agent-3' }),
      queue.claim(ids[3]!, { instanceId: 'agent-3' }), // the same instance, WIP limit 1: one of the two
      queue.claim(later.id, { instanceId: 'agent-4' }),
      queue.claim(paused.id, { instanceId: 'agent-5' }),
      queue.claim(theirs.id, { instanceId: 'agent-6' }),
      queue.claim(ids[4]!, { instanceId: 'agent-7' }),
    ]);
    const codes = results.map(outcome);
    expect(codes[0]).toBe('ok');
    expect([codes[1], codes[2]].sort()).toEqual(['NOT_PENDING', 'ok']);
    expect([codes[3], codes[4]].sort()).toEqual(['WIP_LIMIT', 'ok']);
    expect(codes.slice(5)).toEqual(['NOT_CLAIMABLE', 'NOT_CLAIMABLE', 'ASSIGNED', 'ok']);
    expect(((results[6] as PromiseRejectedResult).reason as Error).message).toContain('label:gpu is paused');
    // The batch's UPDATE, and one for each claim it left to its own (the refused ones, and the second claim of agent-3 if it waited).
    expect(updates(opened.statements)).toBeLessThanOrEqual(7);
    const held = await opened.db.all<{ instance_id: string; n: number }>(`SELECT instance_id, COUNT(*) AS n FROM tasks WHERE status = 'in_progress' GROUP BY instance_id`);
    expect(held.every((h) => Number(h.n) === 1)).toBe(true);
    expect(held).toHaveLength(4);
  });

  it('creates at once: one INSERT for those that need nothing read first, each task as asked, ids in the order they came', async () => {
    opened = await openBatching(backend);
    const { queue } = opened;
    const dep = (await queue.create({ description: 'dependency' })).task;
    opened.statements.length = 0;
    const priorities = ['high', 'low', 'medium'] as const;
    const results = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => queue.create({ description: `plain ${i}`, priority: priorities[i % 3], labels: i % 2 ? ['db'] : [], submittedBy: `user-${i}` })),
      queue.create({ description: 'keyed', idempotencyKey: 'key-1' }),
      queue.create({ description: 'waits', dependsOn: [dep.id] }),
    ]);
    const tasks = results.map((r) => r.task);
    expect(tasks.map((t) => t.description)).toEqual([...Array.from({ length: 10 }, (_, i) => `plain ${i}`), 'keyed', 'waits']);
    const plain = tasks.slice(0, 10);
    expect(plain.map((t) => t.priority)).toEqual(Array.from({ length: 10 }, (_, i) => priorities[i % 3]));
    expect(plain.map((t) => t.labels)).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 ? ['db'] : [])));
    expect(plain.map((t) => t.id)).toEqual([...plain.map((t) => t.id)].sort((a, b) => a - b));
    expect(tasks[11]!.dependsOn).toEqual([dep.id]);
    // The ten plain ones in one INSERT; the keyed and the dependent one each in their own.
    expect(opened.statements.filter((st) => st.startsWith('INSERT INTO tasks')).length).toBe(3);
    const logs = await opened.db.all<{ task_id: number; details: string | null }>(`SELECT task_id, details FROM task_logs WHERE action = 'created' AND task_id <> ? ORDER BY task_id`, [dep.id]);
    expect(logs.map((l) => l.task_id)).toEqual(tasks.map((t) => t.id).sort((a, b) => a - b));
    expect(logs.find((l) => l.task_id === plain[3]!.id)?.details).toBe('by user-3');
    // The keyed create is idempotent as ever.
    expect((await queue.create({ description: 'keyed', idempotencyKey: 'key-1' })).task.id).toBe(tasks[10]!.id);
  });
});
