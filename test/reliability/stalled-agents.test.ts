// Stalled agents: agents that claim and vanish. Their tasks are requeued once the lease runs out and the
// sweeper passes, attempts are counted, the last attempt fails the task, and a late call from the
// vanished agent is refused (fencing) without touching the task's new holder or its result.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../bench/http-client.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { SERVER_BACKENDS, serverHome, type ServerHome } from './helpers/servers.js';

const TASKS = 20;
const LEASE_SECONDS = 5; // the shortest lease an agent may ask for

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(SERVER_BACKENDS)('stalled agents on %s', (backend) => {
  let home: ServerHome;
  let server: ServerProcess;
  beforeAll(async () => {
    home = await serverHome(backend);
    server = await home.start({ LEASE_SECONDS: String(LEASE_SECONDS), SWEEP_INTERVAL_SECONDS: '0.2', MAX_ATTEMPTS: '2', RETRY_BASE_SECONDS: '0', WIP_LIMIT: '0' });
  });
  afterAll(async () => {
    await server?.stop();
    await home?.cleanup();
  });

  it('requeue after the lease, count attempts, fail after the last one, refuse late calls from the vanished agent', async () => {
    const client = createClient(server.url, server.key, 32);
    const call = client.call;
    const ids: number[] = [];
    for (let i = 0; i < TASKS; i++) ids.push((await call('POST', '/api/tasks', { description: `stall ${i}` })).json.task_id);

    // Round 1: ten agents take two tasks each and vanish; one steady agent heartbeats its own task.
    const steadyTask = (await call('POST', '/api/tasks', { description: 'steady work', priority: 'low' })).json.task_id as number;
    const firstClaims = new Map<number, { token: string; agent: string }>();
    for (let a = 0; a < 10; a++) {
      for (let k = 0; k < 2; k++) {
        const res = await call('POST', '/api/tasks/claim-next', { instance_id: `vanishing-${a}`, lease_seconds: LEASE_SECONDS });
        firstClaims.set(res.json.task.id, { token: res.json.task.lease_token, agent: `vanishing-${a}` });
      }
    }
    expect([...firstClaims.keys()].sort((a, b) => a - b)).toEqual(ids);
    const steady = await call('POST', `/api/tasks/${steadyTask}/claim`, { instance_id: 'steady', lease_seconds: LEASE_SECONDS });
    expect(steady.status).toBe(200);
    let heartbeating = true;
    const heartbeatStatuses: number[] = [];
    const heartbeats = (async () => {
      while (heartbeating) {
        const hb = await call('POST', `/api/tasks/${steadyTask}/heartbeat`, { lease_token: steady.json.lease_token, lease_seconds: LEASE_SECONDS });
        heartbeatStatuses.push(hb.status);
        await sleep(1000);
      }
    })().catch(() => heartbeatStatuses.push(0));

    // Not before the lease ends...
    await sleep(2000);
    expect((await call('GET', '/api/stats')).json.in_progress).toBe(TASKS + 1);
    // ...but soon after it.
    const requeuedAt = await waitFor(async () => {
      const page = await call('GET', `/api/tasks?status=pending&limit=100`);
      return page.json.tasks.length === TASKS ? page.json.tasks : null;
    }, 10_000);
    for (const task of requeuedAt) {
      expect(task.attempts).toBe(1);
      expect(task.instance_id).toBeNull();
      expect(task.error).toMatch(/lease expired/);
    }

    // A vanished agent comes back too late: refused, and the task is not touched.
    const [lateId, late] = [...firstClaims][0]!;
    const lateComplete = await call('POST', `/api/tasks/${lateId}/complete`, { lease_token: late.token, notes: 'finished after all' });
    expect(lateComplete.status).toBe(409);
    expect(lateComplete.json.code).toBe('CONFLICT'); // "it is pending": the lease is gone
    expect((await call('POST', `/api/tasks/${lateId}/heartbeat`, { lease_token: late.token })).status).toBe(409);
    expect((await call('POST', `/api/tasks/${lateId}/complete`, { instance_id: late.agent })).status).toBe(409);
    expect((await call('GET', `/api/tasks/${lateId}`)).json.task.status).toBe('pending');

    // Another agent takes that task (attempt 2) and finishes it; the old holder still cannot complete it.
    const rescuer = await call('POST', `/api/tasks/${lateId}/claim`, { instance_id: 'rescuer' });
    expect(rescuer.json.task.attempts).toBe(2);
    expect((await call('POST', `/api/tasks/${lateId}/complete`, { lease_token: late.token, notes: 'stale' })).json.code).toBe('LEASE_MISMATCH');
    expect((await call('POST', `/api/tasks/${lateId}/complete`, { lease_token: rescuer.json.lease_token, notes: 'rescued' })).status).toBe(200);
    expect((await call('POST', `/api/tasks/${lateId}/complete`, { lease_token: late.token, notes: 'stale again' })).json.code).toBe('CONFLICT');

    // Round 2 (the last attempt): the other tasks are claimed again and abandoned again: they fail.
    const secondClaims = new Map<number, string>();
    for (;;) {
      const res = await call('POST', '/api/tasks/claim-next', { instance_id: `vanishing-again-${secondClaims.size}`, lease_seconds: LEASE_SECONDS });
      if (!res.json.task) break;
      secondClaims.set(res.json.task.id, res.json.task.lease_token);
    }
    expect(secondClaims.size).toBe(TASKS - 1);
    const failed = await waitFor(async () => {
      const page = await call('GET', '/api/tasks?status=failed&limit=100');
      return page.json.tasks.length === TASKS - 1 ? page.json.tasks : null;
    }, 10_000);
    for (const task of failed) {
      expect(task.attempts).toBe(2);
      expect(task.error).toMatch(/lease expired/);
    }
    const [id2, token2] = [...secondClaims][0]!;
    const lateAgain = await call('POST', `/api/tasks/${id2}/complete`, { lease_token: token2 });
    expect(lateAgain.status).toBe(409);
    expect((await call('GET', `/api/tasks/${id2}`)).json.task.status).toBe('failed');
    const log = (await call('GET', `/api/tasks/${id2}`)).json.logs.map((l: { action: string }) => l.action);
    expect(log).toEqual(['created', 'claimed', 'requeued', 'claimed', 'failed']);

    // The steady agent, heartbeating all along, kept its task and completes it.
    heartbeating = false;
    await heartbeats;
    expect(heartbeatStatuses.length).toBeGreaterThan(5);
    expect(heartbeatStatuses.every((s) => s === 200)).toBe(true);
    const steadyDone = await call('POST', `/api/tasks/${steadyTask}/complete`, { lease_token: steady.json.lease_token });
    expect(steadyDone.status).toBe(200);
    expect(steadyDone.json.task.attempts).toBe(1);

    const stats = (await call('GET', '/api/stats')).json;
    expect([stats.completed, stats.failed, stats.pending, stats.in_progress]).toEqual([2, TASKS - 1, 0, 0]);
    client.close();
  });
});

async function waitFor<T>(probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(100);
  }
}
