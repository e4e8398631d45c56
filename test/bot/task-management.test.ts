// /task's options, /edit, /comment, /reopen, the ⏰ mark in /queue, and a task thread <-> its comments,
// end to end: a real server whose bot is logged in to the fake Discord.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from './harness.js';

const EPHEMERAL = 1 << 6;

let h: Harness;
let adminRole: string;

beforeAll(async () => {
  h = await startHarness({
    env: { DISCORD_ADMIN_ROLE: 'athena-admin', DISCORD_NOTIFY_BURST: '1000', DISCORD_THREAD_COMMENTS: 'true', TZ: 'Europe/Berlin' },
    fake: { roles: [{ name: 'athena-admin' }] },
  });
  adminRole = h.fake.roles['athena-admin']!.id;
  await h.ready();
});
afterAll(async () => h?.close());

const alice = { user: { username: 'alice' } };
const bob = { user: { username: 'bob' } };
const admin = () => ({ user: { username: 'carol' }, roles: [adminRole] });

const idOf = (res: { data: { embeds: Array<{ fields: Array<{ value: string }> }> } }) => Number(res.data.embeds[0]!.fields[0]!.value.slice(1));
const getTask = async (id: number) => (await h.api('GET', `/api/tasks/${id}`)).json.task;

describe('/task options', () => {
  it('sets labels, project, assignee, dependencies and a start time read in TZ', async () => {
    const dep = (await h.api('POST', '/api/tasks', { description: 'first' })).json.task_id;
    const before = Date.now();
    const res = await h.fake
      .slashCommand('task', { description: 'Deploy the docs', labels: 'docs, web', project: 'site', assignee: 'bot-3', start: 'in 2h', depends_on: `#${dep}` }, alice)
      .waitForResponse();
    expect(res.data.content).toContain('bot-3'); // not a known instance yet: a warning, not a refusal
    const task = await getTask(idOf(res));
    expect(task).toMatchObject({ labels: ['docs', 'web'], project: 'site', assignee: 'bot-3', depends_on: [dep], submitted_by: 'discord:alice' });
    expect(Date.parse(task.run_after) - before).toBeGreaterThanOrEqual(7_200_000 - 1000);
    const queue = await h.fake.slashCommand('queue', {}, alice).waitForResponse();
    expect(queue.data.embeds[0].description).toMatch(new RegExp(`\\*\\*#${dep}\\*\\* 🟡 first`));

    const bad = await h.fake.slashCommand('task', { description: 'x', start: 'whenever' }, alice).waitForResponse();
    expect(bad.data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(bad.data.content).toContain('Cannot read the start time');
  });

  it('/queue marks a task scheduled for later with ⏰', async () => {
    const res = await h.fake.slashCommand('task', { description: 'Nightly cleanup', start: 'tomorrow 3:00' }, alice).waitForResponse();
    const id = idOf(res);
    const queue = await h.fake.slashCommand('queue', {}, alice).waitForResponse();
    expect(queue.data.embeds[0].description).toMatch(new RegExp(`\\*\\*#${id}\\*\\* 🟡 ⏰ <t:\\d+:f> Nightly cleanup`));
  });
});

describe('/edit, /comment and /reopen', () => {
  it('/edit lets the submitter (recorded with the task) change it, and refuses others', async () => {
    const id = idOf(await h.fake.slashCommand('task', { description: 'Draft' }, alice).waitForResponse());
    const edited = await h.fake.slashCommand('edit', { task_id: id, description: 'Final text', project: 'site' }, alice).waitForResponse();
    expect(edited.data.embeds[0].description).toContain(`✏️ Task **#${id}** edited`);
    expect(edited.data.embeds[0].description).toContain('**description**: Draft → Final text');
    expect(await getTask(id)).toMatchObject({ description: 'Final text', project: 'site' });
    const refused = await h.fake.slashCommand('edit', { task_id: id, description: 'mine now' }, bob).waitForResponse();
    expect(refused.data.content).toBe(`❌ Only members with the athena-admin role or the task's submitter can edit task #${id}`);
    const cleared = await h.fake.slashCommand('edit', { task_id: id, project: 'none' }, admin()).waitForResponse();
    expect(cleared.data.embeds[0].description).toContain('**project**: site → none');
  });

  it('/reopen puts a cancelled task back in the queue', async () => {
    const id = (await h.api('POST', '/api/tasks', { description: 'Cancelled too soon' })).json.task_id;
    await h.api('POST', `/api/tasks/${id}/cancel`, {});
    const res = await h.fake.slashCommand('reopen', { task_id: id, reason: 'still needed' }, admin()).waitForResponse();
    expect(res.data.embeds[0].description).toContain(`🔁 Task **#${id}** is reopened`);
    expect((await getTask(id)).status).toBe('pending');
    const log = (await h.api('GET', `/api/tasks/${id}`)).json.logs.at(-1);
    expect(log).toMatchObject({ action: 'reopened', details: 'by @carol: still needed' });
  });

  it('/comment adds a comment its agent sees at the next heartbeat', async () => {
    const id = (await h.api('POST', '/api/tasks', { description: 'Needs a hint' })).json.task_id;
    const claimed = (await h.api('POST', `/api/tasks/${id}/claim`, { instance_id: 'agent-9' })).json;
    const res = await h.fake.slashCommand('comment', { task_id: id, text: 'check the cache first' }, bob).waitForResponse();
    expect(res.data.embeds[0].description).toContain(`💬 Comment added to task **#${id}**`);
    const beat = await h.api('POST', `/api/tasks/${id}/heartbeat`, { lease_token: claimed.lease_token });
    expect(beat.json.new_comments).toMatchObject([{ author: '@bob', body: 'check the cache first', source: 'discord' }]);
  });
});

describe('a task thread and its comments', () => {
  it('a message in the thread becomes a comment; a comment from the dashboard is posted into the thread', async () => {
    const ix = h.fake.slashCommand('task', { description: 'Talk in the thread' }, alice);
    const id = idOf(await ix.waitForResponse());
    const thread = await eventually(() => h.fake.threads('claude-tasks').find((t) => t.name.startsWith(`#${id} · `)), 15_000, 'the task thread');

    h.fake.userMessage(thread.id, 'Please also update the changelog', { user: { username: 'alice' } });
    const kept = await eventually(async () => {
      const comments = (await h.api('GET', `/api/tasks/${id}/comments`)).json.comments;
      return comments.length > 0 && comments;
    }, 15_000, 'the thread message as a comment');
    expect(kept).toMatchObject([{ author: '@alice', body: 'Please also update the changelog', source: 'discord' }]);

    await h.api('POST', `/api/tasks/${id}/comments`, { body: 'Changelog is in docs/CHANGES.md', by: 'dana', source: 'dashboard' });
    const posted = await eventually(
      () => h.fake.channelMessages(thread.id).find((m) => m.embeds[0]?.description?.includes('Changelog is in docs/CHANGES.md')),
      15_000,
      'the dashboard comment in the thread',
    );
    expect(posted.embeds[0]!.description).toBe(`💬 **dana** on **#${id}**: Changelog is in docs/CHANGES.md`);
    // The thread's own message is not echoed back into it.
    expect(h.fake.channelMessages(thread.id).filter((m) => m.embeds[0]?.description?.includes('update the changelog'))).toHaveLength(0);
  });
});
