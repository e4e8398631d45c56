// Graceful shutdown under load: SIGTERM while agents create, claim and complete, long-poll and stream events.
// The server exits 0 within 5 s; long-polls and the event stream end at once rather than hanging; no
// request answered 2xx is lost after a restart; nothing answers 5xx but 503 (draining).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../bench/http-client.js';
import { SERVER_BACKENDS, serverHome, type ServerHome } from './helpers/servers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(SERVER_BACKENDS)('graceful shutdown on %s', (backend) => {
  let home: ServerHome;
  beforeAll(async () => {
    home = await serverHome(backend);
  });
  afterAll(async () => home?.cleanup());

  it('SIGTERM under load: exit 0 within 5 s, waiting clients answered, no acknowledged request lost', async () => {
    const server = await home.start({ WIP_LIMIT: '0', LONG_POLL_MAX_SECONDS: '60' });
    const client = createClient(server.url, server.key, 128);
    const created = new Set<number>();
    const claimed = new Map<number, string>();
    const completed = new Set<number>();
    const statuses = new Map<number, number>();
    let running = true;
    const note = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const loop = (body: () => Promise<void>) =>
      (async () => {
        while (running) await body();
      })().catch(() => {
        // connection refused or reset once the server is gone
      });

    // Every task needs the label `work`: the agents have it, the waiters below do not.
    for (let i = 0; i < 50; i++) created.add((await client.call('POST', '/api/tasks', { description: `warm ${i}`, labels: ['work'] })).json.task_id);
    const writers = Array.from({ length: 8 }, (_, w) =>
      loop(async () => {
        const res = await client.call('POST', '/api/tasks', { description: `writer ${w}`, labels: ['work'] });
        note(res.status);
        if (res.status === 201) created.add(res.json.task_id);
      }),
    );
    const agents = Array.from({ length: 8 }, (_, a) =>
      loop(async () => {
        const res = await client.call('POST', '/api/tasks/claim-next', { instance_id: `agent-${a}`, labels: ['work'] });
        note(res.status);
        const task = res.json?.task;
        if (res.status !== 200 || !task) return;
        claimed.set(task.id, `agent-${a}`);
        const done = await client.call('POST', `/api/tasks/${task.id}/complete`, { lease_token: task.lease_token });
        note(done.status);
        if (done.status === 200) completed.add(task.id);
      }),
    );
    // Agents waiting for work that never comes: shutdown must answer them, not wait out their 60 s.
    const waiting = Array.from({ length: 20 }, (_, i) =>
      client
        .call('POST', '/api/tasks/claim-next', { instance_id: `waiter-${i}`, wait: 60 })
        .then((res) => ({ status: res.status, at: Date.now() }))
        .catch(() => ({ status: 0, at: Date.now() })),
    );
    // A dashboard watching the event stream.
    const stream = await fetch(`${server.url}/api/events`, { headers: { 'x-api-key': server.key } });
    expect(stream.status).toBe(200);
    const streamEnded = (async () => {
      const reader = stream.body!.getReader();
      try {
        while (!(await reader.read()).done);
      } catch {
        // reset counts as ended
      }
      return Date.now();
    })();

    await sleep(1500);
    const signalledAt = Date.now();
    server.proc.kill('SIGTERM');
    const code = await server.exited;
    const exitMs = Date.now() - signalledAt;
    running = false;
    await Promise.all([...writers, ...agents]);
    const waiters = await Promise.all(waiting);
    const streamEndMs = (await streamEnded) - signalledAt;
    client.close();

    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(5000);
    for (const w of waiters) {
      expect(w.at).toBeGreaterThanOrEqual(signalledAt);
      expect(w.at - signalledAt).toBeLessThan(5000);
    }
    expect(waiters.every((w) => [0, 200, 503].includes(w.status)), JSON.stringify(waiters)).toBe(true);
    expect(streamEndMs).toBeLessThan(5000);
    const unexpected = [...statuses.keys()].filter((s) => s >= 500 && s !== 503);
    expect(unexpected, JSON.stringify([...statuses])).toEqual([]);
    expect(completed.size).toBeGreaterThan(20);

    // Everything acknowledged is there after a restart.
    const rows = await home.query<{ id: number; status: string; instance_id: string | null }>('SELECT id, status, instance_id FROM tasks');
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    expect([...created].filter((id) => !byId.has(id))).toEqual([]);
    expect([...completed].filter((id) => byId.get(id)?.status !== 'completed')).toEqual([]);
    // An acknowledged claim is still held by its agent (or finished): never silently back in the queue.
    const lostClaims = [...claimed].filter(([id, agent]) => {
      const row = byId.get(id)!;
      return !(row.status === 'completed' || (row.status === 'in_progress' && row.instance_id === agent));
    });
    expect(lostClaims).toEqual([]);
    const again = await home.start();
    try {
      expect((await fetch(`${again.url}/health`).then((r) => r.json())).status).toBe('healthy');
    } finally {
      await again.stop();
    }
    console.log(
      `[shutdown ${backend}] exit ${code} after ${exitMs} ms; ${waiters.length} long-polls answered within ${Math.max(...waiters.map((w) => w.at - signalledAt))} ms; ` +
        `stream ended after ${streamEndMs} ms; ${created.size} creates, ${completed.size} completions acknowledged, all present; statuses ${JSON.stringify([...statuses])}`,
    );
  });
});
