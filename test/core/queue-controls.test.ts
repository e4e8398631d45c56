// Pauses and concurrency limits on both backends: claims under a limit never exceed it, paused scopes hand out nothing, both survive a restart.
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { parseLimitScope, parsePauseScope } from '../../src/core/queue-controls.js';
import { createQueue, type Queue } from '../../src/core/queue.js';
import { createClaimWaiters } from '../../src/core/waiters.js';
import type { Db } from '../../src/store/db.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { waitFor } from '../helpers/replicas.js';
import { defaultQueueConfig, openReopenable, type ReopenableDb } from '../helpers/stores.js';

type Opened = ReopenableDb;

/** A store with room for 16 claims at once (a PostgreSQL pool of 17), and a way to open it again as a restarted server would. */
const openers = { sqlite: () => openReopenable('sqlite'), postgres: () => openReopenable('postgres', 17) };

const queueOn = (db: Db, wipLimit = 1): Queue =>
  createQueue({ store: new SqlStore(db), bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit } });

const heldWithLabel = async (db: Db, label: string): Promise<number> =>
  (await db.all<{ labels: string }>(`SELECT labels FROM tasks WHERE status IN ('in_progress', 'needs_input')`))
    .filter((row) => (JSON.parse(row.labels) as string[]).includes(label)).length;

/** 16 agents claim and complete until no task is left; returns the most `db` tasks seen held at once. */
async function runAgents(queue: Queue, db: Db): Promise<number> {
  let most = 0;
  const agent = async (n: number) => {
    for (;;) {
      const task = await queue.claimNext({ instanceId: `agent-${n}`, labels: '*' });
      if (!task) return;
      most = Math.max(most, await heldWithLabel(db, 'db'));
      await new Promise((resolve) => setTimeout(resolve, 3)); // the work
      most = Math.max(most, await heldWithLabel(db, 'db'));
      await queue.complete(task.id, { leaseToken: task.leaseToken });
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, n) => agent(n)));
  return most;
}

async function seed(queue: Queue): Promise<void> {
  for (let i = 0; i < 40; i++) (await queue.create({ description: `migration ${i}`, labels: ['db'] })).task;
  for (let i = 0; i < 20; i++) (await queue.create({ description: `page ${i}`, labels: ['web'] })).task;
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`pauses and concurrency limits (${backend})`, () => {
    let opened: Opened;
    afterEach(async () => opened?.cleanup());

    it('with a limit of 2 on label:db, 16 concurrent agents never hold more than 2 db tasks, and finish every task', async () => {
      opened = await openers[backend]();
      const queue = queueOn(opened.db);
      await seed(queue);
      await queue.setLimit(parseLimitScope('label:db'), 2, 'admin');
      const most = await runAgents(queue, opened.db);
      expect(most).toBe(2);
      const stats = await queue.stats();
      expect(stats.byStatus.completed).toBe(60);
    }, 60_000);

    it('the same agents without the limit do hold more than 2 db tasks at once (the check above can fail)', async () => {
      opened = await openers[backend]();
      const queue = queueOn(opened.db);
      await seed(queue);
      expect(await runAgents(queue, opened.db)).toBeGreaterThan(2);
    }, 60_000);

    it('a task under a reached limit is skipped, not blocking the queue; its limit is shown with what is held', async () => {
      opened = await openers[backend]();
      const queue = queueOn(opened.db, 0);
      const first = (await queue.create({ description: 'db 1', labels: ['db'], priority: 'high' })).task;
      const second = (await queue.create({ description: 'db 2', labels: ['db'], priority: 'high' })).task;
      const other = (await queue.create({ description: 'web', labels: ['web'] })).task;
      await queue.setLimit(parseLimitScope('label:db'), 1, 'admin');
      expect((await queue.claimNext({ instanceId: 'a', labels: '*' }))!.id).toBe(first.id);
      expect((await queue.claimNext({ instanceId: 'b', labels: '*' }))!.id).toBe(other.id);
      expect(await queue.claimNext({ instanceId: 'c', labels: '*' })).toBeNull();
      await expect(queue.claim(second.id, { instanceId: 'c' })).rejects.toMatchObject({ code: 'NOT_CLAIMABLE', message: expect.stringContaining('label:db already has 1 task(s) in progress (limit 1)') });
      expect(await queue.limits()).toEqual([expect.objectContaining({ scope: 'label:db', max: 1, held: 1, setBy: 'admin' })]);
      await queue.removeLimit(parseLimitScope('label:db'), 'admin');
      expect((await queue.claimNext({ instanceId: 'c', labels: '*' }))!.id).toBe(second.id);
    });

    it('a project limit counts the project\'s held tasks, and holds back none of another project or of none', async () => {
      opened = await openers[backend]();
      const queue = queueOn(opened.db, 0);
      (await queue.create({ description: 'w1', project: 'web', priority: 'high' })).task;
      (await queue.create({ description: 'w2', project: 'web', priority: 'high' })).task;
      const plain = (await queue.create({ description: 'no project', priority: 'medium' })).task;
      const other = (await queue.create({ description: 'another project', project: 'app', priority: 'low' })).task;
      await queue.setLimit(parseLimitScope('project:web'), 1, null);
      expect(await queue.claimNext({ instanceId: 'a', labels: '*' })).toMatchObject({ project: 'web' });
      // A task without a project is not in the limited one (SQL's NULL = 'web' is unknown, not false).
      expect((await queue.claimNext({ instanceId: 'b', labels: '*' }))?.id).toBe(plain.id);
      expect((await queue.claimNext({ instanceId: 'c', labels: '*' }))?.id).toBe(other.id);
      expect(await queue.claimNext({ instanceId: 'd', labels: '*' })).toBeNull();
    });

    it('a paused queue hands out nothing, creates still work, a waiting long-poll gets work after resume; pauses survive a restart', async () => {
      opened = await openers[backend]();
      const queue = queueOn(opened.db);
      await queue.pause(parsePauseScope('queue'), 'ops', 'deploying');
      const task = (await queue.create({ description: 'while paused' })).task;
      expect(await queue.claimNext({ instanceId: 'a', labels: '*' })).toBeNull();
      await expect(queue.claim(task.id, { instanceId: 'a' })).rejects.toMatchObject({ code: 'NOT_CLAIMABLE', message: expect.stringContaining('queue is paused') });

      const restarted = queueOn(await opened.reopen());
      expect(await restarted.pauses()).toEqual([expect.objectContaining({ scope: 'queue', pausedBy: 'ops', reason: 'deploying' })]);
      expect(await restarted.claimNext({ instanceId: 'a', labels: '*' })).toBeNull();

      const waiters = createClaimWaiters(queue);
      let got: number | null | undefined;
      const waiting = waiters.claimOrWait({ instanceId: 'w', labels: '*' }, 10_000).then((t) => (got = t?.id ?? null));
      await waitFor(() => waiters.size() === 1, 5000, 'the long-poll to wait');
      await queue.create({ description: 'another while paused' }); // wakes the waiter, who finds nothing and waits again
      await waitFor(() => waiters.size() === 1, 5000, 'the long-poll to wait again');
      expect(got).toBeUndefined();
      await queue.resume(parsePauseScope('queue'), 'ops');
      await waiting;
      expect(got).toBe(task.id);
      expect(await queue.pauses()).toEqual([]);
      await expect(queue.resume(parsePauseScope('queue'), 'ops')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('the next in line (Discord, the original answer\'s next_task_id) is what a claim would take: not a paused or limited task', async () => {
      opened = await openers[backend]();
      const queue = queueOn(opened.db, 0);
      (await queue.create({ description: 'site', project: 'site', priority: 'high' })).task;
      (await queue.create({ description: 'db', labels: ['db'], priority: 'high' })).task;
      const plain = (await queue.create({ description: 'plain', priority: 'low' })).task;
      await queue.pause(parsePauseScope('project:site'), 'admin', null);
      await queue.setLimit(parseLimitScope('label:db'), 0, 'admin');
      expect((await queue.peekNext())?.id).toBe(plain.id);
      expect(await queue.nextReadyId()).toBe(plain.id);
      await queue.pause(parsePauseScope('queue'), 'admin', null);
      expect(await queue.peekNext()).toBeNull();
    });

    it('a paused label or project holds back only its tasks', async () => {
      opened = await openers[backend]();
      const queue = queueOn(opened.db, 0);
      const db = (await queue.create({ description: 'db', labels: ['db'], priority: 'high' })).task;
      const web = (await queue.create({ description: 'web', project: 'web', priority: 'high' })).task;
      const plain = (await queue.create({ description: 'plain' })).task;
      await queue.pause(parsePauseScope('label:db'), 'ops', null);
      await queue.pause(parsePauseScope('project:web'), 'ops', null);
      expect((await queue.claimNext({ instanceId: 'a', labels: '*' }))!.id).toBe(plain.id);
      expect(await queue.claimNext({ instanceId: 'b', labels: '*' })).toBeNull();
      await queue.resume(parsePauseScope('label:db'), 'ops');
      expect((await queue.claimNext({ instanceId: 'b', labels: '*' }))!.id).toBe(db.id);
      await expect(queue.claim(web.id, { instanceId: 'c' })).rejects.toMatchObject({ message: expect.stringContaining('project:web is paused') });
    });
  });
}

describe('scopes', () => {
  it('are parsed from label:<name>, project:<name> and queue; anything else is refused', () => {
    expect(parsePauseScope(undefined)).toEqual({ kind: 'queue' });
    expect(parsePauseScope('label:db')).toEqual({ kind: 'label', value: 'db' });
    expect(parseLimitScope('project:my web')).toEqual({ kind: 'project', value: 'my web' });
    expect(() => parseLimitScope('queue')).toThrow(/scope must be/);
    expect(() => parseLimitScope('label:bad label')).toThrow(/not a valid label/);
  });
});
