// Assignment (only the named agent claims), claims by project, and comments over REST, on both backends.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/stores.js';
import { LIMITS } from '../../src/core/limits.js';
import { waitFor } from '../helpers/replicas.js';
import { ADMIN_KEY, openKeyedApp, type KeyedApp } from '../reliability/helpers/keyed-app.js';

describe.each(backends)('assignment, projects and comments on $name', (backend) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await openTestApp(backend);
  });
  afterEach(async () => t.close());

  const create = async (body: Record<string, unknown>) => (await t.call('POST', '/api/tasks', body)).json;
  const claimNext = async (body: Record<string, unknown>) => (await t.call('POST', '/api/tasks/claim-next', body)).json.task;

  it('an assigned task is claimed only by its agent: others skip it, a claim by id is 409 ASSIGNED', async () => {
    await t.call('POST', '/api/tasks/claim-next', { instance_id: 'bot-b' }); // bot-b is now a known instance
    const created = await create({ description: 'for b', priority: 'high', assignee: 'bot-b' });
    expect(created.task.assignee).toBe('bot-b');
    expect(created.warnings).toBeUndefined();
    await create({ description: 'for anyone' });
    expect((await claimNext({ instance_id: 'bot-a' })).id).toBe(2);
    const byId = await t.call('POST', '/api/tasks/1/claim', { instance_id: 'bot-a' });
    expect(byId.status).toBe(409);
    expect(byId.json).toMatchObject({ code: 'ASSIGNED', details: { assignee: 'bot-b' } });
    expect((await t.call('GET', '/api/tasks/next?instance_id=bot-a')).json.task).toBeNull();
    expect((await claimNext({ instance_id: 'bot-b' })).id).toBe(1);
  });

  it('an assignee no agent has used is allowed, with a warning; assignment is editable and filterable', async () => {
    const created = await create({ description: 'for later', assignee: 'ghost' });
    expect(created.warnings).toEqual([expect.stringContaining('ghost')]);
    expect((await t.call('GET', '/api/tasks?assignee=ghost')).json.tasks.map((x: { id: number }) => x.id)).toEqual([1]);
    expect(await claimNext({ instance_id: 'bot-a' })).toBeNull();
    await t.call('PATCH', '/api/tasks/1', { assignee: null });
    expect((await claimNext({ instance_id: 'bot-a' })).id).toBe(1);
  });

  it('claim-next takes a project or a list of projects', async () => {
    await create({ description: 'web', project: 'web' });
    await create({ description: 'api', project: 'api' });
    await create({ description: 'none' });
    expect((await claimNext({ instance_id: 'a', project: 'api' })).id).toBe(2);
    expect(await claimNext({ instance_id: 'b', project: ['api', 'docs'] })).toBeNull();
    expect((await claimNext({ instance_id: 'c', project: ['docs', 'web'] })).id).toBe(1);
    expect((await claimNext({ instance_id: 'd' })).id).toBe(3);
  });

  it('a long-poll for one project is woken by a task of that project only', async () => {
    const waiting = t.call('POST', '/api/tasks/claim-next', { instance_id: 'w', project: 'api', wait: 30 });
    await waitFor(() => t.waiters.size() === 1, 5000, 'the long-poll to wait');
    await create({ description: 'web', project: 'web' });
    await create({ description: 'api', project: 'api' });
    expect((await waiting).json.task.id).toBe(2);
  });

  it('comments: posted and listed with their author; the holder is told at its heartbeat', async () => {
    await create({ description: 'talk about it' });
    const claimed = (await t.call('POST', '/api/tasks/1/claim', { instance_id: 'a1' })).json;
    const posted = await t.call('POST', '/api/tasks/1/comments', { body: 'use the v2 API', by: 'carol' });
    expect(posted.status).toBe(201);
    expect(posted.json.comment).toMatchObject({ id: 1, task_id: 1, author: 'carol', body: 'use the v2 API', source: 'api' });
    await t.call('POST', '/api/tasks/1/comments', { body: 'and keep v1 working' });
    const list = await t.call('GET', '/api/tasks/1/comments');
    expect(list.json.comments.map((c: { author: string; body: string }) => `${c.author}: ${c.body}`)).toEqual(['carol: use the v2 API', 'api: and keep v1 working']);
    const beat = await t.call('POST', '/api/tasks/1/heartbeat', { lease_token: claimed.lease_token });
    expect(beat.json.new_comments.map((c: { body: string }) => c.body)).toEqual(['use the v2 API', 'and keep v1 working']);
    expect((await t.call('POST', '/api/tasks/1/heartbeat', { lease_token: claimed.lease_token })).json.new_comments).toEqual([]);
    const logged = (await t.call('GET', '/api/tasks/1')).json.logs.filter((l: { action: string }) => l.action === 'commented');
    expect(logged).toHaveLength(2);
  });

  it('bad comments: empty, over the size cap, on a missing task: each a 4xx with a code', async () => {
    await create({ description: 'x' });
    expect((await t.call('POST', '/api/tasks/1/comments', { body: '  ' })).json.code).toBe('INVALID');
    const long = await t.call('POST', '/api/tasks/1/comments', { body: 'x'.repeat(LIMITS.commentMax + 1) });
    expect(long.status).toBe(400);
    expect(long.json.code).toBe('INVALID');
    expect((await t.call('POST', '/api/tasks/9/comments', { body: 'hi' })).json.code).toBe('NOT_FOUND');
    expect((await t.call('GET', '/api/tasks/9/comments')).json.code).toBe('NOT_FOUND');
  });
});

describe.each(backends)('who may edit, delete, reopen and comment on $name', (backend) => {
  let k: KeyedApp;
  beforeEach(async () => {
    k = await openKeyedApp(backend);
  });
  afterEach(async () => k.close());

  it('reader and agent keys may not edit, delete or reopen; an agent comments only on its own task, under its id', async () => {
    const reader = await k.issue('reader', 'dashboard-viewer');
    const agent = await k.issue('agent', 'bot-1', 'bot-1');
    await k.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'one' });
    await k.call(ADMIN_KEY, 'POST', '/api/tasks', { description: 'two' });
    for (const key of [reader, agent]) {
      expect((await k.call(key, 'PATCH', '/api/tasks/1', { description: 'x' })).status).toBe(403);
      expect((await k.call(key, 'DELETE', '/api/tasks/1')).status).toBe(403);
      expect((await k.call(key, 'POST', '/api/tasks/1/reopen', {})).status).toBe(403);
    }
    expect((await k.call(reader, 'POST', '/api/tasks/1/comments', { body: 'hi' })).status).toBe(403);
    const notMine = await k.call(agent, 'POST', '/api/tasks/1/comments', { body: 'hi' });
    expect(notMine.status).toBe(403);
    expect(notMine.json.code).toBe('FORBIDDEN');
    await k.call(agent, 'POST', '/api/tasks/1/claim', {});
    const mine = await k.call(agent, 'POST', '/api/tasks/1/comments', { body: 'working on it', by: 'someone else' });
    expect(mine.status).toBe(201);
    expect(mine.json.comment).toMatchObject({ author: 'bot-1', source: 'agent' });
    // Admins name the person (the dashboard's signed-in name); others cannot.
    const byAdmin = await k.call(ADMIN_KEY, 'PATCH', '/api/tasks/2', { description: 'two, edited', by: 'Rosa' });
    expect(byAdmin.json.changes).toHaveLength(1);
    expect((await k.call(ADMIN_KEY, 'GET', '/api/tasks/2')).json.logs.at(-1).details).toMatch(/^by Rosa: /);
  });
});
