// Editing a task over REST (PATCH, strict bodies), deleting and reopening it, on both backends.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestApp, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/stores.js';
import type { TaskEvent } from '../../src/core/types.js';

describe.each(backends)('editing, deleting and reopening tasks on $name', (backend) => {
  let t: TestApp;
  let events: TaskEvent[];
  beforeEach(async () => {
    t = await openTestApp(backend);
    events = [];
    t.bus.subscribe((e) => events.push(e));
  });
  afterEach(async () => t.close());

  const create = async (body: Record<string, unknown>) => (await t.call('POST', '/api/tasks', body)).json.task;
  const claim = async (id: number, instance = 'a1') => (await t.call('POST', `/api/tasks/${id}/claim`, { instance_id: instance })).json;
  const logs = async (id: number) => (await t.call('GET', `/api/tasks/${id}`)).json.logs as Array<{ action: string; details: string }>;

  it('PATCH edits the description and says who changed what, old -> new, with an event', async () => {
    await create({ description: 'first words' });
    const res = await t.call('PATCH', '/api/tasks/1', { description: 'edited', by: 'alice' });
    expect(res.status).toBe(200);
    expect(res.json.task.description).toBe('edited');
    expect(res.json.changes).toEqual([{ field: 'description', old: 'first words', new: 'edited' }]);
    const edited = (await logs(1)).find((l) => l.action === 'edited')!;
    expect(edited.details).toBe('by alice: description: "first words" -> "edited"');
    expect(events.map((e) => e.type)).toContain('edited');
    expect(events.find((e) => e.type === 'edited')!.task!.description).toBe('edited');
  });

  it('a misspelt field is a 400 naming it, on PATCH and on every other body', async () => {
    await create({ description: 'one' });
    const res = await t.call('PATCH', '/api/tasks/1', { descripton: 'x' });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('VALIDATION_ERROR');
    expect(res.json.error).toContain('descripton');
    for (const [path, body] of [
      ['/api/tasks', { description: 'x', priorty: 'high' }],
      ['/api/tasks/1/claim', { instance_id: 'a1', lease_secs: 10 }],
      ['/api/tasks/claim-next', { instance_id: 'a1', label: ['x'] }],
      ['/api/tasks/1/cancel', { reasn: 'x' }],
      ['/api/tasks/1/comments', { body: 'x', autor: 'me' }],
    ] as const) {
      const refused = await t.call('POST', path, body);
      expect(refused.status, path).toBe(400);
      expect(refused.json.error, path).toMatch(/priorty|lease_secs|label|reasn|autor/);
    }
    expect((await t.call('GET', '/api/tasks/1')).json.task).toMatchObject({ description: 'one', status: 'pending' });
  });

  it('the original PATCH with priority only still answers as before', async () => {
    await create({ description: 'one' });
    const res = await t.call('PATCH', '/api/tasks/1', { priority: 'high' });
    expect(res.json).toMatchObject({ status: 'pending', task_id: 1, priority: 'high' });
    expect((await logs(1)).at(-1)!.details).toBe('by api: priority: "medium" -> "high"');
  });

  it('edits labels, project, notes, max_attempts, run_after and the assignee; an unchanged field is not logged', async () => {
    await create({ description: 'one', labels: ['a'] });
    const later = new Date(t.clock.now + 3_600_000).toISOString();
    const res = await t.call('PATCH', '/api/tasks/1', { labels: ['b', 'c'], project: 'web', notes: 'see #2', max_attempts: 5, run_after: later, assignee: 'bot-7', description: 'one' });
    expect(res.status).toBe(200);
    expect(res.json.task).toMatchObject({ labels: ['b', 'c'], project: 'web', notes: 'see #2', max_attempts: 5, run_after: later, assignee: 'bot-7' });
    expect(res.json.changes.map((c: { field: string }) => c.field).sort()).toEqual(['assignee', 'labels', 'max_attempts', 'notes', 'project', 'run_after']);
    expect(res.json.warnings).toEqual([expect.stringContaining('bot-7')]);
    // The labels table follows: only an agent serving b and c (and named bot-7) may claim it, after run_after.
    t.clock.advance(3_600_000);
    expect((await t.call('POST', '/api/tasks/claim-next', { instance_id: 'bot-7', labels: ['a'] })).json.task).toBeNull();
    expect((await t.call('POST', '/api/tasks/claim-next', { instance_id: 'bot-7', labels: ['b', 'c'] })).json.task.id).toBe(1);
  });

  it('replacing dependencies checks them and unblocks a task no longer blocked', async () => {
    await create({ description: 'dep' });
    await create({ description: 'other' });
    await create({ description: 'child', depends_on: [1] });
    await t.call('POST', '/api/tasks/1/cancel');
    expect((await t.call('GET', '/api/tasks/3')).json.task.status).toBe('blocked');
    expect((await t.call('PATCH', '/api/tasks/3', { depends_on: [9] })).json.code).toBe('UNKNOWN_DEPENDENCY');
    expect((await t.call('PATCH', '/api/tasks/3', { depends_on: [3] })).json.code).toBe('DEPENDENCY_CYCLE');
    const res = await t.call('PATCH', '/api/tasks/3', { depends_on: [2] });
    expect(res.json.task).toMatchObject({ status: 'pending', depends_on: [2], blocked_reason: null });
    expect((await t.call('PATCH', '/api/tasks/2', { depends_on: [3] })).json.code).toBe('DEPENDENCY_CYCLE');
  });

  it('a finished task is not edited (409 NOT_EDITABLE); a held one keeps its dependencies', async () => {
    await create({ description: 'one' });
    await create({ description: 'two' });
    await t.call('POST', '/api/tasks/1/cancel');
    const res = await t.call('PATCH', '/api/tasks/1', { description: 'late' });
    expect(res.status).toBe(409);
    expect(res.json.code).toBe('NOT_EDITABLE');
    await claim(2);
    const held = await t.call('PATCH', '/api/tasks/2', { depends_on: [1] });
    expect(held.status).toBe(409);
    expect(held.json).toMatchObject({ code: 'NOT_EDITABLE', details: { field: 'depends_on' } });
  });

  it('a running task\'s new description is flagged to its agent at the next heartbeat, once', async () => {
    await create({ description: 'old text' });
    const { lease_token } = await claim(1);
    const quiet = await t.call('POST', '/api/tasks/1/heartbeat', { lease_token });
    expect(quiet.json).toMatchObject({ description_changed: false, new_comments: [] });
    await t.call('PATCH', '/api/tasks/1', { description: 'new text' });
    const told = await t.call('POST', '/api/tasks/1/heartbeat', { lease_token });
    expect(told.json).toMatchObject({ description_changed: true, task: { description: 'new text' } });
    expect((await t.call('POST', '/api/tasks/1/heartbeat', { lease_token })).json.description_changed).toBe(false);
  });

  it('DELETE removes a task; twice is 404; a held one needs force, which fences its agent', async () => {
    await create({ description: 'one' });
    await create({ description: 'two' });
    const gone = await t.call('DELETE', '/api/tasks/1');
    expect(gone.json).toMatchObject({ status: 'deleted', task_id: 1 });
    expect(events.at(-1)).toMatchObject({ type: 'deleted', taskId: 1 });
    expect((await t.call('GET', '/api/tasks/1')).status).toBe(404);
    const again = await t.call('DELETE', '/api/tasks/1');
    expect(again.status).toBe(404);
    expect(again.json.code).toBe('NOT_FOUND');

    const { lease_token } = await claim(2);
    const held = await t.call('DELETE', '/api/tasks/2');
    expect(held.status).toBe(409);
    expect(held.json.code).toBe('TASK_HELD');
    expect((await t.call('DELETE', '/api/tasks/2?force=true')).status).toBe(200);
    const fenced = await t.call('POST', '/api/tasks/2/heartbeat', { lease_token });
    expect(fenced.status).toBe(404);
  });

  it('a task others depend on: 409 HAS_DEPENDANTS unless forced, which blocks them', async () => {
    await create({ description: 'base' });
    await create({ description: 'needs base', depends_on: [1] });
    const refused = await t.call('DELETE', '/api/tasks/1');
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ code: 'HAS_DEPENDANTS', details: { dependants: [2] } });
    await t.call('DELETE', '/api/tasks/1?force=true');
    expect((await t.call('GET', '/api/tasks/2')).json.task).toMatchObject({ status: 'blocked', blocked_reason: 'dependency #1 was deleted' });
  });

  it('reopen moves a completed, cancelled or failed task back to pending with a fresh budget and a reason', async () => {
    await create({ description: 'done once', max_attempts: 1 });
    const { lease_token } = await claim(1);
    await t.call('POST', '/api/tasks/1/complete', { lease_token });
    const res = await t.call('POST', '/api/tasks/1/reopen', { reason: 'the fix regressed', by: 'bob' });
    expect(res.json.task).toMatchObject({ status: 'pending', attempts: 0, completed_at: null, instance_id: null });
    expect((await logs(1)).at(-1)).toMatchObject({ action: 'reopened', details: 'by bob: the fix regressed' });
    const notFinished = await t.call('POST', '/api/tasks/1/reopen');
    expect(notFinished.status).toBe(409);
    expect(notFinished.json.code).toBe('CONFLICT');
    await t.call('POST', '/api/tasks/1/cancel');
    expect((await t.call('POST', '/api/tasks/1/reopen')).json.task.status).toBe('pending');
    expect((await claim(1)).task.attempts).toBe(1);
  });
});
