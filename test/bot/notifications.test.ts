// Notifications for every transition, whichever surface caused it: where they go (channel or the
// task's thread), what they say, their nonces, and how bursts are coalesced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeMessage } from '../helpers/fake-discord/types.js';
import { eventually, startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  // Retries are due at once, so a requeued task can be claimed again straight away.
  h = await startHarness({ env: { RETRY_BASE_SECONDS: '0' } });
  await h.ready();
});
afterAll(async () => h?.close());

async function createTask(body: Record<string, unknown>): Promise<number> {
  const res = await h.api('POST', '/api/tasks', body);
  expect(res.status).toBe(201);
  return res.json.task_id;
}

async function claim(id: number, agent = 'agent-1'): Promise<string> {
  const res = await h.api('POST', `/api/tasks/${id}/claim`, { instance_id: agent, instance_name: agent });
  expect(res.status).toBe(200);
  return res.json.lease_token;
}

function messages(channel: string): FakeMessage[] {
  return h.fake.channelMessages(channel);
}

function waitForMessage(channel: string, predicate: (m: FakeMessage) => boolean, what: string): Promise<FakeMessage> {
  return eventually(() => messages(channel).find(predicate), 15_000, what);
}

const titled = (title: string) => (m: FakeMessage) => m.embeds[0]?.title === title;

function botMessagePosts() {
  return h.fake.calls({ method: 'POST', path: `/channels/${h.fake.channels['claude-tasks']!.id}/messages` });
}

describe('a task created through the REST API', () => {
  let id: number;
  let threadId: string;

  it('is announced in the notification channel with the "Task Queued" embed, a nonce, and its own thread', async () => {
    const other = await createTask({ description: 'Earlier task', priority: 'low' });
    id = await createTask({ description: 'Refactor the billing module', priority: 'high', submitted_by: 'cli:erin' });
    const notice = await waitForMessage('claude-tasks', (m) => m.embeds[0]?.fields?.[0]?.value === `#${id}`, 'the queued message');
    expect(notice.embeds[0]).toMatchObject({
      title: '📋 Task Queued',
      description: 'Refactor the billing module',
      color: 0x3498db,
      footer: { text: 'Submitted by cli:erin' },
    });
    expect(notice.embeds[0].fields.slice(0, 2)).toEqual([
      { name: 'Task ID', value: `#${id}`, inline: true },
      { name: 'Priority', value: '🔴 High', inline: true },
    ]);
    expect(notice.components[0].components.map((c: { label: string }) => c.label)).toEqual(['Cancel']);
    expect(messages('claude-tasks').some((m) => m.embeds[0]?.fields?.[0]?.value === `#${other}`)).toBe(true);

    const post = botMessagePosts().find((c) => c.body.embeds?.[0]?.fields?.[0]?.value === `#${id}`)!;
    expect(post.body.enforce_nonce).toBe(true);
    expect(post.body.nonce).toMatch(/^athena:\d+$/);
    expect(post.body.nonce.length).toBeLessThanOrEqual(25);
    expect(post.body.allowed_mentions).toEqual({ parse: [] });

    const thread = await eventually(() => h.fake.threads('claude-tasks').find((t) => t.id === notice.id), 15_000, 'the thread');
    expect(thread.name).toBe(`#${id} · Refactor the billing module`);
    threadId = thread.id;
  });

  it('posts the claim, progress and result in the task thread, and the question in the channel', async () => {
    const token = await claim(id, 'agent-1');
    const claimed = await waitForMessage(threadId, titled(`🔨 Task #${id} claimed by agent-1`), 'the claim message');
    expect(claimed.components[0].components[0].custom_id).toBe(`athena:cancel:${id}`);

    await h.api('POST', `/api/tasks/${id}/heartbeat`, { lease_token: token });
    await h.api('POST', `/api/tasks/${id}/heartbeat`, { lease_token: token, progress: 'Running the test suite' });
    const progress = await waitForMessage(threadId, (m) => m.embeds[0]?.description === `📝 **#${id}** Running the test suite`, 'the progress line');
    expect(progress).toBeDefined();

    await h.api('POST', `/api/tasks/${id}/ask`, { lease_token: token, question: 'Keep the old API?' });
    // A question needs a person: it is posted in the channel, not in the thread.
    const question = await waitForMessage('claude-tasks', titled(`❓ Task #${id} needs input`), 'the question');
    expect(question.embeds[0].description).toBe('Keep the old API?');
    expect(question.embeds[0].fields[0].value).toBe(`\`/answer task_id:${id} text:…\``);
    await h.api('POST', `/api/tasks/${id}/answer`, { answer: 'yes' });

    const next = (await h.api('GET', '/api/tasks/next')).json.task;
    await h.api('POST', `/api/tasks/${id}/complete`, { lease_token: token, notes: 'Split into three services' });
    const done = await waitForMessage(threadId, titled(`✅ Task #${id} completed by agent-1`), 'the completion');
    expect(done.embeds[0].color).toBe(0x2ecc71);
    expect(done.embeds[0].fields).toEqual([
      { name: 'Notes', value: 'Split into three services' },
      { name: 'Next in line', value: `**#${next.id}** 🟢 Earlier task` },
    ]);
    // One message per transition: the heartbeat without progress said nothing.
    expect(messages(threadId).map((m) => m.embeds[0]?.title ?? m.embeds[0]?.description)).toEqual([
      `🔨 Task #${id} claimed by agent-1`,
      `📝 **#${id}** Running the test suite`,
      `✅ Task #${id} completed by agent-1`,
    ]);
    expect(messages('claude-tasks').some((m) => m.embeds[0]?.title?.startsWith(`✅ Task #${id}`))).toBe(false);
  });
});

describe('failures, retries and cancellations', () => {
  it('announces a requeue, then the final failure with a Retry button', async () => {
    const id = await createTask({ description: 'Deploy to staging', max_attempts: 2 });
    await waitForMessage('claude-tasks', (m) => m.embeds[0]?.fields?.[0]?.value === `#${id}`, 'queued');
    const thread = await eventually(() => h.fake.threads('claude-tasks').find((t) => t.name.startsWith(`#${id} · `)), 15_000, 'thread');
    const first = await claim(id, 'agent-2');
    await h.api('POST', `/api/tasks/${id}/fail`, { lease_token: first, error: 'ssh timeout', retry: true });
    const requeued = await waitForMessage(thread.id, titled(`🔁 Task #${id} back in the queue`), 'requeued');
    expect(requeued.embeds[0].description).toMatch(/attempt 1 of 2 failed: ssh timeout/);

    const second = await claim(id, 'agent-2');
    await h.api('POST', `/api/tasks/${id}/fail`, { lease_token: second, error: 'ssh timeout again', retry: true });
    const failed = await waitForMessage(thread.id, titled(`❌ Task #${id} failed`), 'failed');
    expect(failed.embeds[0].fields[0]).toEqual({ name: 'Error', value: 'ssh timeout again' });
    expect(failed.embeds[0].fields[1]).toEqual({ name: 'Attempts', value: '2 of 2 attempts used', inline: true });
    expect(failed.components[0].components[0]).toMatchObject({ custom_id: `athena:retry:${id}`, label: 'Retry' });
  });

  it('announces a cancellation made from Discord too', async () => {
    const res = await h.fake.slashCommand('task', { description: 'Cancel me from Discord' }, { user: { username: 'frank' } }).waitForResponse();
    const id = Number(res.data.embeds[0].fields[0].value.slice(1));
    const thread = await eventually(() => h.fake.threads('claude-tasks').find((t) => t.name.startsWith(`#${id} · `)), 15_000, 'thread');
    await h.fake.slashCommand('cancel', { task_id: id }, { user: { username: 'frank' } }).waitForResponse();
    const cancelled = await waitForMessage(thread.id, titled(`🛑 Task #${id} cancelled`), 'cancelled');
    expect(cancelled.embeds[0].footer.text).toBe('by @frank');
    // The /task reply was the announcement: the notifier did not queue-announce it again.
    expect(messages('claude-tasks').filter((m) => m.embeds[0]?.title === '📋 Task Queued' && m.embeds[0]?.fields?.[0]?.value === `#${id}`)).toHaveLength(1);
  });
});

describe('bursts', () => {
  it('turns a bulk cancel of 30 tasks into one summary message', async () => {
    await h.api('POST', '/api/tasks/cancel-pending', {});
    const mark = botMessagePosts().length;
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) ids.push(await createTask({ description: `Bulk item ${i}`, labels: ['bulk'] }));
    // Let the creations be announced first (one by one or in summaries), then cancel them in one transaction.
    const queuedAnnounced = () =>
      botMessagePosts()
        .slice(mark)
        .map((c) => c.body.embeds?.[0]?.title as string)
        .reduce((n, title) => n + (title === '📋 Task Queued' ? 1 : Number(/^📋 (\d+) tasks queued$/.exec(title)?.[1] ?? 0)), 0);
    await eventually(() => queuedAnnounced() >= 30, 15_000, 'the creations');
    const before = botMessagePosts().length;
    const res = await h.api('POST', '/api/tasks/cancel-pending', { label: 'bulk' });
    expect(res.json.count ?? res.json.cancelled).toBe(30);
    const summary = await waitForMessage('claude-tasks', titled('🛑 30 tasks cancelled'), 'the summary');
    const lines = summary.embeds[0].description.split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe(`**#${ids[0]}** 🟡 Bulk item 0`);
    expect(lines[10]).toBe('…and 20 more');
    // A fixed wait on purpose: it checks that nothing more is posted (one summary, no per-task thread posts).
    await new Promise((r) => setTimeout(r, 400));
    expect(botMessagePosts().length - before).toBe(1);
    for (const id of ids) expect(h.fake.threads().some((t) => t.name.startsWith(`#${id} · `) && messages(t.id).some((m) => m.embeds[0]?.title?.includes('cancelled')))).toBe(false);
  });

});

describe('a burst of creations', () => {
  let b: Harness;
  beforeAll(async () => {
    b = await startHarness({ env: { DISCORD_NOTIFY_COALESCE_MS: '2500' } });
    await b.ready();
  });
  afterAll(async () => b?.close());

  it('announces 200 tasks created in a burst in one summary, not one message per task', async () => {
    const posts = () => b.fake.calls({ method: 'POST', path: `/channels/${b.fake.channels['claude-tasks']!.id}/messages` });
    const ids: number[] = [];
    const started = Date.now();
    // Twenty clients at a time, like a script that fans work out.
    for (let i = 0; i < 200; i += 20) {
      const batch = Array.from({ length: Math.min(20, 200 - i) }, (_, j) => b.api('POST', '/api/tasks', { description: `Generated task ${i + j}`, priority: 'low' }));
      ids.push(...(await Promise.all(batch)).map((r) => r.json.task_id as number));
    }
    const elapsed = Date.now() - started;
    const announced = () =>
      posts().map((c) => {
        const title = c.body.embeds?.[0]?.title as string;
        return { summary: /^📋 \d+ tasks queued$/.test(title), count: Number(/^📋 (\d+) tasks queued$/.exec(title)?.[1] ?? 1) };
      });
    await eventually(() => announced().reduce((n, a) => n + a.count, 0) >= 200, 10_000, 'all 200 to be announced');
    const messages = announced();
    expect(messages.reduce((n, a) => n + a.count, 0)).toBe(200);
    if (elapsed < 2000) {
      expect(messages).toEqual([{ summary: true, count: 200 }]);
      const summary = b.fake.channelMessages('claude-tasks').find((m) => m.embeds[0]?.title === '📋 200 tasks queued')!;
      expect(summary.embeds[0].description.split('\n').at(-1)).toBe('…and 190 more');
    } else {
      // A slow machine spread the burst over more than one window: still a summary per window,
      // plus at most a handful of single messages for a short tail.
      expect(messages.filter((m) => m.summary).length).toBeLessThanOrEqual(Math.ceil(elapsed / 2500) + 1);
      expect(messages.filter((m) => !m.summary).length).toBeLessThanOrEqual(5);
    }
    expect(new Set(posts().map((c) => c.body.nonce)).size).toBe(messages.length);
  });
});

describe('with DISCORD_THREADS=false', () => {
  let c: Harness;
  beforeAll(async () => {
    c = await startHarness({ env: { DISCORD_THREADS: 'false' } });
    await c.ready();
  });
  afterAll(async () => c?.close());

  it('posts every notification in the channel and starts no thread', async () => {
    const created = await c.api('POST', '/api/tasks', { description: 'No threads here' });
    const id = created.json.task_id as number;
    await c.api('POST', `/api/tasks/${id}/claim`, { instance_id: 'agent-1', instance_name: 'agent-1' });
    await eventually(() => c.fake.channelMessages('claude-tasks').some((m) => m.embeds[0]?.title === `🔨 Task #${id} claimed by agent-1`), 15_000, 'the claim');
    const res = await c.fake.slashCommand('task', { description: 'Nor here' }, { user: { username: 'gina' } }).waitForResponse();
    expect(res.data.embeds[0].title).toBe('📋 Task Queued');
    // A fixed wait on purpose: it checks that nothing more happens (no thread is made).
    await new Promise((r) => setTimeout(r, 300));
    expect(c.fake.threads()).toEqual([]);
    expect(c.fake.calls({ path: /\/threads$/ })).toEqual([]);
  });
});

describe('announcements about the whole queue', () => {
  it('posts the daily summary and the retention notice in the channel, once each', async () => {
    await h.server.queue.announce('daily_summary', 'Daily summary (24 h)\nCreated 3 · completed 2 · failed 1');
    await h.server.queue.announce('retention_notice', '4 completed or cancelled task(s) will be deleted after tomorrow');
    const summary = await waitForMessage('claude-tasks', titled('📊 Daily summary'), 'the daily summary');
    expect(summary.embeds[0].description).toContain('Created 3 · completed 2 · failed 1');
    const notice = await waitForMessage('claude-tasks', titled('🧹 Retention notice'), 'the retention notice');
    expect(notice.embeds[0].description).toContain('will be deleted');
    // A fixed wait on purpose: it checks that nothing more is posted (one daily summary).
    await new Promise((r) => setTimeout(r, 300));
    expect(messages('claude-tasks').filter(titled('📊 Daily summary'))).toHaveLength(1);
  });
});
