// The webhook outbox on both backends: deliveries queued with the event (filters by event, label and
// project), order per task, attempts recorded, redelivery, disabling after a day of failures, deletion.
import { afterEach, describe, expect, it } from 'vitest';
import { SqlWebhookStore } from '../../src/store/sql-webhooks.js';
import { backends, openTestQueue, type TestQueue } from '../helpers/stores.js';

describe.each(backends)('webhook outbox ($name)', (backend) => {
  let t: TestQueue;
  let hooks: SqlWebhookStore;
  const open = async () => {
    t = await openTestQueue(backend, { wipLimit: 0 });
    hooks = new SqlWebhookStore(t.db);
  };
  afterEach(async () => t?.cleanup());
  const add = (events: string[], filter: { label?: string; project?: string } = {}) =>
    hooks.createWebhook(
      { url: 'http://127.0.0.1:9/hook', events: events as never, label: filter.label ?? null, project: filter.project ?? null, secret: 's', createdBy: 'admin' },
      t.clock.now,
    );

  it('queues a delivery for each webhook that wants the event, in the transaction of the event', async () => {
    await open();
    const all = await add(['*']);
    const completedOnly = await add(['task.completed']);
    const dbOnly = await add(['task.created', 'task.claimed'], { label: 'db' });
    const webOnly = await add(['task.created'], { project: 'web' });
    const plain = await t.queue.create({ description: 'plain' });
    const db = await t.queue.create({ description: 'db work', labels: ['db'], project: 'web' });
    const claimed = await t.queue.claimNext({ instanceId: 'a', labels: '*' });
    expect(claimed?.id).toBe(plain.task.id);
    await t.queue.complete(plain.task.id, { leaseToken: claimed!.leaseToken });

    const events = async (id: number) => (await hooks.listDeliveries(id, 100)).map((d) => `${d.event}#${d.taskId}`).reverse();
    expect(await events(all.id)).toEqual([`task.created#${plain.task.id}`, `task.created#${db.task.id}`, `task.claimed#${plain.task.id}`, `task.completed#${plain.task.id}`]);
    expect(await events(completedOnly.id)).toEqual([`task.completed#${plain.task.id}`]);
    expect(await events(dbOnly.id)).toEqual([`task.created#${db.task.id}`]);
    expect(await events(webOnly.id)).toEqual([`task.created#${db.task.id}`]);
    // Heartbeats and other actions send nothing.
    expect(await hooks.pendingDeliveries()).toBe(7);
  });

  it('hands out only the oldest pending delivery of each task per webhook; later ones wait for it', async () => {
    await open();
    const hook = await add(['*']);
    const a = await t.queue.create({ description: 'a' });
    const b = await t.queue.create({ description: 'b' });
    const claimed = await t.queue.claimNext({ instanceId: 'x', labels: '*' });
    expect(claimed?.id).toBe(a.task.id);
    let due = await hooks.dueDeliveries(t.clock.now, 10);
    expect(due.map((d) => `${d.event}#${d.taskId}`)).toEqual([`task.created#${a.task.id}`, `task.created#${b.task.id}`]);
    const body = JSON.parse(due[0]!.payload);
    expect(body).toMatchObject({ id: a.task.id, description: 'a', status: 'pending' });

    // The first one fails and is retried later: the claim of the same task waits behind it.
    const { disabled } = await hooks.recordAttempt({
      deliveryId: due[0]!.id,
      webhookId: hook.id,
      attempt: { at: t.clock.now, durationMs: 5, statusCode: 500, error: null, response: 'oops' },
      outcome: { kind: 'retry', nextAttemptAt: t.clock.now + 60_000 },
      disableIfFailingSince: t.clock.now - 86_400_000,
    });
    expect(disabled).toBe(false);
    due = await hooks.dueDeliveries(t.clock.now, 10);
    expect(due.map((d) => `${d.event}#${d.taskId}`)).toEqual([`task.created#${b.task.id}`]);
    t.clock.advance(60_000);
    due = await hooks.dueDeliveries(t.clock.now, 10);
    expect(due.map((d) => `${d.event}#${d.taskId}`)).toEqual([`task.created#${a.task.id}`, `task.created#${b.task.id}`]);
    await hooks.recordAttempt({
      deliveryId: due[0]!.id,
      webhookId: hook.id,
      attempt: { at: t.clock.now, durationMs: 5, statusCode: 200, error: null, response: 'ok' },
      outcome: { kind: 'delivered' },
    });
    due = await hooks.dueDeliveries(t.clock.now, 10);
    expect(due.map((d) => `${d.event}#${d.taskId}`)).toEqual([`task.created#${b.task.id}`, `task.claimed#${a.task.id}`]);

    const [first] = (await hooks.listDeliveries(hook.id, 100)).filter((d) => d.event === 'task.created' && d.taskId === a.task.id);
    expect(first).toMatchObject({ status: 'delivered', attempts: 2, lastStatus: 200, lastResponse: 'ok' });
    expect(first!.history.map((h) => h.statusCode)).toEqual([500, 200]);
    expect((await hooks.getWebhook(hook.id))!.failingSince).toBeNull();

    // Redelivery puts it back, due now, with a fresh retry window.
    t.clock.advance(1000);
    const again = await hooks.redeliver(hook.id, first!.id, t.clock.now);
    expect(again).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: t.clock.now, queuedAt: t.clock.now });
    expect(await hooks.redeliver(hook.id + 1, first!.id, t.clock.now)).toBeNull();
  });

  it('disables a webhook that has failed since the cut-off; a disabled webhook gets no new deliveries', async () => {
    await open();
    const hook = await add(['*']);
    await t.queue.create({ description: 'a' });
    const [due] = await hooks.dueDeliveries(t.clock.now, 10);
    const fail = (cutoff: number) =>
      hooks.recordAttempt({
        deliveryId: due!.id,
        webhookId: hook.id,
        attempt: { at: t.clock.now, durationMs: 5, statusCode: null, error: 'connection refused', response: null },
        outcome: { kind: 'retry', nextAttemptAt: t.clock.now + 1 },
        disableIfFailingSince: cutoff,
        disabledReason: 'failing for a day',
      });
    const firstFailure = t.clock.now;
    expect(await fail(firstFailure - 86_400_000)).toEqual({ disabled: false });
    t.clock.advance(86_400_000);
    expect(await fail(t.clock.now - 86_400_000)).toEqual({ disabled: true });
    const after = await hooks.getWebhook(hook.id);
    expect(after).toMatchObject({ enabled: false, disabledReason: 'failing for a day', failingSince: firstFailure });
    expect(await hooks.dueDeliveries(t.clock.now + 10, 10)).toEqual([]);
    await t.queue.create({ description: 'b' });
    expect(await hooks.listDeliveries(hook.id, 10)).toHaveLength(1);

    expect((await hooks.deleteWebhook(hook.id))?.id).toBe(hook.id);
    expect(await hooks.getWebhook(hook.id)).toBeNull();
    expect(await hooks.pendingDeliveries()).toBe(0);
    expect(await hooks.deleteWebhook(hook.id)).toBeNull();
  });
});
