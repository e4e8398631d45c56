// Long-poll claims: wake-up on create, label matching, one task wakes one waiter, timeout, disconnect.
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openTestApp, TEST_KEY, type TestApp } from '../helpers/app.js';
import { backends, testClock } from '../helpers/stores.js';

describe.each(backends)('long-poll claim-next on $name', (backend) => {
  let t: TestApp;
  /** Until `count` agents wait (each first tries a claim: a database round trip, slower on a busy machine). */
  const waitersReach = async (count: number) => {
    await vi.waitFor(() => expect(t.waiters.size()).toBeGreaterThanOrEqual(count), { timeout: 10_000, interval: 10 });
  };
  beforeEach(async () => {
    // A real clock: waits are measured in wall time.
    t = await openTestApp(backend, { clock: { ...testClock(), fn: Date.now } as never, queue: { wipLimit: 0, review: { labels: [], projects: [], preferMs: KEPT_MS } } });
  });
  afterEach(async () => t.close());
  /** How long a task sent back by review is kept for the agent that did the work. */
  const KEPT_MS = 1_500;
  /** A task with review, claimed and completed by `instance`: in review. */
  const inReview = async (instance: string) => {
    const created = await t.call('POST', '/api/tasks', { description: 'reviewed', review: true });
    const claimed = (await t.call('POST', '/api/tasks/claim-next', { instance_id: instance })).json.task;
    await t.call('POST', `/api/tasks/${claimed.id}/complete`, { lease_token: claimed.lease_token });
    return created.json.task_id as number;
  };

  it('a task sent back by review goes to the waiting agent that did the work, though another waits first', async () => {
    const id = await inReview('author');
    const other = t.call('POST', '/api/tasks/claim-next', { instance_id: 'other', wait: 20 });
    await waitersReach(1);
    const author = t.call('POST', '/api/tasks/claim-next', { instance_id: 'author', wait: 20 });
    await waitersReach(2);
    await t.call('POST', `/api/tasks/${id}/review`, { decision: 'changes', feedback: 'one more test' });
    // Woken for it while it is kept for the author (once that time ended, the other, first in line, would be).
    expect((await author).json.task).toMatchObject({ id, instance_id: 'author', review_feedback: 'one more test' });
    t.waiters.releaseAll();
    expect((await other).json).toEqual({ task: null });
  });

  it('when the time a task is kept for its agent ends, another waiting agent gets it', async () => {
    const id = await inReview('author');
    const other = t.call('POST', '/api/tasks/claim-next', { instance_id: 'other', wait: 20 });
    await waitersReach(1);
    const started = Date.now();
    await t.call('POST', `/api/tasks/${id}/review`, { decision: 'changes', feedback: 'anyone may' });
    expect((await other).json.task).toMatchObject({ id, instance_id: 'other' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(KEPT_MS - 50);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('an agent that starts waiting while a task is kept for another gets it when that time ends', async () => {
    const id = await inReview('author');
    await t.call('POST', `/api/tasks/${id}/review`, { decision: 'changes', feedback: 'later' });
    const started = Date.now();
    const res = await t.call('POST', '/api/tasks/claim-next', { instance_id: 'other', wait: 20 });
    expect(res.json.task).toMatchObject({ id, instance_id: 'other' });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a waiting agent gets a task created after it started waiting', async () => {
    const started = Date.now();
    const waiting = t.call('POST', '/api/tasks/claim-next', { instance_id: 'w1', wait: 5 });
    await waitersReach(1);
    expect(t.waiters.size()).toBe(1);
    await t.call('POST', '/api/tasks', { description: 'fresh' });
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.json.task).toMatchObject({ description: 'fresh', status: 'in_progress', instance_id: 'w1' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(t.waiters.size()).toBe(0);
  });

  it('times out with {"task":null} when nothing comes', async () => {
    const started = Date.now();
    const res = await t.call('POST', '/api/tasks/claim-next', { instance_id: 'w1', wait: 0.3 });
    expect(res.json).toEqual({ task: null });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(t.waiters.size()).toBe(0);
  });

  it('a new task wakes exactly as many waiters as it can serve, matching labels', async () => {
    const gpuWaiter = t.call('POST', '/api/tasks/claim-next', { instance_id: 'gpu', labels: ['gpu'], wait: 3 });
    const plainWaiters = [1, 2, 3].map((i) => t.call('POST', '/api/tasks/claim-next', { instance_id: `p${i}`, wait: 1.5 }));
    await waitersReach(4);
    expect(t.waiters.size()).toBe(4);
    await t.call('POST', '/api/tasks', { description: 'needs gpu', labels: ['gpu'] });
    const gpu = await gpuWaiter;
    expect(gpu.json.task).toMatchObject({ description: 'needs gpu', instance_id: 'gpu' });
    expect(t.waiters.size()).toBe(3);
    await t.call('POST', '/api/tasks', { description: 'plain' });
    const plain = await Promise.all(plainWaiters);
    const winners = plain.filter((r) => r.json.task !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.json.task.description).toBe('plain');
  });

  it('a task scheduled for later is handed to a waiter when its time comes', async () => {
    const runAfter = Date.now() + 400;
    await t.call('POST', '/api/tasks', { description: 'soon', run_after: runAfter });
    const res = await t.call('POST', '/api/tasks/claim-next', { instance_id: 'w', wait: 3 });
    // Handed out within the 3 s window (an expired wait answers null), and not before its time.
    expect(res.json.task).toMatchObject({ description: 'soon' });
    expect(Date.now()).toBeGreaterThanOrEqual(runAfter);
  });

  it('completing a dependency wakes a waiter for the dependant', async () => {
    const a = await t.call('POST', '/api/tasks', { description: 'a' });
    await t.call('POST', '/api/tasks', { description: 'b', depends_on: [a.json.task_id] });
    const held = await t.call('POST', '/api/tasks/claim-next', { instance_id: 'h' });
    const waiting = t.call('POST', '/api/tasks/claim-next', { instance_id: 'w', wait: 3 });
    await waitersReach(1);
    await t.call('POST', `/api/tasks/${held.json.task.id}/complete`, { lease_token: held.json.task.lease_token });
    expect((await waiting).json.task).toMatchObject({ description: 'b' });
  });

  it('a dependant freed by a completion goes to a waiter that serves it, though another waits first', async () => {
    const a = await t.call('POST', '/api/tasks', { description: 'a', labels: ['gpu'] });
    await t.call('POST', '/api/tasks', { description: 'b', labels: ['gpu'], depends_on: [a.json.task_id] });
    const held = await t.call('POST', '/api/tasks/claim-next', { instance_id: 'h', labels: ['gpu'] });
    const docs = t.call('POST', '/api/tasks/claim-next', { instance_id: 'docs', labels: ['docs'], wait: 20 });
    await waitersReach(1);
    const gpu = t.call('POST', '/api/tasks/claim-next', { instance_id: 'gpu', labels: ['gpu'], wait: 20 });
    await waitersReach(2);
    const started = Date.now();
    await t.call('POST', `/api/tasks/${held.json.task.id}/complete`, { lease_token: held.json.task.lease_token });
    // The docs agent, first in line, is woken and finds nothing; it passes the wake-up on.
    expect((await gpu).json.task).toMatchObject({ description: 'b', instance_id: 'gpu' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(t.waiters.size()).toBe(1);
    t.waiters.releaseAll();
    expect((await docs).json).toEqual({ task: null });
  });

  it('a task ending that frees nothing makes no waiter claim, however many their scopes', async () => {
    const scopes = ['a', 'b', 'c', 'd', 'e', 'f'];
    const waiting = scopes.map((label) => t.call('POST', '/api/tasks/claim-next', { instance_id: label, labels: [label], wait: 20 }));
    await waitersReach(scopes.length);
    const claims = vi.spyOn(t.queue, 'claimNext');
    for (let i = 0; i < 4; i++) {
      await t.call('POST', '/api/tasks', { description: `other ${i}`, labels: ['other'] });
      const held = (await t.call('POST', '/api/tasks/claim-next', { instance_id: 'worker', labels: ['other'] })).json.task;
      await t.call('POST', `/api/tasks/${held.id}/complete`, { lease_token: held.lease_token });
    }
    await t.call('POST', '/api/tasks', { description: 'for f', labels: ['f'] });
    expect((await waiting[5]!).json.task).toMatchObject({ description: 'for f', instance_id: 'f' });
    // Only f's claim: no waiter was woken to look for what the four completions freed (nothing).
    expect(claims.mock.calls.map(([agent]) => agent.instanceId).filter((id) => id !== 'worker')).toEqual(['f']);
    expect(t.waiters.size()).toBe(5);
    t.waiters.releaseAll();
    await Promise.all(waiting);
  });

  it('once completions found no task waiting on another, a dependant created later still reaches its waiter when freed', async () => {
    const x = t.call('POST', '/api/tasks/claim-next', { instance_id: 'x', labels: ['x'], wait: 20 });
    await waitersReach(1);
    const reads = vi.spyOn(t.queue, 'freedBy');
    // A completion with no task waiting on another: its read says so, and the next ones read nothing.
    for (let i = 0; i < 2; i++) {
      await t.call('POST', '/api/tasks', { description: `plain ${i}`, labels: ['y'] });
      const held = (await t.call('POST', '/api/tasks/claim-next', { instance_id: 'h', labels: ['y'] })).json.task;
      await t.call('POST', `/api/tasks/${held.id}/complete`, { lease_token: held.lease_token });
      await vi.waitFor(() => expect(reads).toHaveBeenCalledTimes(i + 1), { timeout: 10_000, interval: 10 });
      await reads.mock.results[i]!.value; // its answer taken in before the next completion
    }
    expect(reads.mock.calls.map(([, , options]) => options)).toEqual([{ dependants: true }, { dependants: false }]);
    const root = await t.call('POST', '/api/tasks', { description: 'root', labels: ['y'] });
    await t.call('POST', '/api/tasks', { description: 'after root', labels: ['x'], depends_on: [root.json.task_id] });
    const held = (await t.call('POST', '/api/tasks/claim-next', { instance_id: 'h', labels: ['y'] })).json.task;
    await waitersReach(1);
    await t.call('POST', `/api/tasks/${held.id}/complete`, { lease_token: held.lease_token });
    expect((await x).json.task).toMatchObject({ description: 'after root', instance_id: 'x' });
  });

  it('a task ending under a concurrency limit frees its place for a waiting agent', async () => {
    expect((await t.call('PUT', '/api/limits', { scope: 'label:db', max: 1 })).status).toBe(200);
    await t.call('POST', '/api/tasks', { description: 'first', labels: ['db'] });
    await t.call('POST', '/api/tasks', { description: 'second', labels: ['db'] });
    const held = (await t.call('POST', '/api/tasks/claim-next', { instance_id: 'h', labels: ['db'] })).json.task;
    const docs = t.call('POST', '/api/tasks/claim-next', { instance_id: 'docs', labels: ['docs'], wait: 20 });
    await waitersReach(1);
    const db = t.call('POST', '/api/tasks/claim-next', { instance_id: 'db', labels: ['db'], wait: 20 });
    await waitersReach(2);
    const started = Date.now();
    await t.call('POST', `/api/tasks/${held.id}/complete`, { lease_token: held.lease_token });
    expect((await db).json.task).toMatchObject({ description: 'second', instance_id: 'db' });
    expect(Date.now() - started).toBeLessThan(10_000);
    t.waiters.releaseAll();
    expect((await docs).json).toEqual({ task: null });
  });

  it('dependants freed by one completion go to the waiters that serve them', async () => {
    const root = await t.call('POST', '/api/tasks', { description: 'root' });
    for (const label of ['gpu', 'docs', 'web']) await t.call('POST', '/api/tasks', { description: `after root: ${label}`, labels: [label], depends_on: [root.json.task_id] });
    const held = (await t.call('POST', '/api/tasks/claim-next', { instance_id: 'h' })).json.task;
    const waiting = ['ios', 'web', 'docs', 'gpu'].map((label) => t.call('POST', '/api/tasks/claim-next', { instance_id: label, labels: [label], wait: 20 }));
    await waitersReach(4);
    await t.call('POST', `/api/tasks/${held.id}/complete`, { lease_token: held.lease_token });
    const [, web, docs, gpu] = await Promise.all(waiting.slice(1).map(async (w) => (await w).json.task)).then((tasks) => [null, ...tasks]);
    expect([web.description, docs.description, gpu.description]).toEqual(['after root: web', 'after root: docs', 'after root: gpu']);
    expect(t.waiters.size()).toBe(1);
    t.waiters.releaseAll();
    expect((await waiting[0]!).json).toEqual({ task: null });
  });

  it('a task falling due goes to a waiter that serves it, though another waits first', async () => {
    const docs = t.call('POST', '/api/tasks/claim-next', { instance_id: 'docs', labels: ['docs'], wait: 20 });
    await waitersReach(1);
    const gpu = t.call('POST', '/api/tasks/claim-next', { instance_id: 'gpu', labels: ['gpu'], wait: 20 });
    await waitersReach(2);
    const runAfter = Date.now() + 300;
    await t.call('POST', '/api/tasks', { description: 'soon', labels: ['gpu'], run_after: runAfter });
    expect((await gpu).json.task).toMatchObject({ description: 'soon', instance_id: 'gpu' });
    expect(Date.now() - runAfter).toBeLessThan(10_000);
    t.waiters.releaseAll();
    expect((await docs).json).toEqual({ task: null });
  });

  it('a task falling due makes only the waiter that serves it claim, however many scopes wait', async () => {
    const scopes = ['a', 'b', 'c', 'd', 'e', 'f'];
    const waiting = scopes.map((label) => t.call('POST', '/api/tasks/claim-next', { instance_id: label, labels: [label], wait: 20 }));
    await waitersReach(scopes.length);
    const claims = vi.spyOn(t.queue, 'claimNext');
    await t.call('POST', '/api/tasks', { description: 'due for f', labels: ['f'], run_after: Date.now() + 300 });
    expect((await waiting[5]!).json.task).toMatchObject({ description: 'due for f', instance_id: 'f' });
    expect(claims.mock.calls.map(([agent]) => agent.instanceId)).toEqual(['f']);
    t.waiters.releaseAll();
    await Promise.all(waiting);
  });

  it('tasks falling due one after another each reach a waiter', async () => {
    const first = t.call('POST', '/api/tasks/claim-next', { instance_id: 'first', wait: 20 });
    await waitersReach(1);
    const second = t.call('POST', '/api/tasks/claim-next', { instance_id: 'second', wait: 20 });
    await waitersReach(2);
    const runAfter = Date.now() + 300;
    await t.call('POST', '/api/tasks', { description: 'soon', run_after: runAfter });
    await t.call('POST', '/api/tasks', { description: 'later', run_after: runAfter + 400 });
    // The timer is set for the first; once it is handed out, the one waiter left needs one for the second.
    expect((await first).json.task).toMatchObject({ description: 'soon', instance_id: 'first' });
    expect((await second).json.task).toMatchObject({ description: 'later', instance_id: 'second' });
    expect(Date.now() - runAfter).toBeLessThan(10_000);
  });

  it('closing the connection removes the waiter and claims nothing', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/tasks/claim-next', headers: { 'x-api-key': TEST_KEY, 'content-type': 'application/json' } });
    req.on('error', () => {});
    req.end(JSON.stringify({ instance_id: 'gone', wait: 10 }));
    await vi.waitFor(() => expect(t.waiters.size()).toBe(1), { timeout: 10_000, interval: 10 });
    const closed = new Promise((resolve) => req.once('close', resolve));
    req.destroy();
    await closed;
    await vi.waitFor(() => expect(t.waiters.size()).toBe(0), { timeout: 10_000, interval: 10 });
    await t.call('POST', '/api/tasks', { description: 'nobody waits' });
    const task = await t.queue.get(1);
    expect(task.status).toBe('pending');
  });

  it('wait is capped by LONG_POLL_MAX_SECONDS and validated', async () => {
    const bad = await t.call('POST', '/api/tasks/claim-next', { instance_id: 'w', wait: -1 });
    expect(bad.status).toBe(400);
    const tooLong = await t.call('POST', '/api/tasks/claim-next', { instance_id: 'w', wait: 100000 });
    expect(tooLong.status).toBe(400);
  });
});

describe.each(backends)('long-poll limits on $name', (backend) => {
  let t: TestApp;
  const waitersReach = async (count: number) => {
    await vi.waitFor(() => expect(t.waiters.size()).toBe(count), { timeout: 10_000, interval: 10 });
  };
  beforeEach(async () => {
    t = await openTestApp(backend, { clock: { ...testClock(), fn: Date.now } as never, queue: { wipLimit: 1 } });
  });
  afterEach(async () => t.close());

  it('a woken waiter that cannot take the task (WIP_LIMIT) passes the wake-up to a waiter that can', async () => {
    // A task only the busy host's other process serves (its label), claimed by id once it waits.
    const special = await t.call('POST', '/api/tasks', { description: 'special', labels: ['special'] });
    const busy = t.call('POST', '/api/tasks/claim-next', { instance_id: 'busy-host', wait: 20 });
    await waitersReach(1);
    expect((await t.call('POST', `/api/tasks/${special.json.task_id}/claim`, { instance_id: 'busy-host' })).status).toBe(200);
    const free = t.call('POST', '/api/tasks/claim-next', { instance_id: 'free-host', wait: 20 });
    await waitersReach(2);

    const started = Date.now();
    await t.call('POST', '/api/tasks', { description: 'plain' });
    // The busy host was first in line: it is told WIP_LIMIT, and the free host gets the task at once.
    expect((await busy).json).toMatchObject({ code: 'WIP_LIMIT' });
    const got = await free;
    expect(got.json.task).toMatchObject({ description: 'plain', instance_id: 'free-host' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('past LONG_POLL_MAX_WAITERS (8) waiting claims, one more from that instance is 429 TOO_MANY_WAITERS at once', async () => {
    const waiting = Array.from({ length: 8 }, () => t.call('POST', '/api/tasks/claim-next', { instance_id: 'greedy', wait: 30 }));
    await waitersReach(8);
    const started = Date.now();
    const refused = await t.call('POST', '/api/tasks/claim-next', { instance_id: 'greedy', wait: 30 });
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ code: 'TOO_MANY_WAITERS', details: { limit: 8 } });
    expect(Date.now() - started).toBeLessThan(5_000);
    // A claim without `wait` and another instance's long-poll are not affected.
    expect((await t.call('POST', '/api/tasks/claim-next', { instance_id: 'greedy' })).json).toEqual({ task: null });
    const other = t.call('POST', '/api/tasks/claim-next', { instance_id: 'modest', wait: 30 });
    await waitersReach(9);
    await t.call('POST', '/api/tasks', { description: 'for one of them' });
    t.waiters.releaseAll();
    const answers = await Promise.all([...waiting, other]);
    expect(answers.map((a) => a.status)).toEqual(Array(9).fill(200));
    expect(answers.filter((a) => a.json.task !== null)).toHaveLength(1);
  });
});
