// The task as the API sends it (snake_case keys, ISO 8601 times), derived from task-fields.ts: the
// serializer, its zod schema and the TypeScript type clients use.
import { z } from 'zod';
import { FIELD_VALUES, TASK_FIELDS, type FieldType } from './task-fields.js';
import type { Task } from './types.js';

export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

const JSON_TYPES = {
  boolean: z.boolean(),
  integer: z.number().int(),
  text: z.string(),
  time: z.string().describe('ISO 8601, UTC'),
  timeOrNone: z.string().describe('ISO 8601, UTC'),
  json: z.unknown(),
  status: z.enum(FIELD_VALUES.status),
  priority: z.enum(FIELD_VALUES.priority),
  labels: z.array(z.string()),
  ids: z.array(z.number().int()),
} satisfies Record<FieldType, z.ZodType>;

type Field = (typeof TASK_FIELDS)[number];
type JsonField = Extract<Field, { json: string }>;
/** `timeOrNone` is null in JSON when unset, like the nullable fields. */
type JsonSchemaOf<F extends JsonField> = F['nullable'] extends true
  ? z.ZodNullable<(typeof JSON_TYPES)[F['type']]>
  : F['type'] extends 'timeOrNone'
    ? z.ZodNullable<(typeof JSON_TYPES)[F['type']]>
    : (typeof JSON_TYPES)[F['type']];
type TaskJsonShape = { [F in JsonField as F['json']]: JsonSchemaOf<F> };

const jsonFields = TASK_FIELDS.filter((f): f is JsonField => f.json !== null);

/** The zod schema of a task's JSON (responses, and what the typed client and CLI read). */
export const taskJsonSchema = z.object(
  Object.fromEntries(
    jsonFields.map((f) => {
      const base: z.ZodType = JSON_TYPES[f.type];
      return [f.json, f.nullable || f.type === 'timeOrNone' ? base.nullable() : base];
    }),
  ) as TaskJsonShape,
);

export type TaskJson = z.infer<typeof taskJsonSchema>;

/** A task handed to the agent that holds it; the token fences every later call. */
export const claimedTaskJsonSchema = taskJsonSchema.extend({ lease_token: z.string() });
export type ClaimedTaskJson = z.infer<typeof claimedTaskJsonSchema>;

/**
 * The serializer, compiled once from the declaration: one object literal per task, so every
 * answer has the same shape (and the keys come in the declared order).
 */
const serialize = new Function(
  'iso',
  `return (task) => ({ ${jsonFields
    .map((f) => {
      const value = `task.${f.name}`;
      const expr =
        f.type === 'time' ? `iso(${value})` : f.type === 'timeOrNone' ? `(${value} > 0 ? iso(${value}) : null)` : f.type === 'json' ? `(${value} ?? null)` : value;
      return `${JSON.stringify(f.json)}: ${expr}`;
    })
    .join(', ')} });`,
)(iso) as (task: Task) => TaskJson;

export function taskJson(task: Task): TaskJson {
  return serialize(task);
}
