// Live output across replicas on PostgreSQL: output stored through one replica reaches `output` event streams
// served by another, in order, once each; chunks too large for a notification are read back from the store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createTestSchema, tempDir } from '../helpers/stores.js';
import { openSse, type SseClient, type SseFrame } from '../web/sse-client.js';

const KEY = 'output-relay-test-key-0123456789';

describe('output events across replicas on postgres', () => {
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  const dir = tempDir('athena-relay-');
  let a: RunningServer;
  let b: RunningServer;

  const start = (name: string) =>
    startServer(
      loadConfig({ API_PORT: '0', API_HOST: '127.0.0.1', DATABASE_URL: schema.url, DB_PATH: `${dir.path}/${name}.db`, API_KEY: KEY, LOG_LEVEL: 'silent', WIP_LIMIT: '0' }),
      silentLogger,
    );

  beforeAll(async () => {
    schema = await createTestSchema();
    a = await start('a');
    b = await start('b');
    await Promise.all([a.outputRelay.ready, b.outputRelay.ready]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await schema?.drop();
    dir.cleanup();
  });

  const call = async (server: RunningServer, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { 'x-api-key': KEY, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as any };
  };
  const running = async (server: RunningServer, description: string) => {
    await call(server, 'POST', '/api/tasks', { description });
    return (await call(server, 'POST', '/api/tasks/claim-next', { instance_id: `w-${description}` })).json.task as { id: number; lease_token: string };
  };
  const append = async (server: RunningServer, task: { id: number; lease_token: string }, offset: number, text: string) => {
    const res = await call(server, 'POST', `/api/tasks/${task.id}/output`, { lease_token: task.lease_token, offset, text });
    expect(res.status).toBe(200);
    return res.json.end as number;
  };
  const outputOf = (stream: SseClient, taskId: number): SseFrame[] => stream.frames.filter((f) => f.event === 'output' && f.data.task_id === taskId);
  const textOf = (stream: SseClient, taskId: number) => outputOf(stream, taskId).map((f) => f.data.text).join('');

  it('reaches the other replica\'s stream in order, once, small chunks inline and a large one read back', async () => {
    const onA = await openSse(`${a.url}/api/events?include=output`, { 'x-api-key': KEY });
    const onB = await openSse(`${b.url}/api/events?include=output`, { 'x-api-key': KEY });
    try {
      await onA.waitFor((f) => f.event === 'ready');
      await onB.waitFor((f) => f.event === 'ready');
      const task = await running(a, 'build');
      // 100 kB: far over the 8000-byte NOTIFY payload limit.
      const large = Array.from({ length: 2000 }, (_, i) => `line ${String(i).padStart(4, '0')} of the build log, long enough\n`).join('');
      const parts = ['compiling…\n', large, 'done ✓\n'];
      let offset = 0;
      for (const part of parts) offset = await append(a, task, offset, part);
      const expected = parts.join('');
      await onB.waitFor((f) => f.event === 'output' && f.data.task_id === task.id && f.data.text === 'done ✓\n', 10_000);
      expect(textOf(onB, task.id)).toBe(expected);
      expect(outputOf(onB, task.id).map((f) => f.data.offset)).toEqual([0, Buffer.byteLength(parts[0]!), Buffer.byteLength(parts[0]! + large)]);
      expect(outputOf(onB, task.id)[1]!.data).toMatchObject({ attempt: 1, at: expect.any(String) });

      // A marker after everything: any copy relayed back or sent twice would have arrived before it.
      offset = await append(a, task, offset, 'marker\n');
      await onB.waitFor((f) => f.event === 'output' && f.data.text === 'marker\n', 10_000);
      await onA.waitFor((f) => f.event === 'output' && f.data.text === 'marker\n', 10_000);
      expect(outputOf(onB, task.id)).toHaveLength(4);
      expect(outputOf(onA, task.id)).toHaveLength(4);
      expect(textOf(onA, task.id)).toBe(`${expected}marker\n`);

      // And the other way: output stored through B shows on A's stream.
      const other = await running(b, 'test');
      await append(b, other, 0, 'from b\n');
      await onA.waitFor((f) => f.event === 'output' && f.data.task_id === other.id, 10_000);
      expect(textOf(onA, other.id)).toBe('from b\n');
    } finally {
      onA.close();
      onB.close();
    }
  });

  it('many chunks at once fold into notifications under the payload limit, and none is lost', async () => {
    const onB = await openSse(`${b.url}/api/events?include=output`, { 'x-api-key': KEY });
    try {
      await onB.waitFor((f) => f.event === 'ready');
      const tasks = await Promise.all(Array.from({ length: 20 }, (_, i) => running(a, `many-${i}`)));
      // 3 kB each, inline: two or three fit one notification.
      await Promise.all(tasks.map((task, i) => append(a, task, 0, `${String(i).padStart(2, '0')}:${'é'.repeat(1500)}\n`)));
      for (const [i, task] of tasks.entries()) {
        await onB.waitFor((f) => f.event === 'output' && f.data.task_id === task.id, 10_000);
        expect(textOf(onB, task.id)).toBe(`${String(i).padStart(2, '0')}:${'é'.repeat(1500)}\n`);
      }
    } finally {
      onB.close();
    }
  });
});
