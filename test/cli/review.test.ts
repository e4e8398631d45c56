// `athena add --review` and `athena review` against a real server: in_review, changes with feedback, accept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AthenaClient } from '../../src/client/index.js';
import { cliEnv, json, KEY, runCli, startTestServer, type TestServer } from './harness.js';
import { taskEnv } from '../../src/cli/worker.js';
import type { ClaimedTaskJson } from '../../src/client/types.js';

let t: TestServer;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestServer({ WIP_LIMIT: '0' });
  env = cliEnv(t.url);
});
afterAll(async () => t?.close());

describe('review commands', () => {
  it('add --review → in_review → review --changes → feedback shown → review --accept', async () => {
    const added = json(await runCli(['add', 'Fix the flaky login test', '--review', '--json'], env));
    expect(added.task.review).toBe(true);
    const id = added.task_id as number;

    const agent = { instanceId: 'agent-a', instanceName: 'Agent A' };
    const claimed = await t.server.queue.claim(id, agent);
    expect((await t.server.queue.complete(id, { leaseToken: claimed.leaseToken })).status).toBe('in_review');

    const changes = await runCli(['review', String(id), '--changes', 'the test still flakes on CI'], env);
    expect(changes.code).toBe(0);
    expect(changes.stdout).toContain(`Task #${id} sent back`);
    const again = await t.server.queue.claim(id, agent);
    expect(again.reviewFeedback).toBe('the test still flakes on CI');
    await t.server.queue.complete(id, { leaseToken: again.leaseToken });
    const shown = await runCli(['show', String(id)], env);
    expect(shown.stdout).toContain('in_review');
    expect(shown.stdout).toContain(`athena review ${id} --accept`);
    expect(shown.stdout).toMatch(/feedback\s+the test still flakes on CI/);
    const accepted = await runCli(['review', String(id), '--accept'], env);
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain(`Task #${id} accepted`);
    expect((await t.server.queue.get(id)).status).toBe('completed');
  }, 60_000);

  it('review needs exactly one of --accept and --changes, and refuses a task not in review', async () => {
    const id = (await t.server.queue.create({ description: 'x', review: true })).task.id;
    const neither = await runCli(['review', String(id)], env);
    expect(neither.code).toBe(1);
    expect(neither.stderr).toContain('--accept or --changes');
    const both = await runCli(['review', String(id), '--accept', '--changes', 'no'], env);
    expect(both.code).toBe(1);
    const pending = await runCli(['review', String(id), '--accept'], env);
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain('pending');
  }, 60_000);
});

describe('the worker gives the command the review feedback', () => {
  it('as ATHENA_REVIEW_FEEDBACK (and in the task JSON on stdin), empty when there is none', async () => {
    const id = (await t.server.queue.create({ description: 'x', review: true })).task.id;
    const agent = { instanceId: 'agent-f', instanceName: 'Agent F' };
    const first = await t.server.queue.claim(id, agent);
    await t.server.queue.complete(id, { leaseToken: first.leaseToken });
    await t.server.queue.review(id, { decision: 'changes', feedback: 'rename the flag' });
    const client = new AthenaClient({ baseUrl: t.url, apiKey: KEY });
    const claimed: ClaimedTaskJson = (await client.claim(id, agent)).task;
    const options = { env: {}, apiUrl: t.url, agent };
    expect(claimed.review_feedback).toBe('rename the flag');
    expect(taskEnv(claimed, options).ATHENA_REVIEW_FEEDBACK).toBe('rename the flag');
    expect(taskEnv({ ...claimed, review_feedback: null }, options).ATHENA_REVIEW_FEEDBACK).toBe('');
  });
});
