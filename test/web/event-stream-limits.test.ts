// GET /api/events against clients that would hold the server: caps per key, per address and in total;
// one serialisation per event for every stream; streams that stop reading destroyed; revoked keys cut off.
import { get, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Task, TaskEvent } from '../../src/core/types.js';
import type { EventStreamOptions } from '../../src/web/event-stream.js';
import { ADMIN_KEY, openKeyedApp, type KeyedApp } from '../reliability/helpers/keyed-app.js';
import { sqliteBackend } from '../helpers/stores.js';
import { openSse, type SseClient } from './sse-client.js';
import { listen, streamOnly as openStreamOnly, type StreamOnly } from './stream-app.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function keyedApp(options: Parameters<typeof openKeyedApp>[1]): Promise<KeyedApp & { url: string }> {
  const t = await openKeyedApp(sqliteBackend, options);
  const url = await listen(t.app);
  cleanups.push(() => t.close());
  return Object.assign(t, { url });
}

async function streamOnly(options: EventStreamOptions): Promise<StreamOnly> {
  const t = await openStreamOnly(sqliteBackend, options);
  cleanups.push(() => t.close());
  return t;
}

async function sse(url: string, headers: Record<string, string>): Promise<SseClient> {
  const client = await openSse(url, headers);
  cleanups.push(() => client.close());
  return client;
}

/** A stream that was let in: open until the test ends (or it closes the client). */
async function attempt(url: string, key: string, forwardedFor: string): Promise<{ status: number; client: SseClient }> {
  const client = await sse(`${url}/api/events`, { 'x-api-key': key, 'x-forwarded-for': forwardedFor });
  if (client.status === 200) await client.waitFor((f) => f.event === 'ready');
  return { status: client.status, client };
}

async function refusal(url: string, key: string, forwardedFor: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/api/events`, { headers: { 'x-api-key': key, 'x-forwarded-for': forwardedFor } });
  return { status: res.status, json: await res.json() };
}

/** A reader that takes the stream up to `ready`, then stops reading. */
async function pausedReader(url: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  const res = await new Promise<IncomingMessage>((resolve) => {
    // The server resets these connections on purpose (a reader that stopped reading): ECONNRESET is expected.
    get(`${url}/api/events`, { agent: false, headers }, resolve).on('error', () => {});
  });
  res.on('error', () => {});
  cleanups.push(() => void res.destroy());
  let seen = '';
  const reading = (chunk: Buffer) => (seen += chunk.toString());
  res.on('data', reading);
  await expect.poll(() => seen.includes('event: ready')).toBe(true);
  res.off('data', reading);
  res.pause();
  return res;
}

function bigEvent(id: number, size = 50_000): TaskEvent {
  const task = { id, description: 'x'.repeat(size), labels: [], dependsOn: [] } as unknown as Task;
  return { id, type: 'heartbeat', taskId: id, task, instanceId: null, details: null, at: Date.now() };
}

describe('caps', () => {
  it('per key, per address and in total: past a cap a 429 TOO_MANY_STREAMS, and a closed stream frees its place', async () => {
    const t = await keyedApp({ config: { EVENT_STREAMS_PER_KEY: 2, EVENT_STREAMS_PER_ADDRESS: 3, EVENT_STREAMS_MAX: 4, TRUST_PROXY: '127.0.0.1' } });
    const [a, b, c, d] = [await t.issue('reader', 'a'), await t.issue('reader', 'b'), await t.issue('reader', 'c'), await t.issue('reader', 'd')];

    expect((await attempt(t.url, a, '192.0.2.1')).status).toBe(200);
    const second = await attempt(t.url, a, '192.0.2.1');
    expect(second.status).toBe(200);
    const perKey = await refusal(t.url, a, '192.0.2.2');
    expect(perKey.status).toBe(429);
    expect(perKey.json).toMatchObject({ code: 'TOO_MANY_STREAMS', error: expect.stringContaining('This API key already holds 2 event streams') });

    expect((await attempt(t.url, b, '192.0.2.1')).status).toBe(200);
    const perAddress = await refusal(t.url, c, '192.0.2.1');
    expect(perAddress).toMatchObject({ status: 429, json: { code: 'TOO_MANY_STREAMS', error: expect.stringContaining('This address already holds 3') } });

    expect((await attempt(t.url, c, '192.0.2.2')).status).toBe(200);
    const total = await refusal(t.url, d, '192.0.2.3');
    expect(total).toMatchObject({ status: 429, json: { code: 'TOO_MANY_STREAMS', error: expect.stringContaining('maximum of 4') } });

    second.client.close();
    await expect.poll(async () => (await fetch(`${t.url}/api/events`, { headers: { 'x-api-key': d, 'x-forwarded-for': '192.0.2.3' } }).then((r) => {
      void r.body?.cancel();
      return r.status;
    }))).toBe(200);
  });
});

describe('one serialisation per event', () => {
  it('an event is turned into JSON once, whatever the number of streams, and each stream gets it', async () => {
    const t = await streamOnly({ perKey: 100 });
    const clients = await Promise.all(Array.from({ length: 25 }, () => sse(`${t.url}/api/events`, {})));
    await Promise.all(clients.map((c) => c.waitFor((f) => f.event === 'ready')));
    let reads = 0;
    const task = { id: 7, status: 'pending', priority: 'low', labels: [], dependsOn: [] } as unknown as Task;
    Object.defineProperty(task, 'description', { enumerable: true, get: () => (reads++, 'counted') });
    t.bus.emit({ id: 1, type: 'created', taskId: 7, task, instanceId: null, details: null, at: Date.now() });
    await Promise.all(clients.map((c) => c.waitFor((f) => f.event === 'task' && f.data.task.description === 'counted')));
    expect(reads).toBe(1);
  });
});

describe('clients that stop reading', () => {
  /** Reads what the server had sent before it let go; a destroyed stream lacks the final chunk. */
  async function drained(res: IncomingMessage): Promise<boolean> {
    res.resume();
    await new Promise<void>((resolve) => res.socket.once('close', () => resolve()));
    return res.complete;
  }

  it('is destroyed (not ended) once its unsent data passes the limit', async () => {
    const t = await streamOnly({ maxQueuedBytes: 64 * 1024 });
    const res = await pausedReader(t.url);
    expect(await t.connections()).toBe(1);
    for (let id = 1; id <= 400 && (await t.connections()) === 1; id++) t.bus.emit(bigEvent(id));
    expect(await t.connections()).toBe(0);
    expect(await drained(res)).toBe(false);
  });

  it('is destroyed once it has not drained for stallMs, even with little queued', async () => {
    const t = await streamOnly({ maxQueuedBytes: 512 * 1024 * 1024, stallMs: 300 });
    const res = await pausedReader(t.url);
    // Enough to fill the kernel's buffers, so that the stream waits for a drain that never comes.
    const startedAt = Date.now();
    for (let id = 1; id <= 400; id++) t.bus.emit(bigEvent(id));
    await expect.poll(() => t.connections(), { timeout: 10_000 }).toBe(0);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
    expect(await drained(res)).toBe(false);
  });
});

describe('revoked keys', () => {
  it('revoking a key over REST closes its event streams and answers its waiting long-poll with 401 at once', async () => {
    const t = await keyedApp({});
    const created = await t.call(ADMIN_KEY, 'POST', '/api/keys', { name: 'soon revoked', role: 'agent', instance_id: 'agent-r' });
    const key = created.json.key as string;
    const other = await t.issue('reader', 'stays');
    const stream = await sse(`${t.url}/api/events`, { 'x-api-key': key });
    const kept = await sse(`${t.url}/api/events`, { 'x-api-key': other });
    await stream.waitFor((f) => f.event === 'ready');
    await kept.waitFor((f) => f.event === 'ready');
    const poll = fetch(`${t.url}/api/tasks/claim-next`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ instance_id: 'agent-r', wait: 30 }),
    });
    await expect.poll(() => t.waiters.size()).toBe(1);

    const revokedAt = Date.now();
    expect((await t.call(ADMIN_KEY, 'DELETE', `/api/keys/${created.json.id}`)).status).toBe(200);
    await stream.ended;
    const answer = await poll;
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    // The other key's stream goes on.
    const id = (await t.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'after the revocation' })).json.task_id;
    await kept.waitFor((f) => f.event === 'task' && f.data.task_id === id);
  });

  it('a key revoked elsewhere (straight in the database) loses its stream at the next re-check', async () => {
    const t = await keyedApp({ keyRecheckMs: 100 });
    const key = await t.issue('reader', 'revoked by the CLI');
    const stream = await sse(`${t.url}/api/events`, { 'x-api-key': key });
    await stream.waitFor((f) => f.event === 'ready');
    const record = (await t.keys.list()).find((k) => k.name === 'revoked by the CLI')!;
    await t.keys.revoke(record.id, Date.now());
    await stream.ended;
  });
});
