// Live output over HTTP: append by the holder (strict body, agent keys), read as text with a tail, and `output` events for clients that ask.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestApp, TEST_KEY, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/stores.js';
import { openSse } from '../web/sse-client.js';
import { listen } from '../web/stream-app.js';

describe.each(backends)('output routes on $name', (backend) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await openTestApp(backend, { queue: { outputMaxBytes: 2048 } });
  });
  afterEach(async () => t.close());

  async function running() {
    await t.call('POST', '/api/tasks', { description: 'build' });
    return (await t.call('POST', '/api/tasks/claim-next', { instance_id: 'w1' })).json.task as { id: number; lease_token: string };
  }

  it('appends by offset and serves text/plain with the offsets to read on from', async () => {
    const task = await running();
    const first = await t.call('POST', `/api/tasks/${task.id}/output`, { lease_token: task.lease_token, offset: 0, text: 'compiling\n' });
    expect(first.json).toEqual({ task_id: task.id, attempt: 1, end: 10 });
    await t.call('POST', `/api/tasks/${task.id}/output`, { lease_token: task.lease_token, offset: 10, text: '<b>ok</b>\n' });
    const all = await t.app.inject({ method: 'GET', url: `/api/tasks/${task.id}/output`, headers: { 'x-api-key': TEST_KEY } });
    expect(all.statusCode).toBe(200);
    expect(all.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(all.body).toBe('compiling\n<b>ok</b>\n');
    expect(all.headers).toMatchObject({ 'x-output-attempt': '1', 'x-output-start': '0', 'x-output-end': '20' });
    const tail = await t.app.inject({ method: 'GET', url: `/api/tasks/${task.id}/output?attempt=1&since=10`, headers: { 'x-api-key': TEST_KEY } });
    expect(tail.body).toBe('<b>ok</b>\n');
    expect((await t.call('GET', `/api/tasks/${task.id}/output?attempt=2`)).status).toBe(404);
  });

  it('refuses a stale lease, an unknown field and a finished task', async () => {
    const task = await running();
    const stale = await t.call('POST', `/api/tasks/${task.id}/output`, { lease_token: 'nope', offset: 0, text: 'x' });
    expect(stale.status).toBe(409);
    expect(stale.json.code).toBe('LEASE_MISMATCH');
    const unknown = await t.call('POST', `/api/tasks/${task.id}/output`, { lease_token: task.lease_token, offset: 0, text: 'x', stream: 'stderr' });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.json)).toContain('stream');
    await t.call('POST', `/api/tasks/${task.id}/complete`, { lease_token: task.lease_token });
    expect((await t.call('POST', `/api/tasks/${task.id}/output`, { lease_token: task.lease_token, offset: 0, text: 'x' })).status).toBe(409);
  });

  it('sends `output` events only to streams that ask, without event ids', async () => {
    const url = await listen(t.app);
    const plain = await openSse(`${url}/api/events`, { 'x-api-key': TEST_KEY });
    const withOutput = await openSse(`${url}/api/events?include=output`, { 'x-api-key': TEST_KEY });
    try {
      await plain.waitFor((f) => f.event === 'ready');
      await withOutput.waitFor((f) => f.event === 'ready');
      const task = await running();
      await t.call('POST', `/api/tasks/${task.id}/output`, { lease_token: task.lease_token, offset: 0, text: 'hello\n' });
      await t.call('POST', `/api/tasks/${task.id}/heartbeat`, { lease_token: task.lease_token });
      const frame = await withOutput.waitFor((f) => f.event === 'output');
      expect(frame.id).toBeNull();
      expect(frame.data).toMatchObject({ task_id: task.id, attempt: 1, offset: 0, text: 'hello\n' });
      await plain.waitFor((f) => f.event === 'task' && f.data.type === 'heartbeat');
      expect(plain.frames.some((f) => f.event === 'output')).toBe(false);
    } finally {
      plain.close();
      withOutput.close();
    }
  });
});
