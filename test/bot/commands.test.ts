// Every slash command, the channel rule, the admin role, buttons and autocomplete, end to end:
// a real server whose bot is logged in to the fake Discord.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from './harness.js';

const EPHEMERAL = 1 << 6;

let h: Harness;
let adminRole: string;

beforeAll(async () => {
  // No summaries here: the button tests need each task's own message.
  h = await startHarness({ env: { DISCORD_ADMIN_ROLE: 'athena-admin', DISCORD_NOTIFY_BURST: '1000' }, fake: { roles: [{ name: 'athena-admin' }] } });
  adminRole = h.fake.roles['athena-admin']!.id;
  await h.ready();
});
afterAll(async () => h?.close());

const alice = { user: { username: 'alice' } };
const bob = { user: { username: 'bob' } };
const admin = () => ({ user: { username: 'carol' }, roles: [adminRole] });

async function createTask(body: Record<string, unknown>): Promise<number> {
  const res = await h.api('POST', '/api/tasks', body);
  expect(res.status).toBe(201);
  return res.json.task_id;
}

async function getTask(id: number) {
  const res = await h.api('GET', `/api/tasks/${id}`);
  return res.json.task ?? res.json;
}

async function claim(id: number, agent = 'agent-1') {
  const res = await h.api('POST', `/api/tasks/${id}/claim`, { instance_id: agent, instance_name: agent });
  expect(res.status).toBe(200);
  return res.json.lease_token as string;
}

/** The message the notifier posted about task `id` (its "Task Queued" embed), once it is there. */
function queuedNotice(id: number) {
  return eventually(
    () => h.fake.channelMessages('claude-tasks').find((m) => m.embeds[0]?.title === '📋 Task Queued' && m.embeds[0]?.fields?.[0]?.value === `#${id}`),
    15_000,
    `the queued notification of #${id}`,
  );
}

describe('registration', () => {
  it('registers every command in the guild with one bulk overwrite', async () => {
    const puts = h.fake.calls({ method: 'PUT', path: `/applications/${h.fake.applicationId}/guilds/${h.fake.guildId}/commands` });
    expect(puts).toHaveLength(1);
    const names = h.fake.commands().map((c) => c.name).sort();
    expect(names).toEqual(['answer', 'athena', 'cancel', 'comment', 'done', 'edit', 'pause', 'priority', 'queue', 'reopen', 'resume', 'retry', 'schedule', 'status', 'task']);
    const task = h.fake.commands().find((c) => c.name === 'task')!;
    const priority = task.options.find((o: { name: string }) => o.name === 'priority');
    expect(priority.choices.map((c: { value: string }) => c.value)).toEqual(['high', 'medium', 'low']);
    const cancel = h.fake.commands().find((c) => c.name === 'cancel')!;
    expect(cancel.options.find((o: { name: string }) => o.name === 'task_id').autocomplete).toBe(true);
  });
});

describe('/task', () => {
  it('queues the task and replies with the original "Task Queued" embed, then starts its thread', async () => {
    const ix = h.fake.slashCommand('task', { description: 'Fix the login bug\nDetails follow', priority: 'high' }, alice);
    const res = await ix.waitForResponse();
    expect(res.type).toBe(4);
    expect(res.data.flags ?? 0).toBe(0);
    const embed = res.data.embeds[0];
    expect(embed.title).toBe('📋 Task Queued');
    expect(embed.color).toBe(0x3498db);
    expect(embed.description).toBe('Fix the login bug\nDetails follow');
    const id = Number(embed.fields.find((f: { name: string }) => f.name === 'Task ID').value.slice(1));
    expect(embed.fields.find((f: { name: string }) => f.name === 'Priority').value).toBe('🔴 High');
    expect(embed.footer.text).toBe('Submitted by @alice');

    const task = await getTask(id);
    expect(task).toMatchObject({ description: 'Fix the login bug\nDetails follow', priority: 'high', status: 'pending', submitted_by: 'discord:alice' });

    const original = ix.original()!;
    const thread = await eventually(() => h.fake.threads('claude-tasks').find((t) => t.id === original.id), 15_000, 'the task thread');
    expect(thread.name).toBe(`#${id} · Fix the login bug`);
  });

  it('works inside a task thread of an allowed channel', async () => {
    const thread = h.fake.threads('claude-tasks')[0]!;
    const res = await h.fake.slashCommand('status', {}, { ...alice, channel: thread.id }).waitForResponse();
    expect(res.data.flags ?? 0).toBe(0);
    expect(res.data.embeds[0].title).toMatch(/^📊 Athena status/);
  });

  it('defaults to medium priority', async () => {
    const res = await h.fake.slashCommand('task', { description: 'Write the changelog' }, alice).waitForResponse();
    expect(res.data.embeds[0].fields[1].value).toBe('🟡 Medium');
  });

  it('refuses to run outside the allowed channels, naming them, and changes nothing', async () => {
    const before = (await h.api('GET', '/api/stats')).json.total;
    const res = await h.fake.slashCommand('task', { description: 'Not here' }, { ...alice, channel: 'general' }).waitForResponse();
    expect(res.type).toBe(4);
    expect(res.data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(res.data.content).toBe('⚠️ This command only works in #claude-tasks');
    expect((await h.api('GET', '/api/stats')).json.total).toBe(before);
  });

  it('refuses an empty description with an ephemeral error from the core', async () => {
    const res = await h.fake.slashCommand('task', { description: '   ' }, alice).waitForResponse();
    expect(res.data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(res.data.content).toBe('❌ description must not be empty');
  });
});

describe('/queue', () => {
  it('lists pending tasks in queue order, ten per page, with working page buttons', async () => {
    const pending = (await h.api('GET', '/api/stats')).json.pending as number;
    for (let i = 0; i < 23 - pending; i++) await createTask({ description: `Filler task ${i}`, priority: 'low' });
    const res = await h.fake.slashCommand('queue', {}, alice).waitForResponse();
    const embed = res.data.embeds[0];
    expect(embed.title).toBe('📋 Queue — 23 pending');
    expect(embed.footer.text).toBe('Page 1/3');
    const lines = embed.description.split('\n');
    expect(lines).toHaveLength(10);
    // High priority first: the /task "Fix the login bug" leads the queue.
    expect(lines[0]).toMatch(/^1\. \*\*#\d+\*\* 🔴 Fix the login bug$/);
    expect(lines[1]).toMatch(/🟡 Write the changelog$/);
    const [prev, next] = res.data.components[0].components;
    expect(prev.disabled).toBe(true);
    expect(next.custom_id).toBe('athena:queue:1');

    const page2 = await h.fake.button('athena:queue:1', bob).waitForResponse();
    expect(page2.type).toBe(7);
    expect(page2.data.embeds[0].footer.text).toBe('Page 2/3');
    expect(page2.data.embeds[0].description.split('\n')[0]).toMatch(/^11\. /);

    const page3 = await h.fake.button('athena:queue:2', bob).waitForResponse();
    expect(page3.data.embeds[0].footer.text).toBe('Page 3/3');
    expect(page3.data.embeds[0].description.split('\n')).toHaveLength(3);
    expect(page3.data.components[0].components[1].disabled).toBe(true);
  });
});

describe('/status and /done', () => {
  it('shows counts per state and who works on what', async () => {
    const id = await createTask({ description: 'Status check task', priority: 'high' });
    await claim(id, 'agent-7');
    const res = await h.fake.slashCommand('status', {}, alice).waitForResponse();
    const embed = res.data.embeds[0];
    const field = (name: string) => embed.fields.find((f: { name: string }) => f.name === name)?.value;
    expect(field('🔨 In progress')).toBe('1');
    expect(Number(field('⏳ Pending'))).toBeGreaterThan(0);
    const agents = embed.fields.find((f: { name: string }) => f.name.startsWith('Agents'));
    expect(agents.value).toContain('**agent-7** — working on #' + id);
  });

  it('lists recently completed tasks with who did them and their notes', async () => {
    const id = await createTask({ description: 'Ship the release', priority: 'high' });
    const token = await claim(id, 'agent-9');
    expect((await h.api('POST', `/api/tasks/${id}/complete`, { lease_token: token, notes: 'Tagged v1.2.0 and pushed' })).status).toBe(200);
    const res = await h.fake.slashCommand('done', { limit: 3 }, alice).waitForResponse();
    const embed = res.data.embeds[0];
    expect(embed.title).toBe('✅ Recently completed (1)');
    expect(embed.description).toContain(`**#${id}** Ship the release — agent-9`);
    expect(embed.description).toContain('> Tagged v1.2.0 and pushed');
  });
});

describe('/pause and /resume', () => {
  it('are refused without the admin role; with it they pause and resume claims, saying who and why', async () => {
    const refused = await h.fake.slashCommand('pause', { reason: 'mine' }, bob).waitForResponse();
    expect(refused.data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(refused.data.content).toBe('❌ Only members with the athena-admin role can use /pause');
    expect((await h.api('GET', '/api/queue/pauses')).json.pauses).toEqual([]);

    const paused = await h.fake.slashCommand('pause', { scope: 'label:db', reason: 'migrating' }, admin()).waitForResponse();
    expect(paused.data.embeds[0].description).toBe('⏸️ **label:db** paused by @carol: migrating. Agents get no work there until `/resume`.');
    expect((await h.api('GET', '/api/queue/pauses')).json.pauses).toEqual([expect.objectContaining({ scope: 'label:db', paused_by: '@carol', reason: 'migrating' })]);
    expect((await h.fake.slashCommand('resume', { scope: 'label:db' }, bob).waitForResponse()).data.content).toMatch(/can use \/resume/);
    const resumed = await h.fake.slashCommand('resume', { scope: 'label:db' }, admin()).waitForResponse();
    expect(resumed.data.embeds[0].description).toBe('▶️ **label:db** resumed by @carol.');
    expect((await h.api('GET', '/api/queue/pauses')).json.pauses).toEqual([]);
    const bad = await h.fake.slashCommand('pause', { scope: 'db' }, admin()).waitForResponse();
    expect(bad.data.content).toMatch(/^❌ scope must be/);
  });
});

describe('/schedule', () => {
  it('is refused without the admin role; with it, add, list, pause, resume and remove a schedule', async () => {
    const refused = await h.fake.slashCommand('schedule', { cron: '@daily', description: 'mine' }, { ...bob, subcommand: 'add' }).waitForResponse();
    expect(refused.data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(refused.data.content).toBe('❌ Only members with the athena-admin role can use /schedule');
    expect((await h.api('GET', '/api/schedules')).json.schedules).toEqual([]);

    const added = await h.fake.slashCommand('schedule', { cron: '0 9 * * 1-5', description: 'Update dependencies', labels: 'deps, npm', project: 'web', time_zone: 'Europe/Berlin', missed: 'once' }, { ...admin(), subcommand: 'add' }).waitForResponse();
    const [s] = (await h.api('GET', '/api/schedules')).json.schedules;
    expect(s).toMatchObject({ cron: '0 9 * * 1-5', description: 'Update dependencies', labels: ['deps', 'npm'], project: 'web', time_zone: 'Europe/Berlin', missed: 'once', overlap: false, created_by: '@carol' });
    expect(added.data.embeds[0].description).toBe(`🔁 Schedule **#${s.id}** added by @carol: \`0 9 * * 1-5\` (Europe/Berlin), next <t:${Date.parse(s.next_run_at) / 1000}:f>.`);

    const listed = await h.fake.slashCommand('schedule', {}, { ...admin(), subcommand: 'list' }).waitForResponse();
    expect(listed.data.embeds[0].description).toContain(`**#${s.id}** \`0 9 * * 1-5\` (Europe/Berlin) — Update dependencies · next <t:`);

    const paused = await h.fake.slashCommand('schedule', { schedule_id: s.id }, { ...admin(), subcommand: 'pause' }).waitForResponse();
    expect(paused.data.embeds[0].description).toBe(`⏸️ Schedule **#${s.id}** paused by @carol.`);
    expect((await h.api('GET', `/api/schedules/${s.id}`)).json.schedule.paused).toBe(true);
    const resumed = await h.fake.slashCommand('schedule', { schedule_id: s.id, resume: true }, { ...admin(), subcommand: 'pause' }).waitForResponse();
    expect(resumed.data.embeds[0].description).toMatch(new RegExp(`^▶️ Schedule \\*\\*#${s.id}\\*\\* resumed by @carol, next <t:\\d+:f>\\.$`));

    const bad = await h.fake.slashCommand('schedule', { cron: '0 9 * *', description: 'x' }, { ...admin(), subcommand: 'add' }).waitForResponse();
    expect(bad.data.content).toMatch(/^❌ cron: /);
    const badZone = await h.fake.slashCommand('schedule', { cron: '@daily', description: 'x', time_zone: 'Mars/Base' }, { ...admin(), subcommand: 'add' }).waitForResponse();
    expect(badZone.data.content).toMatch(/^❌ time_zone: /);

    const removed = await h.fake.slashCommand('schedule', { schedule_id: s.id }, { ...admin(), subcommand: 'remove' }).waitForResponse();
    expect(removed.data.embeds[0].description).toBe(`🗑️ Schedule **#${s.id}** removed by @carol; the tasks it created stay.`);
    expect((await h.api('GET', '/api/schedules')).json.schedules).toEqual([]);
    const gone = await h.fake.slashCommand('schedule', { schedule_id: s.id }, { ...admin(), subcommand: 'remove' }).waitForResponse();
    expect(gone.data.content).toMatch(/^❌ Schedule \d+ not found/);
  });
});

describe('/priority, /cancel, /retry and /answer', () => {
  it('lets the submitter change the priority of their own task', async () => {
    const res = await h.fake.slashCommand('task', { description: 'Alice owns this' }, alice).waitForResponse();
    const id = Number(res.data.embeds[0].fields[0].value.slice(1));
    const changed = await h.fake.slashCommand('priority', { task_id: id, level: 'low' }, alice).waitForResponse();
    expect(changed.data.flags ?? 0).toBe(0);
    expect(changed.data.embeds[0].description).toBe(`Priority of task **#${id}** is now 🟢 Low.`);
    expect((await getTask(id)).priority).toBe('low');
  });

  it('refuses others without the admin role, and lets the role through', async () => {
    const res = await h.fake.slashCommand('task', { description: 'Only alice or admins' }, alice).waitForResponse();
    const id = Number(res.data.embeds[0].fields[0].value.slice(1));

    const refused = await h.fake.slashCommand('cancel', { task_id: id }, bob).waitForResponse();
    expect(refused.data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(refused.data.content).toBe(`❌ Only members with the athena-admin role or the task's submitter can cancel task #${id}`);
    const refusedPriority = await h.fake.slashCommand('priority', { task_id: id, level: 'high' }, bob).waitForResponse();
    expect(refusedPriority.data.content).toMatch(/can change the priority of task/);
    expect((await getTask(id))).toMatchObject({ status: 'pending', priority: 'medium' });

    const done = await h.fake.slashCommand('cancel', { task_id: id, reason: 'duplicate' }, admin()).waitForResponse();
    expect(done.data.embeds[0].description).toBe(`🛑 Cancelled task **#${id}**: Only alice or admins`);
    expect((await getTask(id)).status).toBe('cancelled');
    const log = (await h.api('GET', `/api/tasks/${id}`)).json.logs.at(-1);
    expect(log).toMatchObject({ action: 'cancelled', details: 'by @carol: duplicate' });
  });

  it('answers errors from the core with a clear ephemeral message', async () => {
    const missing = await h.fake.slashCommand('cancel', { task_id: 99999 }, admin()).waitForResponse();
    expect(missing.data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(missing.data.content).toBe('❌ Task #99999 not found');

    const id = await createTask({ description: 'Already finished' });
    const token = await claim(id, 'agent-2');
    await h.api('POST', `/api/tasks/${id}/complete`, { lease_token: token });
    const finished = await h.fake.slashCommand('cancel', { task_id: id }, admin()).waitForResponse();
    expect(finished.data.content).toBe(`❌ Cannot cancel task #${id}: it is completed`);
  });

  it('/retry puts a failed task back in the queue', async () => {
    const id = await createTask({ description: 'Flaky job', max_attempts: 1 });
    const token = await claim(id, 'agent-3');
    await h.api('POST', `/api/tasks/${id}/fail`, { lease_token: token, error: 'network down' });
    expect((await getTask(id)).status).toBe('failed');
    const res = await h.fake.slashCommand('retry', { task_id: id }, admin()).waitForResponse();
    expect(res.data.embeds[0].description).toBe(`🔁 Task **#${id}** is back in the queue: Flaky job`);
    expect((await getTask(id)).status).toBe('pending');
  });

  it('/answer hands the answer back to the agent (the admin role is needed, as over REST)', async () => {
    const id = await createTask({ description: 'Needs a decision', priority: 'high' });
    const token = await claim(id, 'agent-4');
    await h.api('POST', `/api/tasks/${id}/ask`, { lease_token: token, question: 'Postgres or SQLite?' });
    const refused = await h.fake.slashCommand('answer', { task_id: id, text: 'Postgres' }, bob).waitForResponse();
    expect(refused.data.content).toBe('❌ Only members with the athena-admin role can use /answer');
    const res = await h.fake.slashCommand('answer', { task_id: id, text: 'Postgres' }, admin()).waitForResponse();
    const embed = res.data.embeds[0];
    expect(embed.title).toBe(`💬 Answered task #${id}`);
    expect(embed.fields).toEqual([
      { name: 'Question', value: 'Postgres or SQLite?' },
      { name: 'Answer', value: 'Postgres' },
    ]);
    expect(await getTask(id)).toMatchObject({ status: 'in_progress', answer: 'Postgres' });

    const again = await h.fake.slashCommand('answer', { task_id: id, text: 'MySQL' }, admin()).waitForResponse();
    expect(again.data.content).toBe(`❌ Cannot answer task #${id}: it is in_progress`);
  });

  it('/athena lists every command, only to the asker', async () => {
    const res = await h.fake.slashCommand('athena', {}, bob).waitForResponse();
    expect(res.data.flags & EPHEMERAL).toBe(EPHEMERAL);
    const text = res.data.embeds[0].description as string;
    for (const name of ['task', 'queue', 'status', 'done', 'priority', 'cancel', 'retry', 'answer', 'athena']) expect(text).toContain(`\`/${name}`);
    expect(res.data.embeds[0].fields.map((f: { name: string }) => f.name)).toContain('Permissions');
  });
});

describe('buttons', () => {
  it('Raise priority and Cancel on the queued notification act on that task, with the same permission rule', async () => {
    const id = await createTask({ description: 'Button target', priority: 'low', submitted_by: 'discord:dave' });
    // Submitted as a Discord user: the notifier leaves its announcement to /task, so post one here.
    const other = await createTask({ description: 'Button target from the API', priority: 'low' });
    const notice = await queuedNotice(other);
    expect(notice.components[0].components.map((c: { custom_id: string }) => c.custom_id)).toEqual([`athena:cancel:${other}`, `athena:raise:${other}`]);
    expect(h.fake.channelMessages('claude-tasks').some((m) => m.embeds[0]?.fields?.[0]?.value === `#${id}` && m.embeds[0]?.title === '📋 Task Queued')).toBe(false);

    const refused = await h.fake.button(`athena:raise:${other}`, bob).waitForResponse();
    expect(refused.data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(refused.data.content).toMatch(/Only members with the athena-admin role/);

    const raised = await h.fake.button(`athena:raise:${other}`, admin()).waitForResponse();
    expect(raised.data.content).toBe(`⬆️ Task #${other} is now 🟡 Medium.`);
    expect(raised.data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect((await getTask(other)).priority).toBe('medium');

    const cancelled = await h.fake.button(`athena:cancel:${other}`, admin()).waitForResponse();
    expect(cancelled.data.content).toBe(`🛑 Task #${other} cancelled.`);
    expect((await getTask(other)).status).toBe('cancelled');

    const twice = await h.fake.button(`athena:cancel:${other}`, admin()).waitForResponse();
    expect(twice.data.content).toBe(`❌ Cannot cancel task #${other}: it is cancelled`);
  });

  it('Retry on the failure notification requeues the task', async () => {
    const id = await createTask({ description: 'Will fail once', max_attempts: 1 });
    const token = await claim(id, 'agent-5');
    await h.api('POST', `/api/tasks/${id}/fail`, { lease_token: token, error: 'tests are red' });
    await eventually(() => findCustomId(`athena:retry:${id}`), 15_000, 'the Retry button');
    const res = await h.fake.button(`athena:retry:${id}`, admin()).waitForResponse();
    expect(res.data.content).toBe(`🔁 Task #${id} is back in the queue.`);
    expect((await getTask(id)).status).toBe('pending');
  });

  it('answers a button it does not know without touching anything', async () => {
    const res = await h.fake
      .dispatchInteraction({ type: 3, data: { custom_id: 'someone-else:1', component_type: 2 }, message: h.fake.channelMessages('claude-tasks').at(-1) }, bob)
      .waitForResponse();
    expect(res.data.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(res.data.content).toMatch(/no longer supported/);
  });
});

function findCustomId(customId: string): boolean {
  const all = [...h.fake.state.messages.values()].flat();
  return all.some((m) => JSON.stringify(m.components ?? []).includes(`"${customId}"`));
}

describe('autocomplete', () => {
  it('offers pending and in-progress tasks for /cancel, matching typed digits or words', async () => {
    const id = await createTask({ description: 'Autocomplete me please', priority: 'high' });
    const byWord = await h.fake.autocomplete('cancel', [{ name: 'task_id', value: 'autocomplete', focused: true }], bob).waitForResponse();
    expect(byWord.type).toBe(8);
    expect(byWord.data.choices).toEqual([{ name: `#${id} 🔴 pending · Autocomplete me please`, value: id }]);

    const byDigits = await h.fake.autocomplete('cancel', [{ name: 'task_id', value: String(id), focused: true }], bob).waitForResponse();
    expect(byDigits.data.choices.map((c: { value: number }) => c.value)).toContain(id);
    for (const choice of byDigits.data.choices) expect(String(choice.value).startsWith(String(id))).toBe(true);

    const all = await h.fake.autocomplete('cancel', [{ name: 'task_id', value: '', focused: true }], bob).waitForResponse();
    expect(all.data.choices.length).toBeGreaterThan(1);
    expect(all.data.choices.length).toBeLessThanOrEqual(25);
    expect(all.data.choices.every((c: { name: string }) => /pending|in progress|needs input|blocked/.test(c.name))).toBe(true);
  });

  it('offers only tasks waiting for input for /answer, and only failed ones for /retry', async () => {
    const id = await createTask({ description: 'Question pending', priority: 'high' });
    const token = await claim(id, 'agent-6');
    await h.api('POST', `/api/tasks/${id}/ask`, { lease_token: token, question: 'Which branch?' });
    const answer = await h.fake.autocomplete('answer', [{ name: 'task_id', value: '', focused: true }], admin()).waitForResponse();
    expect(answer.data.choices).toEqual([{ name: `#${id} 🔴 needs input · Question pending`, value: id }]);
    const retry = await h.fake.autocomplete('retry', [{ name: 'task_id', value: '', focused: true }], bob).waitForResponse();
    expect(retry.data.choices).toEqual([]);
  });
});
