// Review from Discord, end to end on the fake: /task review:true, the in_review message's Accept and
// Request changes buttons, the feedback form bound to its message, and the role check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeMessage } from '../helpers/fake-discord/types.js';
import { eventually, startHarness, type Harness } from './harness.js';

const EPHEMERAL = 1 << 6;

let h: Harness;
let adminRole: string;

beforeAll(async () => {
  h = await startHarness({ env: { DISCORD_ADMIN_ROLE: 'athena-admin' }, fake: { roles: [{ name: 'athena-admin' }] } });
  adminRole = h.fake.roles['athena-admin']!.id;
  await h.ready();
});
afterAll(async () => h?.close());

const alice = { user: { username: 'alice' } };
const bob = { user: { username: 'bob' } };
const admin = () => ({ user: { username: 'carol' }, roles: [adminRole] });

async function claimAndComplete(id: number): Promise<void> {
  const claimed = await h.api('POST', `/api/tasks/${id}/claim`, { instance_id: 'agent-1' });
  const done = await h.api('POST', `/api/tasks/${id}/complete`, { lease_token: claimed.json.lease_token, notes: 'pushed athena/task-1' });
  expect(done.json.status).toBe('in_review');
}

const reviewMessages = (id: number) =>
  h.fake.channelMessages('claude-tasks').filter((m) => m.embeds[0]?.title === `👀 Task #${id} done by agent-1: waiting for review`);

function nthReviewMessage(id: number, n: number): Promise<FakeMessage> {
  return eventually(() => reviewMessages(id)[n - 1], 15_000, `review message ${n} of #${id}`);
}

describe('review from Discord', () => {
  it('/task review:true → Request changes (form) → the agent gets the feedback → Accept', async () => {
    const queued = await h.fake.slashCommand('task', { description: 'Fix the flaky login test', review: true }, alice).waitForResponse();
    const id = Number(queued.data.embeds[0].fields[0].value.slice(1));
    expect((await h.api('GET', `/api/tasks/${id}`)).json.task.review).toBe(true);

    await claimAndComplete(id);
    const first = await nthReviewMessage(id, 1);
    expect(first.components[0].components.map((c: { custom_id: string }) => c.custom_id)).toEqual([`athena:accept:${id}`, `athena:changes:${id}`]);
    expect(first.embeds[0].fields[0]).toMatchObject({ name: 'Notes', value: 'pushed athena/task-1' });

    const refused = await h.fake.button(`athena:changes:${id}`, bob).waitForResponse();
    expect(refused.data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(refused.data.content).toMatch(/Only members with the athena-admin role or the task's submitter can review/);

    const form = await h.fake.button(`athena:changes:${id}`, admin()).waitForResponse();
    expect(form.type).toBe(9);
    expect(form.data.custom_id).toBe(`athena:feedback:${id}`);
    const sent = await h.fake.modalSubmit(`athena:feedback:${id}`, { feedback: 'still flaky on CI' }, { ...admin(), message: first.id }).waitForResponse();
    expect(sent.data.content).toBe(`✏️ Task #${id} is back in the queue with your feedback. agent-1 gets it first.`);
    const back = (await h.api('GET', `/api/tasks/${id}`)).json.task;
    expect(back).toMatchObject({ status: 'pending', review_feedback: 'still flaky on CI' });

    const claimed = await h.api('POST', '/api/tasks/claim-next', { instance_id: 'agent-1' });
    expect(claimed.json.task).toMatchObject({ id, review_feedback: 'still flaky on CI' });
    await h.api('POST', `/api/tasks/${id}/complete`, { lease_token: claimed.json.task.lease_token });
    await nthReviewMessage(id, 2);
    const accepted = await h.fake.button(`athena:accept:${id}`, alice).waitForResponse();
    expect(accepted.data.content).toBe(`👍 Task #${id} accepted; it is completed.`);
    expect((await h.api('GET', `/api/tasks/${id}`)).json.task.status).toBe('completed');
  });

  it('a feedback form naming another task than its message acts on nothing', async () => {
    const a = (await h.api('POST', '/api/tasks', { description: 'Review target A', review: true })).json.task_id as number;
    const b = (await h.api('POST', '/api/tasks', { description: 'Review target B', review: true })).json.task_id as number;
    await claimAndComplete(a);
    const claimedB = await h.api('POST', `/api/tasks/${b}/claim`, { instance_id: 'agent-2' });
    await h.api('POST', `/api/tasks/${b}/complete`, { lease_token: claimedB.json.lease_token });
    const messageOfA = await nthReviewMessage(a, 1);
    const forged = await h.fake.modalSubmit(`athena:feedback:${b}`, { feedback: 'sneaky' }, { ...admin(), message: messageOfA.id }).waitForResponse();
    expect(forged.data.content).toBe('⛔ This form does not belong to this message.');
    expect((await h.api('GET', `/api/tasks/${b}`)).json.task.status).toBe('in_review');
  });
});
