// Auth and abuse: nothing under /api, the event stream or /mcp answers without a valid key; per-agent keys
// are stored hashed and carry a role and an agent identity; wrong-key guessing is rate limited.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyAuthenticator, singleKeyAuthenticator } from '../../src/api/auth.js';
import { ATHENA_BIN, api, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { backends, tempDir, testClock, type TestClock } from '../helpers/stores.js';
import { ADMIN_KEY, openKeyedApp, type KeyedApp, type Reply } from './helpers/keyed-app.js';

/** Paths anyone may read: liveness, readiness, the dashboard page and files, the API docs. */
const PUBLIC = [/^\/health$/, /^\/ready$/, /^\/$/, /^\/assets\//, /^\/docs(\/|$)/];

/** Every documented route as [method, concrete path]; `{id}` becomes 1. */
async function documentedRoutes(t: KeyedApp): Promise<Array<[string, string]>> {
  const spec = (await t.app.openApiDocument()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method): [string, string] => [method.toUpperCase(), path.replace(/\{[^}]+\}/g, '1')]),
  );
}

const expectError = (res: Reply, status: number, code: string) => {
  expect(res.status, res.text).toBe(status);
  expect(res.json).toMatchObject({ code });
  expect(typeof res.json.error).toBe('string');
};

describe.each(backends)('auth and roles on $name', (backend) => {
  let t: KeyedApp;
  let clock: TestClock;
  beforeEach(async () => {
    clock = testClock(Date.now());
    t = await openKeyedApp(backend, { clock, queue: { wipLimit: 0 } });
  });
  afterEach(async () => t.close());

  it('every documented route except health, readiness and docs refuses a missing, wrong or revoked key', async () => {
    const reader = await t.issue('reader', 'soon revoked');
    const revokedId = (await t.keys.list())[0]!.id;
    await t.keys.revoke(revokedId, clock.now);
    const routes = await documentedRoutes(t);
    expect(routes.length).toBeGreaterThan(25);
    expect(routes).toContainEqual(['GET', '/api/events']);
    expect(routes).toContainEqual(['POST', '/mcp']);
    let checked = 0;
    for (const [method, path] of routes) {
      if (PUBLIC.some((re) => re.test(path))) continue;
      const attempts: Array<Record<string, string>> = [
        {},
        { 'x-api-key': '' },
        { 'x-api-key': 'wrong' },
        { 'x-api-key': `${ADMIN_KEY}x` },
        { 'x-api-key': ADMIN_KEY.slice(0, -1) },
        { authorization: `Bearer ${ADMIN_KEY.toUpperCase()}` },
        { authorization: `Basic ${Buffer.from(`x:${ADMIN_KEY}`).toString('base64')}` },
        { 'x-api-key': reader },
      ];
      for (const [i, headers] of attempts.entries()) {
        // A different client address each time, so the wrong-key rate limit does not answer instead.
        const res = await t.call(null, method, path, method === 'GET' || method === 'DELETE' ? undefined : {}, { headers, from: `10.1.${checked % 250}.${i + 1}` });
        expect(res.status, `${method} ${path} with ${JSON.stringify(headers)}`).toBe(401);
        expect(res.json).toEqual({ error: 'Invalid API key', code: 'UNAUTHORIZED' });
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(25);
    // And the same routes do answer (not 401) with the admin key: the refusals above were about the key.
    expect((await t.call(ADMIN_KEY, 'GET', '/api/stats')).status).toBe(200);
    expect((await t.call(null, 'GET', '/api/stats', undefined, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status).toBe(200);
  });

  it('paths that decode or normalise to a protected route do not slip past the key check', async () => {
    const tricks = ['/%61pi/tasks', '/api%2Ftasks', '/api/tasks/../stats', '//api/tasks', '/API/tasks', '/api/./stats', '/api/tasks%00', '/api/tasks?x=/health', '/health/../api/stats', '/mcp/', '/%6dcp', '/assets/../api/stats', '/docs/../api/export', '/api/keys/'];
    for (const path of tricks) {
      const res = await t.call(null, 'GET', path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      expect(res.json?.code, path).toBeDefined();
    }
  });

  it('admins create, list and revoke keys; only a hash of each key is stored; revoked keys are refused at once', async () => {
    const created = await t.call(ADMIN_KEY, 'POST', '/api/keys', { name: 'builder one', role: 'agent', instance_id: 'builder-1' });
    expect(created.status).toBe(201);
    const key: string = created.json.key;
    expect(key).toMatch(/^athk_[A-Za-z0-9_-]{43}$/);
    expect(created.json).toMatchObject({ name: 'builder one', role: 'agent', instance_id: 'builder-1', prefix: key.slice(0, 13), revoked_at: null });

    const listed = await t.call(ADMIN_KEY, 'GET', '/api/keys');
    expect(listed.json.keys).toHaveLength(1);
    expect(JSON.stringify(listed.json)).not.toContain(key.slice(13));
    const rows = await t.db.all<Record<string, unknown>>('SELECT * FROM api_keys');
    expect(rows[0]!.key_hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(key.slice(13));
    if (backend.name === 'sqlite') {
      const path = (t.db as unknown as { path: string }).path;
      await t.db.run('PRAGMA wal_checkpoint(TRUNCATE)');
      expect(readFileSync(path).includes(Buffer.from(key.slice(13)))).toBe(false);
    }

    expect((await t.call(key, 'GET', '/api/stats')).status).toBe(200);
    const revoked = await t.call(ADMIN_KEY, 'DELETE', `/api/keys/${created.json.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.json.revoked_at).not.toBeNull();
    expectError(await t.call(key, 'GET', '/api/stats'), 401, 'UNAUTHORIZED');
    expectError(await t.call(ADMIN_KEY, 'DELETE', '/api/keys/999'), 404, 'NOT_FOUND');

    expectError(await t.call(ADMIN_KEY, 'POST', '/api/keys', { name: 'x', role: 'agent' }), 400, 'INVALID');
    expectError(await t.call(ADMIN_KEY, 'POST', '/api/keys', { name: 'x', role: 'reader', instance_id: 'h' }), 400, 'INVALID');
    expectError(await t.call(ADMIN_KEY, 'POST', '/api/keys', { name: 'x', role: 'root' }), 400, 'VALIDATION_ERROR');
    expectError(await t.call(ADMIN_KEY, 'POST', '/api/keys', { name: '', role: 'reader' }), 400, 'VALIDATION_ERROR');
  });

  it('pausing, resuming and concurrency limits are admin actions: agent and reader keys are refused', async () => {
    const reader = await t.issue('reader', 'dashboard');
    const agent = await t.issue('agent', 'builder', 'builder-1');
    const writes: Array<[string, string, unknown]> = [
      ['POST', '/api/queue/pause', { reason: 'mine now' }],
      ['POST', '/api/queue/resume', {}],
      ['PUT', '/api/limits', { scope: 'label:db', max: 0 }],
      ['DELETE', '/api/limits?scope=label:db', undefined],
    ];
    for (const key of [reader, agent]) {
      for (const [method, path, body] of writes) expectError(await t.call(key, method, path, body), 403, 'FORBIDDEN');
      expect((await t.call(key, 'GET', '/api/queue/pauses')).json).toEqual({ pauses: [] });
    }
    expect((await t.call(ADMIN_KEY, 'POST', '/api/queue/pause', { reason: 'deploy' })).json.pause).toMatchObject({ scope: 'queue', paused_by: 'api', reason: 'deploy' });
  });

  it('schedules are written by admin keys only: agent and reader keys may list them but not add, change, run, pause or remove', async () => {
    const reader = await t.issue('reader', 'dashboard');
    const agent = await t.issue('agent', 'builder', 'builder-1');
    const added = await t.call(ADMIN_KEY, 'POST', '/api/schedules', { cron: '@daily', description: 'nightly' });
    expect(added.status).toBe(201);
    const id = added.json.schedule.id;
    const writes: Array<[string, string, unknown]> = [
      ['POST', '/api/schedules', { cron: '@daily', description: 'mine' }],
      ['PATCH', `/api/schedules/${id}`, { description: 'changed' }],
      ['POST', `/api/schedules/${id}/run`, {}],
      ['POST', `/api/schedules/${id}/pause`, {}],
      ['POST', `/api/schedules/${id}/resume`, {}],
      ['DELETE', `/api/schedules/${id}`, undefined],
    ];
    for (const key of [reader, agent]) {
      for (const [method, path, body] of writes) expectError(await t.call(key, method, path, body), 403, 'FORBIDDEN');
      expect((await t.call(key, 'GET', '/api/schedules')).json.schedules).toHaveLength(1);
    }
    expect((await t.call(ADMIN_KEY, 'GET', `/api/schedules/${id}`)).json.schedule).toMatchObject({ description: 'nightly', created_by: 'api' });
  });

  it('reader keys may only read; agent keys create and work on tasks but not steer the queue; admin keys do everything', async () => {
    const reader = await t.issue('reader', 'dashboard');
    const agent = await t.issue('agent', 'builder', 'builder-1');
    const otherAdmin = await t.issue('admin', 'ops');
    const task = (await t.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'seed' })).json.task_id as number;

    for (const path of ['/api/tasks', '/api/tasks/next', `/api/tasks/${task}`, '/api/stats', '/api/instances']) {
      expect((await t.call(reader, 'GET', path)).status, path).toBe(200);
      expect((await t.call(agent, 'GET', path)).status, path).toBe(200);
    }
    const writes: Array<[string, string, unknown]> = [
      ['POST', '/api/tasks', { description: 'from a reader' }],
      ['POST', '/api/tasks/claim-next', { instance_id: 'r' }],
      ['POST', `/api/tasks/${task}/claim`, { instance_id: 'r' }],
      ['POST', `/api/tasks/${task}/cancel`, {}],
      ['POST', '/api/tasks/purge', { older_than_days: 0 }],
      ['POST', '/api/keys', { name: 'x', role: 'admin' }],
    ];
    for (const [method, path, body] of writes) expectError(await t.call(reader, method, path, body), 403, 'FORBIDDEN');
    for (const path of ['/api/export', '/api/keys']) {
      expectError(await t.call(reader, 'GET', path), 403, 'FORBIDDEN');
      expectError(await t.call(agent, 'GET', path), 403, 'FORBIDDEN');
    }

    const adminOnly: Array<[string, string, unknown]> = [
      ['POST', `/api/tasks/${task}/cancel`, {}],
      ['PATCH', `/api/tasks/${task}`, { priority: 'high' }],
      ['POST', `/api/tasks/${task}/priority`, { priority: 'high' }],
      ['POST', `/api/tasks/${task}/answer`, { answer: 'yes' }],
      ['POST', `/api/tasks/${task}/retry`, {}],
      ['POST', `/api/tasks/${task}/dependencies`, { depends_on: [task] }],
      ['POST', '/api/tasks/retry-failed', {}],
      ['POST', '/api/tasks/cancel-pending', {}],
      ['POST', '/api/tasks/purge', { older_than_days: 0 }],
      ['POST', '/api/import', { version: 1, exportedAt: 'x', tasks: [], logs: [], instances: [] }],
      ['POST', '/api/keys', { name: 'x', role: 'admin' }],
      ['DELETE', '/api/keys/1', undefined],
    ];
    const before = await t.queue.exportAll();
    for (const [method, path, body] of adminOnly) expectError(await t.call(agent, method, path, body), 403, 'FORBIDDEN');
    expect((await t.call(agent, 'POST', '/api/tasks/retry-failed', {})).json.error).toBe('An agent key may not call POST /api/tasks/retry-failed');
    expect((await t.call(reader, 'POST', '/api/tasks', { description: 'x' })).json.error).toBe('A reader key may not call POST /api/tasks');
    const after = await t.queue.exportAll();
    expect({ ...after, exportedAt: '' }).toEqual({ ...before, exportedAt: '' });

    // Agents spawn subtasks.
    const sub = await t.call(agent, 'POST', '/api/tasks', { description: 'subtask' });
    expect(sub.status).toBe(201);
    expect(sub.json.task.submitted_by).toBe('builder');

    expect((await t.call(otherAdmin, 'POST', `/api/tasks/${task}/cancel`, {})).status).toBe(200);
    expect((await t.call(otherAdmin, 'GET', '/api/export')).status).toBe(200);
    expect((await t.call(otherAdmin, 'GET', '/api/keys')).json.keys).toHaveLength(3);
  });

  it('an agent key acts as its own instance: it cannot claim as, or finish the task of, another agent', async () => {
    const a = await t.issue('agent', 'agent A', 'host-a');
    const b = await t.issue('agent', 'agent B', 'host-b');
    await t.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'one' });
    await t.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'two' });

    // No instance_id needed: the key supplies it; another instance_id is refused.
    expectError(await t.call(a, 'POST', '/api/tasks/claim-next', { instance_id: 'host-b' }), 403, 'FORBIDDEN');
    const claimed = await t.call(a, 'POST', '/api/tasks/claim-next', {});
    expect(claimed.status).toBe(200);
    expect(claimed.json.task.instance_id).toBe('host-a');
    const id: number = claimed.json.task.id;
    const token: string = claimed.json.task.lease_token;
    expect((await t.call(a, 'POST', '/api/tasks/claim-next', { instance_id: 'host-a' })).json.task.instance_id).toBe('host-a');

    // B holds A's lease token (leaked, guessed, copied): every call on A's task is still refused.
    for (const [verb, body] of [
      ['complete', { lease_token: token }],
      ['complete', {}],
      ['heartbeat', { lease_token: token }],
      ['fail', { lease_token: token, error: 'x' }],
      ['release', { lease_token: token }],
      ['ask', { lease_token: token, question: 'q?' }],
    ] as const) {
      const res = await t.call(b, 'POST', `/api/tasks/${id}/${verb}`, body);
      expect(res.status, `${verb} ${JSON.stringify(body)}: ${res.text}`).toBeGreaterThanOrEqual(403);
      expect(res.status).toBeLessThan(500);
      expect(['FORBIDDEN', 'LEASE_MISMATCH']).toContain(res.json.code);
    }
    expectError(await t.call(b, 'POST', `/api/tasks/${id}/complete`, { lease_token: token, instance_id: 'host-a' }), 403, 'FORBIDDEN');
    expect((await t.queue.get(id)).status).toBe('in_progress');
    expect((await t.queue.get(id)).instanceId).toBe('host-a');

    const done = await t.call(a, 'POST', `/api/tasks/${id}/complete`, { lease_token: token, notes: 'ok' });
    expect(done.status).toBe(200);
    expect((await t.queue.get(id)).status).toBe('completed');

    // The admin key keeps the original protocol: any instance_id it names.
    const third = (await t.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'three' })).json.task_id;
    expect((await t.call(ADMIN_KEY, 'POST', `/api/tasks/${third}/claim`, { instance_id: 'laptop' })).json.task.instance_id).toBe('laptop');
  });

  it('after 20 wrong keys in a minute an address gets 429 with Retry-After, even for the right key; other addresses are unaffected', async () => {
    const from = '192.0.2.7';
    for (let i = 0; i < 20; i++) expectError(await t.call(`guess-${i}`, 'GET', '/api/stats', undefined, { from }), 401, 'UNAUTHORIZED');
    const limited = await t.call('guess-21', 'GET', '/api/stats', undefined, { from });
    expectError(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // While blocked, even the right key is refused before it is compared: a guess cannot succeed.
    expectError(await t.call(ADMIN_KEY, 'GET', '/api/stats', undefined, { from }), 429, 'RATE_LIMITED');
    // No key at all is not a guess.
    expectError(await t.call(null, 'GET', '/api/stats', undefined, { from }), 401, 'UNAUTHORIZED');
    expectError(await t.call('guess', 'GET', '/api/stats', undefined, { from: '192.0.2.8' }), 401, 'UNAUTHORIZED');

    clock.advance(30_000);
    expectError(await t.call('guess-22', 'GET', '/api/stats', undefined, { from }), 429, 'RATE_LIMITED');
    clock.advance(61_000);
    expectError(await t.call('guess-23', 'GET', '/api/stats', undefined, { from }), 401, 'UNAUTHORIZED');
  });

  it('/mcp needs a key and runs each tool under it: a reader cannot create through MCP, an agent acts as its key', async () => {
    // MCP tools call the REST routes over loopback: this app listens too.
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const reader = await t.issue('reader', 'viewer');
    const agent = await t.issue('agent', 'mcp agent', 'mcp-host');
    const rpc = (key: string | null, name: string, args: Record<string, unknown>) =>
      t.call(key, 'POST', '/mcp', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }, { headers: { accept: 'application/json, text/event-stream' } });

    expectError(await rpc(null, 'add_task', { description: 'x' }), 401, 'UNAUTHORIZED');
    const refused = await rpc(reader, 'add_task', { description: 'through mcp' });
    expect(refused.status).toBe(200);
    expect(refused.json.result.isError).toBe(true);
    expect(JSON.stringify(refused.json.result.content)).toContain('FORBIDDEN');
    expect((await t.queue.stats()).total).toBe(0);

    await t.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'for mcp' });
    const claimed = await rpc(agent, 'claim_next_task', {});
    expect(claimed.json.result.isError ?? false).toBe(false);
    const data = JSON.parse(claimed.json.result.content[1].text);
    expect(data.task.instance_id).toBe('mcp-host');
  });
});

describe('key comparison', () => {
  it('compares keys of any length, including empty, very long and non-ASCII, without throwing', async () => {
    const check = singleKeyAuthenticator('the-admin-key-0123456789');
    for (const key of ['', 'x', 'the-admin-key-012345678', 'the-admin-key-0123456789x', 'k'.repeat(10_000), 'ключ-🔑', '\u0000']) {
      expect(check(key)).toBeNull();
    }
    expect(check('the-admin-key-0123456789')).toMatchObject({ role: 'admin' });
    const keys = { findActive: async () => null, touch: async () => {} } as never;
    const both = keyAuthenticator({ adminKey: 'the-admin-key-0123456789', keys });
    expect(await both('k'.repeat(10_000))).toBeNull();
    expect(await both('the-admin-key-0123456789')).toMatchObject({ role: 'admin' });
  });
});

describe('auth on a running server, with keys managed by `athena keys`', () => {
  const dir = tempDir('athena-keys-');
  let server: ServerProcess;
  const athena = (...args: string[]) =>
    execFileSync(process.execPath, [ATHENA_BIN, 'keys', ...args], { env: { PATH: process.env.PATH ?? '', DB_PATH: join(dir.path, 'athena.db') }, encoding: 'utf8' });
  // A fresh server per test: the first one ends rate-limited (wrong keys from 127.0.0.1) on purpose.
  beforeEach(async () => {
    server = await startServerProcess({ dataDir: dir.path });
  });
  afterEach(async () => server?.stop());
  afterAll(() => dir.cleanup());

  it('every route the server documents, /metrics, the event stream and /mcp refuse requests without a valid key', async () => {
    const spec = (await fetch(`${server.url}/docs/json`).then((r) => r.json())) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m): [string, string] => [m.toUpperCase(), path.replace(/\{[^}]+\}/g, '1')]));
    routes.push(['GET', '/metrics']);
    let refused = 0;
    for (const [method, path] of routes) {
      if (PUBLIC.some((re) => re.test(path))) continue;
      for (const headers of [{}, { 'x-api-key': 'wrong' }, { authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
        const res = await fetch(`${server.url}${path}`, { method, headers: { ...headers, ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }) }, body: method === 'GET' || method === 'DELETE' ? undefined : '{}' });
        // Past 20 wrong keys from this address the answer is 429; either way, nothing gets through.
        expect([401, 429], `${method} ${path}`).toContain(res.status);
        expect((await res.json()).code).toMatch(/^(UNAUTHORIZED|RATE_LIMITED)$/);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(80);
  });

  it('athena keys create|list|revoke against the live server: the key works at once, and stops working at once', async () => {
    const created = JSON.parse(athena('create', 'ci-agent', '--role', 'agent', '--json'));
    expect(created).toMatchObject({ name: 'ci-agent', role: 'agent', instance_id: 'ci-agent' });
    const reader = JSON.parse(athena('create', 'grafana', '--role', 'reader', '--json'));
    const asAgent = { url: server.url, key: created.key as string };
    expect((await api(asAgent, 'POST', '/api/tasks', { description: 'from a per-agent key' })).status).toBe(201);
    const claimed = await api(asAgent, 'POST', '/api/tasks/claim-next', {});
    expect(claimed.json.task.instance_id).toBe('ci-agent');
    expect((await fetch(`${server.url}/metrics`, { headers: { 'x-api-key': reader.key } })).status).toBe(200);
    const reviewer = JSON.parse(athena('create', 'rosa', '--role', 'reviewer', '--json'));
    expect(reviewer).toMatchObject({ name: 'rosa', role: 'reviewer', instance_id: null });
    const asReviewer = { url: server.url, key: reviewer.key as string };
    expect((await api(asReviewer, 'GET', '/api/stats')).status).toBe(200);
    expect((await api(asReviewer, 'POST', `/api/tasks/${claimed.json.task.id}/review`, { decision: 'accept' })).status).toBe(409); // allowed to decide, but the task is not in review
    expect((await api(asReviewer, 'POST', '/api/tasks', { description: 'no' })).status).toBe(403);

    const listed = athena('list');
    expect(listed).toContain('ci-agent');
    expect(listed).toContain(created.prefix);
    expect(listed).not.toContain(created.key);

    athena('revoke', String(created.id));
    expect((await api(asAgent, 'GET', '/api/stats')).status).toBe(401);
    expect(() => athena('revoke', '999')).toThrow(/not found/);
    let refusal = '';
    try {
      athena('create', 'no-instance', '--role', 'reader', '--instance', 'x');
    } catch (err) {
      refusal = String((err as { stderr?: string }).stderr);
    }
    expect(refusal).toMatch(/only agent keys/);
    try {
      athena('create', 'someone', '--role', 'owner');
    } catch (err) {
      refusal = String((err as { stderr?: string }).stderr);
    }
    expect(refusal).toMatch(/role must be one of admin, agent, reader, reviewer/);
  });
});
