// The export carries every declared field of a task (core/task-fields.ts) and the import restores each
// one, through the API, on both backends; exports written before later fields existed still import.
import { afterEach, describe, expect, it } from 'vitest';
import { EXPORTED_FIELDS, TASK_FIELDS, type FieldType, type TaskField } from '../../src/core/task-fields.js';
import { PRIORITY_RANK } from '../../src/core/types.js';
import { backends } from '../helpers/stores.js';
import { openTestApp, type TestApp } from '../helpers/app.js';

const opened: TestApp[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
});

async function open(backend: (typeof backends)[number]): Promise<TestApp> {
  const t = await openTestApp(backend);
  opened.push(t);
  return t;
}

const AT = Date.UTC(2026, 4, 6, 7, 8, 9, 10);

/** The fields of the first export format; every field added since must declare an importDefault. */
const FIRST_EXPORT_FIELDS = [
  'id', 'description', 'status', 'priority', 'instanceId', 'instanceName', 'createdAt', 'claimedAt', 'completedAt',
  'updatedAt', 'notes', 'submittedBy', 'project', 'labels', 'dependsOn', 'attempts', 'maxAttempts', 'runAfter',
  'leaseExpiresAt', 'leaseToken', 'result', 'error', 'question', 'answer', 'blockedReason', 'idempotencyKey',
];

/** A value for each field that differs from every column default, so a field that is not carried shows. */
function sample(field: TaskField, index: number): unknown {
  if (field.name === 'descriptionUnseen') return 1; // a flag: 0 or 1
  const values: Record<FieldType, unknown> = {
    boolean: true,
    integer: 7 + index,
    text: `value of field ${index}`,
    time: AT + index,
    timeOrNone: AT + index,
    json: { field: index, nested: ['x', null, true] },
    status: 'needs_input',
    priority: 'low',
    labels: ['gpu', 'linux'],
    ids: [1],
  };
  return values[field.type];
}

/** Two tasks: #1 with defaults (the dependency), #2 with a non-default value in every exported field. */
async function seed(t: TestApp): Promise<Record<string, unknown>> {
  await t.queue.create({ description: 'the dependency' });
  const dump = await t.store.exportAll();
  const task = Object.fromEntries(EXPORTED_FIELDS.map((f, i) => [f.name, sample(f, i)]));
  Object.assign(task, { id: 2, dependsOn: [1] });
  await t.db.run('DELETE FROM tasks');
  expect(await t.store.importAll({ ...dump, tasks: [dump.tasks[0]!, task as never], logs: [] }, AT)).toMatchObject({ ok: true });
  return task;
}

describe.each(backends)('export and import on $name', (backend) => {
  it('every declared field but the derived ones goes out in the export and comes back from the import', async () => {
    // The declaration has fields that only derive from others, and everything else is exported.
    expect(TASK_FIELDS.filter((f) => !EXPORTED_FIELDS.includes(f)).map((f) => f.stored)).toEqual(['derived', 'derived', 'derived', 'derived']);
    const source = await open(backend);
    const task = await seed(source);

    const first = await source.call('GET', '/api/export');
    expect(first.status).toBe(200);
    expect(Object.keys(first.json.tasks[1])).toEqual(EXPORTED_FIELDS.map((f) => f.name));
    expect(first.json.tasks[1]).toEqual(task);

    const target = await open(backend);
    expect((await target.call('POST', '/api/import', first.json)).json).toEqual({ tasks: 2, logs: first.json.logs.length, schedules: 0 });
    const second = await target.call('GET', '/api/export');
    expect(second.json.tasks).toEqual(first.json.tasks);
    // The rank derived from the priority was written too.
    const ranks = await target.db.all<{ priority_rank: number }>('SELECT priority_rank FROM tasks ORDER BY id');
    expect(ranks.map((r) => Number(r.priority_rank))).toEqual([PRIORITY_RANK.medium, PRIORITY_RANK.low]);
  });

  it('an export from before the later fields existed imports, each missing field taking its declared default', async () => {
    const added = EXPORTED_FIELDS.filter((f) => !FIRST_EXPORT_FIELDS.includes(f.name));
    expect(added.filter((f) => !f.importDefault).map((f) => f.name), 'fields added after the first export format need an importDefault').toEqual([]);

    const source = await open(backend);
    const task = await seed(source);
    const exported = (await source.call('GET', '/api/export')).json;
    const old = {
      ...exported,
      tasks: exported.tasks.map((x: Record<string, unknown>) => Object.fromEntries(FIRST_EXPORT_FIELDS.map((name) => [name, x[name]]))),
    };
    delete old.comments;
    delete old.schedules;
    delete old.scheduleRuns;

    const target = await open(backend);
    const imported = await target.call('POST', '/api/import', old);
    expect(imported.status, JSON.stringify(imported.json)).toBe(200);
    const back = (await target.call('GET', '/api/export')).json.tasks[1];
    const expected = Object.fromEntries(
      EXPORTED_FIELDS.map((f) => [f.name, FIRST_EXPORT_FIELDS.includes(f.name) ? task[f.name] : f.importDefault!(task)]),
    );
    expect(back).toEqual(expected);
    // Runs were not counted before: each claim was an attempt.
    expect(back.runs).toBe(task.attempts);
  });

  it('refuses an export that lacks a field without a default, or has one the declaration does not know', async () => {
    const source = await open(backend);
    await seed(source);
    const exported = (await source.call('GET', '/api/export')).json;
    const target = await open(backend);
    const { description: _, ...withoutDescription } = exported.tasks[1];
    const missing = await target.call('POST', '/api/import', { ...exported, tasks: [exported.tasks[0], withoutDescription] });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toMatch(/description/);
    const unknown = await target.call('POST', '/api/import', { ...exported, tasks: [exported.tasks[0], { ...exported.tasks[1], colour: 'red' }] });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatch(/colour/);
    expect((await target.call('GET', '/api/tasks')).json.tasks).toEqual([]);
  });

  it('schedules and their runs go out in the export and come back, so a restored schedule runs no occurrence twice', async () => {
    const source = await open(backend);
    const added = await source.call('POST', '/api/schedules', {
      cron: '0 9 * * 1-5', time_zone: 'Europe/Berlin', description: 'Update dependencies', labels: ['deps'], project: 'web', missed: 'once', overlap: true, until: '2099-01-01T00:00:00Z',
    });
    expect(added.status, JSON.stringify(added.json)).toBe(201);
    const id = added.json.schedule.id;
    expect((await source.call('POST', `/api/schedules/${id}/run`)).status).toBe(201);
    expect((await source.call('POST', `/api/schedules/${id}/pause`)).status).toBe(200);
    const exported = (await source.call('GET', '/api/export')).json;
    expect(exported.schedules).toHaveLength(1);
    expect(exported.schedules[0]).toMatchObject({ id, cron: '0 9 * * 1-5', timeZone: 'Europe/Berlin', paused: true, template: { description: 'Update dependencies', labels: ['deps'] } });
    expect(exported.scheduleRuns).toEqual([expect.objectContaining({ scheduleId: id, outcome: 'manual', taskId: exported.tasks[0].id })]);

    const target = await open(backend);
    expect((await target.call('POST', '/api/import', exported)).json).toMatchObject({ tasks: 1, schedules: 1 });
    const back = (await target.call('GET', '/api/export')).json;
    expect(back.schedules).toEqual(exported.schedules);
    expect(back.scheduleRuns).toEqual(exported.scheduleRuns);
    expect((await target.call('GET', '/api/schedules')).json.schedules[0]).toMatchObject({ id, paused: true, description: 'Update dependencies', labels: ['deps'] });
    // New schedules take ids after the imported ones.
    const next = await target.call('POST', '/api/schedules', { cron: '@daily', description: 'another' });
    expect(next.json.schedule.id).toBe(id + 1);

    // A queue that already has a schedule is not empty.
    const busy = await open(backend);
    await busy.call('POST', '/api/schedules', { cron: '@hourly', description: 'mine' });
    const refused = await busy.call('POST', '/api/import', { ...exported, tasks: [], logs: [], comments: [] });
    expect(refused.status).toBe(409);
    expect(refused.json.error).toMatch(/1 schedule\(s\)/);
  });

  it('refuses schedules whose expression no longer parses, and runs of a schedule the export does not hold', async () => {
    const source = await open(backend);
    const id = (await source.call('POST', '/api/schedules', { cron: '@daily', description: 'nightly' })).json.schedule.id;
    await source.call('POST', `/api/schedules/${id}/run`);
    const exported = (await source.call('GET', '/api/export')).json;
    const target = await open(backend);
    const badCron = await target.call('POST', '/api/import', { ...exported, schedules: [{ ...exported.schedules[0], cron: '61 * * * *' }] });
    expect(badCron.status).toBe(400);
    expect(badCron.json.error).toMatch(/cron/);
    const orphan = await target.call('POST', '/api/import', { ...exported, schedules: [] });
    expect(orphan.status).toBe(400);
    expect(orphan.json.error).toMatch(/does not hold/);
    expect((await target.call('GET', '/api/tasks?status=all')).json.tasks).toEqual([]);
  });
});
