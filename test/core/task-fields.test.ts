// A task's fields are declared once (core/task-fields.ts): the declaration matches the tasks table,
// and every declared field goes through the store and out as JSON unchanged, on both backends.
import { afterEach, describe, expect, it } from 'vitest';
import { TASK_COLUMNS, TASK_FIELDS, type FieldType } from '../../src/core/task-fields.js';
import { iso, taskJson, taskJsonSchema } from '../../src/core/task-json.js';
import type { Task } from '../../src/core/types.js';
import { backends, openTestQueue, type TestQueue } from '../helpers/stores.js';

let t: TestQueue | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const AT = Date.UTC(2026, 4, 6, 7, 8, 9, 10);

/** A value of each type that differs from every column default, so a field that is not written shows. */
function sample(type: FieldType, index: number): unknown {
  const values: Record<FieldType, unknown> = {
    // The column default is false.
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
  return values[type];
}

describe.each(backends)('task fields on $name', (backend) => {
  it('declares exactly the columns of the tasks table', async () => {
    t = await openTestQueue(backend);
    const columns = (await t.db.all<{ name: string }>(t.db.dialect.columnNames, ['tasks'])).map((c) => c.name);
    expect([...TASK_COLUMNS].sort()).toEqual([...columns].sort());
  });

  it('stores, reads and serializes every declared field of a task', async () => {
    t = await openTestQueue(backend);
    const base = await t.queue.create({ description: 'the dependency' });
    const task = Object.fromEntries(TASK_FIELDS.filter((f) => f.inTask).map((f, i) => [f.name, sample(f.type, i)])) as unknown as Task;
    task.id = base.task.id + 1;
    task.dependsOn = [base.task.id];
    // Import writes every declared field of the domain's Task; it needs an empty queue.
    const dump = await t.store.exportAll();
    const leaseToken = 'token of the lease';
    await t.db.run('DELETE FROM tasks');
    expect(await t.store.importAll({ ...dump, tasks: [{ ...dump.tasks[0]!, leaseToken: null }, { ...task, leaseToken }], logs: [], instances: [] }, AT)).toMatchObject({ ok: true });

    const read = await t.store.getTaskWithLease(task.id);
    expect(read).toEqual({ task, leaseToken });

    const json = taskJsonSchema.strict().parse(taskJson(read!.task));
    for (const field of TASK_FIELDS) {
      if (field.json === null) {
        expect(Object.keys(json)).not.toContain(field.column);
        continue;
      }
      const value = (task as Record<string, unknown>)[field.name];
      const expected = field.type === 'time' || field.type === 'timeOrNone' ? iso(value as number) : value;
      expect([field.json, (json as Record<string, unknown>)[field.json]]).toEqual([field.json, expected]);
    }
  });

  it('answers a created task with exactly the declared JSON keys, in the declared order', async () => {
    t = await openTestQueue(backend);
    const { task } = await t.queue.create({ description: 'a task', labels: ['b', 'a'] });
    const json = taskJson(task);
    expect(Object.keys(json)).toEqual(TASK_FIELDS.flatMap((f) => (f.json === null ? [] : [f.json])));
    expect(taskJsonSchema.strict().parse(json)).toEqual(json);
    expect(json).toMatchObject({ labels: ['a', 'b'], depends_on: [], run_after: null, result: null, status: 'pending' });
  });
});
