// Editing a task that has not finished: its fields, labels, dependencies and assignee, logged old -> new.
import { ConflictError, InvalidError, NotFoundError } from '../../errors.js';
import type { Store, TaskEditFields } from '../ports.js';
import { LIMITS } from '../limits.js';
import type { FieldChange, Task, TaskEvent } from '../types.js';

/** `runAfter: null`: claimable now. */
export type EditInput = Omit<TaskEditFields, 'runAfter'> & { runAfter?: number | null; by?: string | null };

/** An edit's answer: the task, what changed, and warnings (an assignee no agent has used yet). */
export type EditResult = { task: Task; changes: FieldChange[]; warnings: string[] };

/** A warning, not a refusal: an agent may be assigned work before it first connects. */
export async function assigneeWarnings(store: Store, assignee: string | null | undefined): Promise<string[]> {
  if (!assignee || (await store.instanceKnown(assignee))) return [];
  return [`assignee "${assignee}" is not a known agent instance yet; only an agent with that instance_id can claim the task`];
}

export function createEdit(store: Store, publish: (events: TaskEvent[]) => void, now: () => number) {
  return async function edit(id: number, input: EditInput): Promise<EditResult> {
    const { by, runAfter, ...rest } = input;
    const fields: TaskEditFields = { ...rest, ...(runAfter === undefined ? {} : { runAfter: runAfter ?? 0 }) };
    if (fields.description !== undefined) {
      fields.description = fields.description.trim();
      if (!fields.description) throw new InvalidError('description must not be empty');
      if (fields.description.length > LIMITS.descriptionMax) throw new InvalidError(`description is longer than ${LIMITS.descriptionMax} characters`);
    }
    if (fields.labels) fields.labels = [...new Set(fields.labels)].sort();
    if (fields.dependsOn) {
      fields.dependsOn = [...new Set(fields.dependsOn)];
      if (fields.dependsOn.includes(id)) throw new InvalidError(`Task #${id} cannot depend on itself`, { taskId: id }, 'DEPENDENCY_CYCLE');
    }
    const outcome = await store.editTask({ taskId: id, fields, by: by ?? null, now: now() });
    if (!outcome.ok) {
      switch (outcome.reason) {
        case 'not_found':
          throw new NotFoundError(`Task #${id} not found`, { taskId: id });
        case 'not_editable':
          throw outcome.field
            ? new ConflictError('NOT_EDITABLE', `Cannot change ${outcome.field} of task #${id}: it is ${outcome.current.status} (an agent is working on it)`, {
                taskId: id, status: outcome.current.status, field: outcome.field,
              })
            : new ConflictError('NOT_EDITABLE', `Cannot edit task #${id}: it is ${outcome.current.status}; reopen it first`, { taskId: id, status: outcome.current.status });
        case 'unknown_dependency':
          throw new InvalidError(`Unknown dependency id(s): ${outcome.missing.map((d) => `#${d}`).join(', ')}`, { missing: outcome.missing }, 'UNKNOWN_DEPENDENCY');
        case 'cycle':
          throw new InvalidError(`These dependencies of #${id} would create a cycle`, { taskId: id }, 'DEPENDENCY_CYCLE');
      }
    }
    publish(outcome.events);
    const assigned = outcome.changes.some((c) => c.field === 'assignee');
    return { task: outcome.task, changes: outcome.changes, warnings: assigned ? await assigneeWarnings(store, outcome.task.assignee) : [] };
  };
}
