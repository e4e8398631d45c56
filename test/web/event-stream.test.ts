// GET /api/events over a real port: auth, live events, exact resume with Last-Event-ID, heartbeats, cleanup, shutdown.
import { afterEach, describe, expect, it } from 'vitest';
import type { Task, TaskEvent } from '../../src/core/types.js';
import type { EventStreamOptions } from '../../src/web/event-stream.js';
import { openTestApp, TEST_KEY, type TestApp } from '../helpers/app.js';
import { backends, type TestBackend, type TestQueue } from '../helpers/stores.js';
import { openSse, type SseClient } from './sse-client.js';
import { listen, streamOnly as openStreamOnly, type StreamOnly } from './stream-app.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The full app (auth hook included) on a real port. */
async function fullApp(backend: TestBackend): Promise<TestApp & { url: string }> {
  const t = await openTestApp(backend);
  const url = await listen(t.app);
  cleanups.push(() => t.close());
  return Object.assign(t, { url });
}

/** Only the event route, with test-sized options (short heartbeat, small replay window). */
async function streamOnly(backend: TestBackend, options: EventStreamOptions): Promise<StreamOnly> {
  const t = await openStreamOnly(backend, options);
  cleanups.push(() => t.close());
  return t;
}

function sse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return openSse(url, headers).then((client) => {
    cleanups.push(() => client.close());
    return client;
  });
}

/** Counts live bus subscriptions, to see that a closed stream lets go of its listener. */
function countSubscriptions(t: TestQueue): () => number {
  let active = 0;
  const subscribe = t.bus.subscribe.bind(t.bus);
  t.bus.subscribe = (listener) => {
    active += 1;
    const unsubscribe = subscribe(listener);
    return () => {
      active -= 1;
      return unsubscribe();
    };
  };
  return () => active;
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const create = (t: TestQueue, description: string) => t.queue.create({ description });

describe.each(backends)('GET /api/events on $name', (backend) => {
  it('needs the API key in a header; a key in the URL is not accepted', async () => {
    const t = await fullApp(backend);
    expect((await fetch(`${t.url}/api/events`)).status).toBe(401);
    const inUrl = await fetch(`${t.url}/api/events?key=${TEST_KEY}`);
    expect(inUrl.status).toBe(401);
    expect(await inUrl.json()).toEqual({ error: 'Invalid API key', code: 'UNAUTHORIZED' });
  });

  it('a fresh client gets ready (not resumed) then each change as an event with the wire task', async () => {
    const t = await fullApp(backend);
    await create(t, 'before connecting');
    const client = await sse(`${t.url}/api/events`, { 'x-api-key': TEST_KEY });
    expect(client.status).toBe(200);
    const ready = await client.waitFor((f) => f.event === 'ready');
    expect(ready.data).toEqual({ last_id: 1, resumed: false, replayed: 0 });
    expect(ready.id).toBe(1);

    const { status, json } = await t.call('POST', '/api/tasks', { description: 'live one', priority: 'high', labels: ['gpu'] });
    expect(status).toBe(201);
    const frame = await client.waitFor((f) => f.event === 'task');
    expect(frame.id).toBe(2);
    expect(frame.data).toMatchObject({
      type: 'created',
      task_id: json.task_id,
      instance_id: null,
      task: { id: json.task_id, description: 'live one', status: 'pending', priority: 'high', labels: ['gpu'], lease_expires_at: null },
    });
    expect(frame.data.at).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);

    await t.call('POST', `/api/tasks/${json.task_id}/cancel`, {});
    const cancelled = await client.waitFor((f) => f.event === 'task' && f.data.type === 'cancelled');
    expect(cancelled.id).toBe(3);
    expect(cancelled.data.task.status).toBe('cancelled');
    // Only the events after connecting were sent, each once.
    expect(client.taskIds()).toEqual([2, 3]);
  });

  it('Last-Event-ID replays exactly the missed events, then continues live without duplicates', async () => {
    const t = await fullApp(backend);
    for (let i = 1; i <= 5; i++) await create(t, `task ${i}`);
    const client = await sse(`${t.url}/api/events`, { 'x-api-key': TEST_KEY, 'last-event-id': '2' });
    const ready = await client.waitFor((f) => f.event === 'ready');
    expect(ready.data).toEqual({ last_id: 5, resumed: true, replayed: 3 });
    expect(client.taskIds()).toEqual([3, 4, 5]);
    expect(client.frames.filter((f) => f.event === 'task').map((f) => f.data.task.description)).toEqual(['task 3', 'task 4', 'task 5']);

    await create(t, 'task 6');
    await client.waitFor((f) => f.event === 'task' && f.id === 6);
    expect(client.taskIds()).toEqual([3, 4, 5, 6]);
  });

  it('?after= resumes like Last-Event-ID; bad positions are a 400, not a 500', async () => {
    const t = await fullApp(backend);
    for (let i = 1; i <= 3; i++) await create(t, `task ${i}`);
    const client = await sse(`${t.url}/api/events?after=1`, { 'x-api-key': TEST_KEY });
    await client.waitFor((f) => f.event === 'ready');
    expect(client.taskIds()).toEqual([2, 3]);

    const badHeader = await fetch(`${t.url}/api/events`, { headers: { 'x-api-key': TEST_KEY, 'last-event-id': 'abc' } });
    expect(badHeader.status).toBe(400);
    expect((await badHeader.json()).code).toBe('VALIDATION_ERROR');
    const badQuery = await fetch(`${t.url}/api/events?after=-4`, { headers: { 'x-api-key': TEST_KEY } });
    expect(badQuery.status).toBe(400);
  });

  it('events committed while the replay is read are neither lost nor sent twice', async () => {
    const t = await streamOnly(backend, {});
    for (let i = 1; i <= 3; i++) await create(t, `task ${i}`);
    const read = t.store.eventsSince.bind(t.store);
    let round = 0;
    t.store.eventsSince = async (after, limit) => {
      round += 1;
      // First stream: a change lands before the read (in replay and buffer).
      if (round === 1) await create(t, 'during replay, before the read');
      const events = await read(after, limit);
      // Second stream: a change lands after the read (buffer only).
      if (round === 2) await create(t, 'during replay, after the read');
      return events;
    };

    const first = await sse(`${t.url}/api/events`, { 'last-event-id': '1' });
    await first.waitFor((f) => f.event === 'ready');
    await first.waitFor((f) => f.event === 'task' && f.id === 4);
    expect(first.taskIds()).toEqual([2, 3, 4]);

    const second = await sse(`${t.url}/api/events`, { 'last-event-id': '4' });
    await second.waitFor((f) => f.event === 'task' && f.id === 5);
    await create(t, 'afterwards');
    await second.waitFor((f) => f.event === 'task' && f.id === 6);
    expect(second.taskIds()).toEqual([5, 6]);
    // The two streams are separate connections: the first one may get event 6 a moment later.
    await first.waitFor((f) => f.event === 'task' && f.id === 6);
    expect(first.taskIds()).toEqual([2, 3, 4, 5, 6]);
  });

  it('a client too far behind, or with an id this database never issued, is told to reload instead', async () => {
    const t = await streamOnly(backend, { replayLimit: 3 });
    for (let i = 1; i <= 6; i++) await create(t, `task ${i}`);
    const behind = await sse(`${t.url}/api/events`, { 'last-event-id': '1' });
    const ready = await behind.waitFor((f) => f.event === 'ready');
    expect(ready.data).toEqual({ last_id: 6, resumed: false, replayed: 0 });
    expect(behind.taskIds()).toEqual([]);

    const withinWindow = await sse(`${t.url}/api/events`, { 'last-event-id': '3' });
    expect((await withinWindow.waitFor((f) => f.event === 'ready')).data.resumed).toBe(true);
    expect(withinWindow.taskIds()).toEqual([4, 5, 6]);

    const future = await sse(`${t.url}/api/events`, { 'last-event-id': '99' });
    expect((await future.waitFor((f) => f.event === 'ready')).data).toEqual({ last_id: 6, resumed: false, replayed: 0 });
  });

  it('sends heartbeat comments and lets go of its listener when the client leaves', async () => {
    const t = await streamOnly(backend, { heartbeatMs: 40 });
    const active = countSubscriptions(t);
    const client = await sse(`${t.url}/api/events`);
    await client.waitFor((f) => f.event === 'ready');
    const from = client.frames.length;
    await client.waitFor((f) => f.comment, 2000, from);
    await client.waitFor((f) => f.comment, 2000, client.frames.length);
    expect(active()).toBe(1);
    client.close();
    await until(() => active() === 0);
  });

  it('cuts off a client that stops reading instead of queueing without bound', async () => {
    const t = await streamOnly(backend, { maxQueuedBytes: 64 * 1024 });
    const active = countSubscriptions(t);
    const http = await import('node:http');
    const { port } = new URL(t.url);
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) => http.get({ host: '127.0.0.1', port, path: '/api/events' }, resolve));
    // Read up to `ready` (the stream is live from there), then never read again.
    let seen = '';
    const reading = (chunk: Buffer) => (seen += chunk.toString());
    res.on('data', reading);
    await until(() => seen.includes('event: ready'));
    res.off('data', reading);
    res.pause();
    expect(active()).toBe(1);
    const big = { id: 1, description: 'x'.repeat(50_000), labels: [], dependsOn: [] } as unknown as Task;
    for (let id = 1; id <= 400 && active() === 1; id++) {
      t.bus.emit({ id, type: 'heartbeat', taskId: 1, task: { ...big, id }, instanceId: null, details: null, at: Date.now() } satisfies TaskEvent);
    }
    expect(active()).toBe(0);
    res.destroy();
  });

  it('app.close() ends open streams instead of waiting for them', async () => {
    const t = await openTestApp(backend);
    const url = await listen(t.app);
    const client = await openSse(`${url}/api/events`, { 'x-api-key': TEST_KEY });
    await client.waitFor((f) => f.event === 'ready');
    const started = Date.now();
    await t.close();
    await client.ended;
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
