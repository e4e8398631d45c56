// /api/webhooks: admin only (reads too), strict bodies, URL rules and the allowlist, the secret shown
// once, deliveries with their attempts, redelivery; both backends.
import { afterEach, describe, expect, it } from 'vitest';
import { SqlWebhookStore } from '../../src/store/sql-webhooks.js';
import { ADMIN_KEY, openKeyedApp, type KeyedApp } from '../reliability/helpers/keyed-app.js';
import { backends } from '../helpers/stores.js';

describe.each(backends)('/api/webhooks ($name)', (backend) => {
  let t: KeyedApp;
  afterEach(async () => t?.close());
  const admin = (method: string, url: string, body?: unknown) => t.call(ADMIN_KEY, method, url, body);

  it('adds a webhook (secret once), lists it without the secret, removes it', async () => {
    t = await openKeyedApp(backend, { webhooks: { allowlist: [] } });
    const added = await admin('POST', '/api/webhooks', { url: 'https://ci.example.com/athena', events: ['task.completed', 'task.failed'], label: 'db' });
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ url: 'https://ci.example.com/athena', events: ['task.completed', 'task.failed'], label: 'db', project: null, enabled: true, created_by: 'api' });
    expect(added.json.secret).toMatch(/^whsec_[\w-]{40,}$/);

    const list = await admin('GET', '/api/webhooks');
    expect(list.status).toBe(200);
    expect(list.json.webhooks).toHaveLength(1);
    expect(list.text).not.toContain(added.json.secret);
    expect(list.json.webhooks[0]).not.toHaveProperty('secret');

    // `*` stands for every event, alone.
    const all = await admin('POST', '/api/webhooks', { url: 'http://127.0.0.1:9000/hook', events: ['task.created', '*'] });
    expect(all.json.events).toEqual(['*']);

    const removed = await admin('DELETE', `/api/webhooks/${added.json.id}`);
    expect(removed).toMatchObject({ status: 200, json: { deleted: true, id: added.json.id } });
    expect((await admin('DELETE', `/api/webhooks/${added.json.id}`)).status).toBe(404);
    expect((await admin('GET', '/api/webhooks')).json.webhooks.map((w: { id: number }) => w.id)).toEqual([all.json.id]);
  });

  it('refuses mistakes with a clear 4xx: unknown fields, events, schemes, credentials, bad ids', async () => {
    t = await openKeyedApp(backend, { webhooks: { allowlist: [] } });
    const cases: Array<[unknown, number, RegExp]> = [
      [{ url: 'https://a.example', events: ['task.completed'], secret: 'mine' }, 400, /secret/],
      [{ url: 'https://a.example', events: ['task.done'] }, 400, /events/],
      [{ url: 'https://a.example', events: [] }, 400, /events/],
      [{ url: 'ftp://a.example/x', events: ['*'] }, 400, /http or https/],
      [{ url: 'file:///etc/passwd', events: ['*'] }, 400, /http or https/],
      [{ url: 'not a url', events: ['*'] }, 400, /not a valid URL/],
      [{ url: 'https://user:pw@a.example/', events: ['*'] }, 400, /user name or password/],
      [{ events: ['*'] }, 400, /url/],
    ];
    for (const [body, status, message] of cases) {
      const res = await admin('POST', '/api/webhooks', body);
      expect({ body, status: res.status }).toEqual({ body, status });
      expect(res.json.error).toMatch(message);
      expect(res.json.code).toEqual(expect.any(String));
    }
    expect((await admin('GET', '/api/webhooks/abc/deliveries')).status).toBe(400);
    expect((await admin('GET', '/api/webhooks/999/deliveries')).status).toBe(404);
    expect((await admin('GET', '/api/webhooks/1/deliveries?limit=9999')).status).toBe(400);
    expect((await admin('POST', '/api/webhooks/999/deliveries/1/redeliver')).status).toBe(404);
    expect((await admin('GET', '/api/webhooks')).json.webhooks).toEqual([]);
  });

  it('the allowlist refuses other hosts and URL prefixes at their path boundary', async () => {
    t = await openKeyedApp(backend, { webhooks: { allowlist: ['hooks.example.com', '*.ci.example.org', 'https://n8n.example.net/webhook/'] } });
    const allowed = ['https://hooks.example.com/x', 'https://a.ci.example.org/y', 'https://n8n.example.net/webhook/abc'];
    const refused = ['https://evil.example.com/x', 'https://ci.example.org/y', 'https://hooks.example.com.evil.net/', 'https://n8n.example.net/webhookx', 'http://127.0.0.1:8080/', 'http://169.254.169.254/latest'];
    for (const url of allowed) expect((await admin('POST', '/api/webhooks', { url, events: ['*'] })).status).toBe(201);
    for (const url of refused) {
      const res = await admin('POST', '/api/webhooks', { url, events: ['*'] });
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(res.json.error).toMatch(/not allowed by WEBHOOK_ALLOWLIST/);
    }
  });

  it('only admins may read or change webhooks', async () => {
    t = await openKeyedApp(backend, { webhooks: { allowlist: [] } });
    const created = await admin('POST', '/api/webhooks', { url: 'https://a.example/h', events: ['*'] });
    for (const role of ['agent', 'reader'] as const) {
      const key = await t.issue(role, `${role}-key`, role === 'agent' ? 'agent-1' : null);
      const calls: Array<[string, string, unknown?]> = [
        ['GET', '/api/webhooks'],
        ['POST', '/api/webhooks', { url: 'https://b.example/h', events: ['*'] }],
        ['DELETE', `/api/webhooks/${created.json.id}`],
        ['GET', `/api/webhooks/${created.json.id}/deliveries`],
        ['POST', `/api/webhooks/${created.json.id}/deliveries/1/redeliver`],
        ['POST', `/api/webhooks/${created.json.id}/enable`],
      ];
      for (const [method, url, body] of calls) {
        const res = await t.call(key, method, url, body);
        expect({ role, method, url, status: res.status }).toEqual({ role, method, url, status: 403 });
      }
      expect((await t.call(null, 'GET', '/api/webhooks')).status).toBe(401);
    }
    expect((await admin('GET', '/api/webhooks')).json.webhooks).toHaveLength(1);
  });

  it('shows deliveries with their attempts and redelivers one', async () => {
    t = await openKeyedApp(backend, { webhooks: { allowlist: [] }, queue: { wipLimit: 0 } });
    const hook = (await admin('POST', '/api/webhooks', { url: 'https://a.example/h', events: ['task.created'] })).json;
    const task = (await admin('POST', '/api/tasks', { description: 'hello' })).json;
    const store = new SqlWebhookStore(t.db);
    const [due] = await store.dueDeliveries(t.clock.now, 10);
    await store.recordAttempt({
      deliveryId: due!.id,
      webhookId: hook.id,
      attempt: { at: t.clock.now, durationMs: 12, statusCode: 400, error: null, response: 'bad request' },
      outcome: { kind: 'failed' },
    });
    const res = await admin('GET', `/api/webhooks/${hook.id}/deliveries`);
    expect(res.status).toBe(200);
    expect(res.json.deliveries).toEqual([
      expect.objectContaining({
        id: due!.id,
        event: 'task.created',
        task_id: task.task_id,
        status: 'failed',
        attempts: 1,
        next_attempt_at: null,
        last_status: 400,
        last_response: 'bad request',
        history: [{ at: new Date(t.clock.now).toISOString(), duration_ms: 12, status_code: 400, error: null, response: 'bad request' }],
      }),
    ]);
    expect((await admin('GET', `/api/webhooks/${hook.id}/deliveries?status=pending`)).json.deliveries).toEqual([]);

    t.clock.advance(5000);
    const again = await admin('POST', `/api/webhooks/${hook.id}/deliveries/${due!.id}/redeliver`);
    expect(again.status).toBe(200);
    expect(again.json.delivery).toMatchObject({ id: due!.id, status: 'pending', attempts: 0, next_attempt_at: new Date(t.clock.now).toISOString() });
    expect((await store.dueDeliveries(t.clock.now, 10)).map((d) => d.id)).toEqual([due!.id]);
    // A delivery is found only under its own webhook.
    expect((await admin('POST', `/api/webhooks/${hook.id + 1}/deliveries/${due!.id}/redeliver`)).status).toBe(404);
  });

  it('enables a disabled webhook again: its pending deliveries go out, new events are queued, the secret stays', async () => {
    t = await openKeyedApp(backend, { webhooks: { allowlist: [] }, queue: { wipLimit: 0 } });
    const hook = (await admin('POST', '/api/webhooks', { url: 'https://a.example/h', events: ['task.created'] })).json;
    await admin('POST', '/api/tasks', { description: 'before' });
    const store = new SqlWebhookStore(t.db);
    const [due] = await store.dueDeliveries(t.clock.now, 10);
    // The receiver has failed for a day: the webhook is disabled, its delivery left pending.
    const failed = await store.recordAttempt({
      deliveryId: due!.id,
      webhookId: hook.id,
      attempt: { at: t.clock.now, durationMs: 5, statusCode: 503, error: null, response: 'down' },
      outcome: { kind: 'retry', nextAttemptAt: t.clock.now },
      disableIfFailingSince: t.clock.now,
      disabledReason: 'failing for a day',
    });
    expect(failed).toEqual({ disabled: true });
    expect(await store.dueDeliveries(t.clock.now, 10)).toEqual([]);
    await admin('POST', '/api/tasks', { description: 'while disabled' });
    expect((await admin('GET', '/api/webhooks')).json.webhooks[0]).toMatchObject({ enabled: false, disabled_reason: 'failing for a day' });

    const enabled = await admin('POST', `/api/webhooks/${hook.id}/enable`);
    expect(enabled.status).toBe(200);
    expect(enabled.json.webhook).toMatchObject({ id: hook.id, enabled: true, disabled_reason: null, failing_since: null });
    expect(enabled.text).not.toContain(hook.secret);
    // The pending delivery goes out again, signed with the same secret; the event recorded while disabled was not queued.
    const again = await store.dueDeliveries(t.clock.now, 10);
    expect(again.map((d) => [d.id, d.secret])).toEqual([[due!.id, hook.secret]]);
    await admin('POST', '/api/tasks', { description: 'after' });
    expect((await store.dueDeliveries(t.clock.now, 10)).map((d) => d.id)).toHaveLength(2);

    expect((await admin('POST', `/api/webhooks/${hook.id + 100}/enable`)).status).toBe(404);
    expect((await admin('POST', `/api/webhooks/${hook.id}/enable`, { really: true })).status).toBe(400);
  });

  it('does not enable a webhook whose URL the allowlist no longer allows', async () => {
    t = await openKeyedApp(backend, { webhooks: { allowlist: ['hooks.example.com'] } });
    const hook = (await admin('POST', '/api/webhooks', { url: 'https://hooks.example.com/h', events: ['*'] })).json;
    await t.db.run('UPDATE webhooks SET enabled = 0, disabled_reason = ?, url = ? WHERE id = ?', ['failing', 'https://elsewhere.example.org/h', hook.id]);
    const res = await admin('POST', `/api/webhooks/${hook.id}/enable`);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/not allowed by WEBHOOK_ALLOWLIST/);
    expect((await admin('GET', '/api/webhooks')).json.webhooks[0].enabled).toBe(false);
  });
});
