// Webhooks changed through one replica (or one of two processes on a SQLite file) get the deliveries of events recorded on
// the other right after, though that one skips the outbox for events no webhook wanted before.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { createQueue, type Queue } from '../../src/core/queue.js';
import type { Db } from '../../src/store/db.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { SqlWebhookStore } from '../../src/store/sql-webhooks.js';
import { defaultQueueConfig, openReopenable, type ReopenableDb } from '../helpers/stores.js';

const queueOn = (db: Db): Queue => createQueue({ store: new SqlStore(db), bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit: 0 } });

describe.each(['sqlite', 'postgres'] as const)('webhooks changed through another replica (%s)', (backend) => {
  let opened: ReopenableDb;
  let hooksA: SqlWebhookStore;
  let b: Queue;
  beforeEach(async () => {
    opened = await openReopenable(backend);
    hooksA = new SqlWebhookStore(opened.db);
    b = queueOn(await opened.reopen());
  });
  afterEach(async () => opened?.cleanup());

  const add = (events: string[], filter: { label?: string; project?: string } = {}) =>
    hooksA.createWebhook(
      { url: 'http://127.0.0.1:9/hook', events: events as never, label: filter.label ?? null, project: filter.project ?? null, secret: 's', createdBy: 'admin' },
      Date.now(),
    );
  const events = async (id: number) => (await hooksA.listDeliveries(id, 100)).map((d) => `${d.event}#${d.taskId}`).reverse();

  it('a webhook added on A gets the next events recorded on B, filtered by event, label and project', async () => {
    const early = (await b.create({ description: 'before any webhook' })).task;
    const all = await add(['task.created', 'task.claimed']);
    const dbOnly = await add(['task.created'], { label: 'db' });
    const webOnly = await add(['task.completed'], { project: 'web' });
    const plain = (await b.create({ description: 'plain' })).task;
    const db = (await b.create({ description: 'db', labels: ['db'], project: 'web' })).task;
    const claimed = (await b.claimNext({ instanceId: 'x', labels: '*' }))!;
    expect(claimed.id).toBe(early.id);
    await b.complete(early.id, { leaseToken: claimed.leaseToken });

    expect(await events(all.id)).toEqual([`task.created#${plain.id}`, `task.created#${db.id}`, `task.claimed#${early.id}`]);
    expect(await events(dbOnly.id)).toEqual([`task.created#${db.id}`]);
    expect(await events(webOnly.id)).toEqual([]);

    // B has seen the webhooks since, and no webhook wanted a completion: on PostgreSQL its log rows
    // now leave without waiting, guarded by the stamp. One added on A still gets B's next events.
    const done = await add(['task.completed', 'task.failed']);
    const next = (await b.claimNext({ instanceId: 'y', labels: '*' }))!;
    await b.complete(next.id, { leaseToken: next.leaseToken });
    const last = (await b.claimNext({ instanceId: 'y', labels: '*' }))!;
    await b.fail(last.id, { leaseToken: last.leaseToken, error: 'broke', retry: false });
    expect(await events(done.id)).toEqual([`task.completed#${next.id}`, `task.failed#${last.id}`]);
  });

  it('a webhook removed or disabled on A gets nothing more from B, enabled again it does; its failures alone change nothing', async () => {
    const removed = await add(['*']);
    const failing = await add(['*']);
    const first = (await b.create({ description: 'first' })).task;
    expect(await events(removed.id)).toEqual([`task.created#${first.id}`]);

    await hooksA.deleteWebhook(removed.id);
    const [due] = (await hooksA.dueDeliveries(Date.now(), 10)).filter((d) => d.webhookId === failing.id);
    const fail = (disableIfFailingSince?: number) =>
      hooksA.recordAttempt({
        deliveryId: due!.id,
        webhookId: failing.id,
        attempt: { at: Date.now(), durationMs: 5, statusCode: null, error: 'connection refused', response: null },
        outcome: { kind: 'retry', nextAttemptAt: Date.now() + 1 },
        disableIfFailingSince,
        disabledReason: 'failing for a day',
      });
    await fail();
    const second = (await b.create({ description: 'second' })).task;
    expect(await events(failing.id)).toEqual([`task.created#${first.id}`, `task.created#${second.id}`]);

    expect(await fail(Date.now() + 1)).toEqual({ disabled: true });
    await b.create({ description: 'third' });
    expect(await events(failing.id)).toEqual([`task.created#${first.id}`, `task.created#${second.id}`]);
    expect(await events(removed.id)).toEqual([]);

    await hooksA.enableWebhook(failing.id);
    const fourth = (await b.create({ description: 'fourth' })).task;
    expect(await events(failing.id)).toEqual([`task.created#${first.id}`, `task.created#${second.id}`, `task.created#${fourth.id}`]);
  });
});
