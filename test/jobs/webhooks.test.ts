// Webhook delivery against a real receiver on 127.0.0.1, both backends, with an injected clock (no
// real backoff waits): a receiver that fails, times out, answers 429 with Retry-After, is down and
// comes back, across a restart of the service; every signature verifies and order per task is kept.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { createQueue, type Queue } from '../../src/core/queue.js';
import { verifySignature, type RetryPolicy } from '../../src/core/webhooks.js';
import { createWebhookDelivery } from '../../src/jobs/webhooks.js';
import type { Db } from '../../src/store/db.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { SqlWebhookStore } from '../../src/store/sql-webhooks.js';
import { recordingLogger } from '../helpers/log.js';
import { defaultQueueConfig, openReopenable, testClock, type ReopenableDb, type TestClock } from '../helpers/stores.js';

type Opened = ReopenableDb;

const openers = { sqlite: () => openReopenable('sqlite'), postgres: () => openReopenable('postgres', 5) };

type Received = { delivery: string; event: string; signature: string; body: string; answered: number };
type Answer = { status: number; headers?: Record<string, string>; hang?: boolean };

/** A webhook receiver: answers each request as `answer` says and keeps what it got. */
async function startReceiver(answer: (n: number, body: string) => Answer, port = 0) {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const a = answer(n++, body);
      received.push({
        delivery: String(req.headers['x-athena-delivery']),
        event: String(req.headers['x-athena-event']),
        signature: String(req.headers['x-athena-signature']),
        body,
        answered: a.hang ? 0 : a.status,
      });
      if (a.hang) return void hanging.push(res);
      res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers });
      res.end(a.status < 300 ? 'thanks' : `status ${a.status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actualPort}/hook`,
    port: actualPort,
    received,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const DAY = 86_400_000;
const policy: RetryPolicy = { baseMs: 10_000, maxDelayMs: 3_600_000, giveUpAfterMs: DAY };

describe.each(['sqlite', 'postgres'] as const)('webhook delivery (%s)', (backend) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function setup(options: { timeoutMs?: number } = {}) {
    const opened = await openers[backend]();
    cleanups.push(opened.cleanup);
    const clock = testClock();
    const { log, lines } = recordingLogger('warn');
    const disabled: string[] = [];
    const make = (db: Db) => {
      const store = new SqlWebhookStore(db);
      const queue: Queue = createQueue({ store: new SqlStore(db), bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit: 0 }, clock: clock.fn, random: () => 0.5 });
      const delivery = createWebhookDelivery({
        store,
        policy,
        timeoutMs: options.timeoutMs ?? 2000,
        concurrency: 4,
        allowlist: [],
        now: clock.fn,
        random: () => 0.5,
        onDisabled: async (w, reason) => void disabled.push(`#${w.id}: ${reason}`),
        keepMs: 7 * DAY,
        log,
      });
      return { store, queue, delivery };
    };
    return { opened, clock, lines, disabled, make, ...make(opened.db) };
  }

  /** Each task created, claimed and completed: three events each, in that order. */
  async function work(queue: Queue, count: number): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < count; i++) ids.push((await queue.create({ description: `task ${i}`, labels: ['w'] })).task.id);
    for (const id of ids) {
      const claimed = await queue.claim(id, { instanceId: 'agent' });
      await queue.complete(id, { leaseToken: claimed.leaseToken });
    }
    return ids;
  }

  /** What the receiver accepted: signatures all verify (against the clock that signed), no delivery accepted twice, events of each task in order. */
  function checkAccepted(received: Received[], secret: string, clock: TestClock, ids: number[]) {
    for (const r of received) expect(verifySignature(secret, r.body, r.signature, Math.floor(clock.now / 1000), 10 * DAY / 1000)).toBe(true);
    for (const r of received) expect(verifySignature(secret, r.body.replace('task', 'tusk'), r.signature, Math.floor(clock.now / 1000), 10 * DAY / 1000)).toBe(false);
    const accepted = received.filter((r) => r.answered >= 200 && r.answered < 300);
    expect(new Set(accepted.map((r) => r.delivery)).size).toBe(accepted.length);
    for (const id of ids) {
      const events = accepted.map((r) => JSON.parse(r.body)).filter((b) => b.task.id === id).map((b) => b.event);
      expect(events).toEqual(['task.created', 'task.claimed', 'task.completed']);
    }
    return accepted;
  }

  /** Runs the loop, moving the clock an hour between runs, until nothing is pending (or `runs` runs). */
  async function drain(run: () => Promise<unknown>, store: SqlWebhookStore, clock: TestClock, runs = 30) {
    for (let i = 0; i < runs && (await store.pendingDeliveries()) > 0; i++) {
      await run();
      clock.advance(3_600_000);
    }
  }

  it('a receiver that answers 500 for a while gets every event afterwards, in order per task, signed', async () => {
    const t = await setup();
    const receiver = await startReceiver((n) => ({ status: n < 7 ? 500 : 200 }));
    cleanups.push(receiver.close);
    const { webhook, secret } = { webhook: await t.store.createWebhook({ url: receiver.url, events: ['*'], label: null, project: null, secret: 'whsec_test', createdBy: null }, t.clock.now), secret: 'whsec_test' };
    const ids = await work(t.queue, 3);
    await drain(() => t.delivery.runOnce(), t.store, t.clock);

    const accepted = checkAccepted(receiver.received, secret, t.clock, ids);
    expect(accepted).toHaveLength(9);
    expect(receiver.received.filter((r) => r.answered === 500)).toHaveLength(7);
    const deliveries = await t.store.listDeliveries(webhook.id, 100);
    expect(deliveries.every((d) => d.status === 'delivered')).toBe(true);
    const retried = deliveries.filter((d) => d.history.length > 1);
    expect(retried.length).toBeGreaterThan(0);
    expect(retried[0]!.history[0]).toMatchObject({ statusCode: 500, response: 'status 500' });
    const first = accepted.find((r) => JSON.parse(r.body).task.id === ids[0])!;
    const body = JSON.parse(first.body);
    expect(body).toMatchObject({ event: 'task.created', task: { id: ids[0], description: 'task 0', labels: ['w'], status: 'pending' } });
    expect(body.id).toBe(Number(first.delivery));
    expect(first.event).toBe('task.created');
  });

  it('a receiver that does not answer in time is retried; the attempt says it timed out', async () => {
    const t = await setup({ timeoutMs: 300 });
    const receiver = await startReceiver((n) => (n === 0 ? { status: 200, hang: true } : { status: 204 }));
    cleanups.push(receiver.close);
    const webhook = await t.store.createWebhook({ url: receiver.url, events: ['task.created'], label: null, project: null, secret: 's', createdBy: null }, t.clock.now);
    const { task } = await t.queue.create({ description: 'slow' });
    expect(await t.delivery.runOnce()).toMatchObject({ attempted: 1, retrying: 1 });
    let [d] = await t.store.listDeliveries(webhook.id, 10);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatus: null, lastError: 'timed out after 300 ms' });
    // Jitter 0.5 → 75 % of the 10 s base: not due before.
    expect(d!.nextAttemptAt).toBe(t.clock.now + 7500);
    t.clock.advance(7499);
    expect(await t.delivery.runOnce()).toMatchObject({ attempted: 0 });
    t.clock.advance(1);
    expect(await t.delivery.runOnce()).toMatchObject({ attempted: 1, delivered: 1 });
    [d] = await t.store.listDeliveries(webhook.id, 10);
    expect(d).toMatchObject({ status: 'delivered', attempts: 2, lastStatus: 204 });
    expect(JSON.parse(receiver.received[1]!.body).task.id).toBe(task.id);
  });

  it('429 with Retry-After waits what the receiver asked', async () => {
    const t = await setup();
    const receiver = await startReceiver((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '120' } } : { status: 200 }));
    cleanups.push(receiver.close);
    const webhook = await t.store.createWebhook({ url: receiver.url, events: ['*'], label: null, project: null, secret: 's', createdBy: null }, t.clock.now);
    await t.queue.create({ description: 'busy' });
    expect(t.delivery.worthWaking()).toBe(false); // no run has found a webhook yet
    await t.delivery.runOnce();
    expect(t.delivery.worthWaking()).toBe(false); // every attempt failed: the poll interval, not events, drives it
    const [d] = await t.store.listDeliveries(webhook.id, 10);
    expect(d).toMatchObject({ status: 'pending', lastStatus: 429, nextAttemptAt: t.clock.now + 120_000 });
    t.clock.advance(119_999);
    expect(await t.delivery.runOnce()).toMatchObject({ attempted: 0 });
    t.clock.advance(1);
    expect(await t.delivery.runOnce()).toMatchObject({ delivered: 1 });
    expect(t.delivery.worthWaking()).toBe(true);
  });

  it('a receiver that is down while the service restarts gets every event once it is back; nothing is lost', async () => {
    const t = await setup();
    const first = await startReceiver(() => ({ status: 200 }));
    const port = first.port;
    await first.close(); // down: connection refused
    const webhook = await t.store.createWebhook({ url: first.url, events: ['*'], label: null, project: null, secret: 'whsec_x', createdBy: null }, t.clock.now);
    const ids = await work(t.queue, 4);
    await t.delivery.runOnce();
    t.clock.advance(3_600_000);
    await t.delivery.runOnce();
    const before = await t.store.listDeliveries(webhook.id, 100);
    expect(before).toHaveLength(12);
    expect(before.every((d) => d.status === 'pending')).toBe(true);
    expect(before.some((d) => /ECONNREFUSED/.test(d.lastError ?? ''))).toBe(true);

    // The service stops mid-retry and starts again on the same database; the receiver comes back.
    await t.opened.db.close();
    const restarted = t.make(await t.opened.reopen());
    const back = await startReceiver(() => ({ status: 200 }), port);
    cleanups.push(back.close);
    t.clock.advance(3_600_000);
    await drain(() => restarted.delivery.runOnce(), restarted.store, t.clock);
    const accepted = checkAccepted(back.received, 'whsec_x', t.clock, ids);
    expect(accepted).toHaveLength(12);
    expect((await restarted.store.listDeliveries(webhook.id, 100)).every((d) => d.status === 'delivered')).toBe(true);

    // A week later the next run deletes them (RETENTION_DAYS); pending ones stay.
    await back.close();
    t.clock.advance(7 * DAY);
    await restarted.queue.create({ description: 'still pending' });
    await restarted.delivery.runOnce();
    const left = await restarted.store.listDeliveries(webhook.id, 100);
    expect(left.map((d) => d.status)).toEqual(['pending']);
  });

  it('a refusal (4xx, a redirect) fails the delivery at once; a day of failures fails it and disables the webhook, once', async () => {
    const t = await setup();
    const refusing = await startReceiver((_n, body) =>
      JSON.parse(body).task.description === 'a' ? { status: 410 } : { status: 302, headers: { location: 'http://169.254.169.254/' } },
    );
    cleanups.push(refusing.close);
    const hook = await t.store.createWebhook({ url: refusing.url, events: ['task.created'], label: null, project: null, secret: 's', createdBy: null }, t.clock.now);
    await t.queue.create({ description: 'a' });
    await t.queue.create({ description: 'b' });
    await t.delivery.runOnce();
    t.clock.advance(1);
    await t.delivery.runOnce();
    const refused = await t.store.listDeliveries(hook.id, 10);
    expect(refused.map((d) => [d.status, d.lastStatus, d.lastError])).toEqual([
      ['failed', 302, 'redirects are not followed'],
      ['failed', 410, null],
    ]);
    expect(refusing.received).toHaveLength(2); // the redirect was not followed

    const broken = await startReceiver(() => ({ status: 503 }));
    cleanups.push(broken.close);
    const failing = await t.store.createWebhook({ url: broken.url, events: ['task.created'], label: null, project: null, secret: 's', createdBy: null }, t.clock.now);
    await t.queue.create({ description: 'c' });
    await drain(() => t.delivery.runOnce(), t.store, t.clock, 40);
    const [d] = await t.store.listDeliveries(failing.id, 10);
    expect(d!.status).toBe('failed');
    expect(d!.history.length).toBeGreaterThan(5);
    expect(d!.history.at(-1)!.at - d!.history[0]!.at).toBeLessThanOrEqual(DAY);
    const after = await t.store.getWebhook(failing.id);
    expect(after).toMatchObject({ enabled: false });
    expect(after!.disabledReason).toMatch(/every attempt failed for 24 h \(last: HTTP 503\)/);
    expect(t.disabled).toEqual([`#${failing.id}: ${after!.disabledReason}`]);
    // Disabled: new events queue nothing for it.
    await t.queue.create({ description: 'd' });
    expect(await t.store.listDeliveries(failing.id, 10)).toHaveLength(1);
  });
});
