// runWorker with a stand-in client: an error thrown by the event observer during a heartbeat ends the worker
// with that error after the task is reported, instead of an unhandled rejection from the heartbeat timer.
import { describe, expect, it } from 'vitest';
import type { AthenaClient } from '../../src/client/index.js';
import { runWorker } from '../../src/cli/worker.js';

const task = {
  id: 7,
  description: 'long job',
  status: 'in_progress',
  priority: 'medium',
  lease_token: 'token-7',
  lease_expires_at: new Date(Date.now() + 60_000).toISOString(),
  labels: [],
  depends_on: [],
  project: null,
  notes: null,
  attempts: 1,
  max_attempts: 3,
};

describe('worker heartbeat', () => {
  it('an observer that throws on a heartbeat stops the command, releases the task and ends the worker with its error', async () => {
    const calls: string[] = [];
    let claims = 0;
    const client = {
      requeueHeld: async () => ({ tasks: [] }),
      claimNext: async () => ({ task: claims++ === 0 ? task : null }),
      heartbeat: async () => {
        calls.push('heartbeat');
        return { lease_expires_at: task.lease_expires_at };
      },
      complete: async () => (calls.push('complete'), { status: 'completed' }),
      fail: async () => (calls.push('fail'), { status: 'failed' }),
      release: async () => (calls.push('release'), { status: 'pending' }),
    } as unknown as AthenaClient;

    const worker = runWorker({
      client,
      agent: { instanceId: 'w1', instanceName: 'w1' },
      command: 'sleep 20',
      graceMs: 1000,
      killAfterMs: 500,
      pollSeconds: 1,
      maxTasks: 1,
      heartbeatMs: 50,
      env: { PATH: process.env.PATH ?? '' },
      apiUrl: 'http://127.0.0.1:1',
      stop: new AbortController().signal,
      onEvent: (event) => {
        if (event.type.startsWith('heartbeat')) throw new Error('stdout is gone');
      },
    });
    await expect(worker).rejects.toThrow('stdout is gone');
    expect(calls.filter((c) => c !== 'heartbeat')).toEqual(['release']);
  });
});
