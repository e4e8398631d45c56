// Bad input answers a 4xx JSON error with a stable code: never a 500, never a stack trace.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestApp, TEST_KEY, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/stores.js';

describe.each(backends)('bad input on $name', (backend) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await openTestApp(backend);
  });
  afterEach(async () => t.close());

  const expectError = (res: { status: number; json: any }, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ code });
    expect(typeof res.json.error).toBe('string');
    expect(JSON.stringify(res.json)).not.toMatch(/\bat .+\.(ts|js):\d+/);
  };

  it('malformed JSON -> 400 INVALID_JSON', async () => {
    expectError(await t.call('POST', '/api/tasks', '{"description": "x",'), 400, 'INVALID_JSON');
    const res = await t.call('POST', '/api/tasks', 'not json');
    expectError(res, 400, 'INVALID_JSON');
    expect(res.json.error).toMatch(/^Malformed JSON: /);
    expect(res.json.error).not.toMatch(/Malformed JSON: Malformed JSON/);
  });

  it('wrong types, unknown priority, missing or empty description -> 4xx', async () => {
    expectError(await t.call('POST', '/api/tasks', { description: 42 }), 400, 'VALIDATION_ERROR');
    expectError(await t.call('POST', '/api/tasks', { description: 'x', priority: 'urgent' }), 400, 'VALIDATION_ERROR');
    expectError(await t.call('POST', '/api/tasks', {}), 400, 'VALIDATION_ERROR');
    expectError(await t.call('POST', '/api/tasks'), 400, 'VALIDATION_ERROR');
    expectError(await t.call('POST', '/api/tasks', { description: '   ' }), 400, 'INVALID');
    expectError(await t.call('POST', '/api/tasks', [1, 2]), 400, 'VALIDATION_ERROR');
    expectError(await t.call('POST', '/api/tasks', { description: 'x', labels: ['has space'] }), 400, 'VALIDATION_ERROR');
  });

  it('priority is case-insensitive as the original choices', async () => {
    const res = await t.call('POST', '/api/tasks', { description: 'x', priority: 'High' });
    expect(res.status).toBe(201);
    expect(res.json.task.priority).toBe('high');
  });

  it('huge descriptions and bodies are refused', async () => {
    expectError(await t.call('POST', '/api/tasks', { description: 'x'.repeat(10_001) }), 400, 'VALIDATION_ERROR');
    expectError(await t.call('POST', '/api/tasks', { description: 'x'.repeat(2 * 1024 * 1024) }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('non-JSON content types -> 415', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/tasks', headers: { 'x-api-key': TEST_KEY, 'content-type': 'text/plain' }, payload: 'hello' });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const form = await t.app.inject({ method: 'POST', url: '/api/tasks', headers: { 'x-api-key': TEST_KEY, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'description=x' });
    expect(form.statusCode).toBe(415);
  });

  it('non-numeric, negative and huge ids -> 400; unknown ids -> 404', async () => {
    for (const id of ['abc', '-1', '0', '1.5', '99999999999999999999', '%00']) {
      const res = await t.call('GET', `/api/tasks/${id}`);
      expect(res.status, id).toBe(400);
      expect(res.json.code).toBeDefined();
    }
    expectError(await t.call('GET', '/api/tasks/12345'), 404, 'NOT_FOUND');
    expectError(await t.call('POST', '/api/tasks/12345/claim', { instance_id: 'h' }), 404, 'NOT_FOUND');
    expectError(await t.call('POST', '/api/tasks/12345/cancel'), 404, 'NOT_FOUND');
  });

  it('an empty description and a too-long one are both 400: one status for validation failures', async () => {
    expectError(await t.call('POST', '/api/tasks', { description: '' }), 400, 'INVALID');
    expectError(await t.call('POST', '/api/tasks', { description: 'x'.repeat(10_001) }), 400, 'VALIDATION_ERROR');
  });

  it("the router's own refusals answer our shape: an over-long id is 414, a bad %-escape 400", async () => {
    const long = await t.call('GET', `/api/tasks/${'9'.repeat(300)}`);
    expect(long.status).toBe(414);
    expect(long.json).toEqual({ error: 'A path parameter is longer than 200 characters', code: 'URI_TOO_LONG' });
    const escape = await t.call('GET', '/api/tasks/%E0%A4%A');
    expect(escape.status).toBe(400);
    expect(Object.keys(escape.json).sort()).toEqual(['code', 'error']);
    expect(escape.json.code).toBe('BAD_REQUEST');
  });

  it('a summary on a server without one and a bad Last-Event-ID answer the error shape', async () => {
    expect(await t.call('GET', '/api/summary')).toMatchObject({ status: 404, json: { code: 'NOT_FOUND', error: 'The summary is not available on this server' } });
    expect(await t.call('GET', '/api/events', undefined, { 'last-event-id': 'abc' })).toMatchObject({
      status: 400,
      json: { code: 'VALIDATION_ERROR', error: 'Last-Event-ID must be a task event id (digits)' },
    });
  });

  it('claim without instance_id, complete without token or instance -> 4xx', async () => {
    await t.call('POST', '/api/tasks', { description: 'a' });
    expectError(await t.call('POST', '/api/tasks/1/claim', {}), 400, 'VALIDATION_ERROR');
    await t.call('POST', '/api/tasks/1/claim', { instance_id: 'h' });
    expectError(await t.call('POST', '/api/tasks/1/complete', { notes: 'x' }), 400, 'INVALID');
  });

  it('bad query strings -> 400', async () => {
    expectError(await t.call('GET', '/api/tasks?status=nonsense'), 400, 'VALIDATION_ERROR');
    expectError(await t.call('GET', '/api/tasks?limit=0'), 400, 'VALIDATION_ERROR');
    expectError(await t.call('GET', '/api/tasks?limit=abc'), 400, 'VALIDATION_ERROR');
    expectError(await t.call('GET', '/api/tasks?cursor=DROP'), 400, 'VALIDATION_ERROR');
  });

  it('unknown routes -> 404 JSON', async () => {
    expectError(await t.call('GET', '/api/nothing'), 404, 'NOT_FOUND');
    const res = await t.app.inject({ method: 'GET', url: '/nothing-here' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('NOT_FOUND');
  });

  it('refused requests change nothing', async () => {
    await t.call('POST', '/api/tasks', { description: 'keep' });
    const before = await t.queue.exportAll();
    await t.call('POST', '/api/tasks', { description: 42 });
    await t.call('POST', '/api/tasks/1/complete', { lease_token: 'nope' });
    await t.call('PATCH', '/api/tasks/1', { priority: 'urgent' });
    const after = await t.queue.exportAll();
    expect(after.tasks).toEqual(before.tasks);
    expect(after.logs).toEqual(before.logs);
  });
});
