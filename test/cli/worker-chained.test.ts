// runWorker with a stand-in client: the next task handed with a completion (complete's claim_next), a
// server from before that option, and a stop that comes while the next task is on its way.
import { describe, expect, it } from 'vitest';
import { AthenaError, NetworkError, type AthenaClient } from '../../src/client/index.js';
import { runWorker, type WorkerEvent } from '../../src/cli/worker.js';

const claimed = (id: number) => ({
  id, description: `task ${id}`, status: 'in_progress', priority: 'medium', lease_token: `token-${id}`,
  lease_expires_at: new Date(Date.now() + 60_000).toISOString(), labels: [], depends_on: [], project: null, notes: null, attempts: 1, max_attempts: 3,
});

type Call = [string, ...unknown[]];

function worker(client: Partial<Record<keyof AthenaClient, unknown>>, options: { maxTasks?: number; stop?: AbortController; command?: string } = {}) {
  const events: WorkerEvent[] = [];
  const done = runWorker({
    client: { requeueHeld: async () => ({ tasks: [] }), ...client } as unknown as AthenaClient,
    agent: { instanceId: 'w1', instanceName: 'Worker 1' },
    command: options.command ?? 'true',
    labels: ['docs'],
    graceMs: 1000,
    pollSeconds: 1,
    maxTasks: options.maxTasks,
    streamOutput: false,
    env: { PATH: process.env.PATH ?? '' },
    apiUrl: 'http://127.0.0.1:1',
    stop: (options.stop ?? new AbortController()).signal,
    onEvent: (e) => events.push(e),
  });
  return { done, events };
}

describe('worker: the next task with the completion', () => {
  it('against a server from before claim_next, completes plainly and claims on its own from then on', async () => {
    const calls: Call[] = [];
    let next = 1;
    const w = worker(
      {
        claimNext: async () => (calls.push(['claimNext']), { task: claimed(next++) }),
        complete: async (id: number, _fence: unknown, o: { claimNext?: unknown }) => {
          calls.push(['complete', id, o.claimNext ? 'with claim_next' : 'plain']);
          if (o.claimNext) throw new AthenaError(400, 'VALIDATION_ERROR', 'Invalid body: Unrecognized key: "claim_next"', '/api/tasks/1/complete');
          return { status: 'completed', task_id: id, next_task_id: null };
        },
      },
      { maxTasks: 3 },
    );
    const summary = await w.done;
    expect(summary).toMatchObject({ tasks: 3, completed: 3, unreported: 0 });
    expect(calls).toEqual([
      ['claimNext'], ['complete', 1, 'with claim_next'], ['complete', 1, 'plain'],
      ['claimNext'], ['complete', 2, 'plain'],
      ['claimNext'], ['complete', 3, 'plain'],
    ]);
  });

  it('runs the task handed with a completion without claiming, and asks for none with its last task', async () => {
    const calls: Call[] = [];
    const w = worker(
      {
        claimNext: async () => (calls.push(['claimNext']), { task: claimed(1) }),
        complete: async (id: number, _fence: unknown, o: { claimNext?: { agent: unknown; labels?: string[] } }) => {
          calls.push(['complete', id, o.claimNext ? o.claimNext.labels : 'plain']);
          return { status: 'completed', task_id: id, next_task_id: null, ...(o.claimNext && { next_task: claimed(id + 1) }) };
        },
      },
      { maxTasks: 3 },
    );
    expect(await w.done).toMatchObject({ tasks: 3, completed: 3 });
    expect(calls).toEqual([['claimNext'], ['complete', 1, ['docs']], ['complete', 2, ['docs']], ['complete', 3, 'plain']]);
    expect(w.events.filter((e) => e.type === 'claimed').map((e) => (e as { task: { id: number } }).task.id)).toEqual([1, 2, 3]);
  });

  it('a completion whose answer was lost, refused on retry: the task it claimed meanwhile is found and released, unrun', async () => {
    const calls: Call[] = [];
    let tries = 0;
    const w = worker(
      {
        claimNext: async () => (calls.push(['claimNext']), { task: claimed(calls.length === 1 ? 1 : 3) }),
        complete: async (id: number, _fence: unknown, o: { claimNext?: unknown }) => {
          calls.push(['complete', id, o.claimNext ? 'with claim_next' : 'plain']);
          // The first try committed on the server (and claimed task 2 for w1), but its answer never came.
          if (id === 1 && tries++ === 0) throw new NetworkError('http://athena/api/tasks/1/complete', 'socket hang up');
          if (id === 1) throw new AthenaError(409, 'NOT_PENDING', 'Cannot complete task #1: it is completed', '/api/tasks/1/complete');
          return { status: 'completed', task_id: id, next_task_id: null, next_task: null };
        },
        // What w1 holds: task 2, and (had no report got through) task 1, which is left to its lease.
        list: async (q: unknown) => (calls.push(['list', q]), { tasks: [claimed(1), claimed(2)], next_cursor: null }),
        release: async (id: number, fence: unknown) => (calls.push(['release', id, fence]), { status: 'pending' }),
      },
      { maxTasks: 2 },
    );
    expect(await w.done).toMatchObject({ tasks: 2, lost: 1, completed: 1 });
    expect(calls).toEqual([
      ['claimNext'], ['complete', 1, 'with claim_next'], ['complete', 1, 'with claim_next'],
      ['list', { status: 'in_progress', instance_id: 'w1' }], ['release', 2, { instance_id: 'w1' }],
      ['claimNext'], ['complete', 3, 'plain'],
    ]);
    expect(w.events).toContainEqual({ type: 'handed_back', taskId: 2, why: 'answer_lost', error: null });
  });

  it('a failed command fails its task and is handed the next one in the same request', async () => {
    const calls: Call[] = [];
    const w = worker(
      {
        claimNext: async () => (calls.push(['claimNext']), { task: claimed(1) }),
        fail: async (id: number, _fence: unknown, o: { retry?: boolean; claimNext?: unknown }) => {
          calls.push(['fail', id, o.claimNext ? 'with claim_next' : 'plain']);
          return { status: 'failed', task_id: id, ...(o.claimNext ? { next_task: claimed(id + 1) } : {}) };
        },
      },
      { maxTasks: 2, command: 'exit 3' },
    );
    expect(await w.done).toMatchObject({ tasks: 2, failed: 2 });
    expect(calls).toEqual([['claimNext'], ['fail', 1, 'with claim_next'], ['fail', 2, 'plain']]);
  });

  it('a stop that comes while the next task is on its way: the task goes back to the queue, unrun', async () => {
    const calls: Call[] = [];
    const stop = new AbortController();
    const w = worker(
      {
        claimNext: async () => (calls.push(['claimNext']), { task: claimed(1) }),
        complete: async (id: number) => {
          calls.push(['complete', id]);
          stop.abort(); // SIGTERM while the answer, with task 2 in it, is on its way
          return { status: 'completed', task_id: id, next_task_id: 2, next_task: claimed(2) };
        },
        release: async (id: number, fence: unknown, reason: string) => (calls.push(['release', id, fence, reason]), { status: 'pending' }),
      },
      { stop },
    );
    expect(await w.done).toMatchObject({ tasks: 1, completed: 1 });
    expect(calls).toEqual([['claimNext'], ['complete', 1], ['release', 2, { lease_token: 'token-2' }, 'the worker stopped before it started the task']]);
    expect(w.events.at(-1)).toEqual({ type: 'handed_back', taskId: 2, why: 'stopped', error: null });
  });
});
