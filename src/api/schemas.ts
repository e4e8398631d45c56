// zod schemas of request bodies, params and queries; they validate input and describe the API in OpenAPI.
import { z } from 'zod';
import { LABEL_PATTERN, LIMITS, resultProblem } from '../core/limits.js';
import { PRIORITIES, TASK_STATUSES } from '../core/types.js';

/** Results nested too deeply or too large are refused here, before anything tries to store or show them. */
export const refuseBadResult = (value: unknown, ctx: z.RefinementCtx) => {
  const problem = resultProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};

const lower = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : v);

export const prioritySchema = z.preprocess(lower, z.enum(PRIORITIES)).describe('high | medium | low');
export const statusSchema = z.enum(TASK_STATUSES);

export const idParams = z.object({
  id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).describe('task id'),
});

const label = z.string().min(1).max(LIMITS.labelMax).regex(LABEL_PATTERN, 'labels are letters, digits and _ . : / + -');
export const labels = z.array(label).max(LIMITS.labelsMax);
export const instanceId = z.string().trim().min(1).max(LIMITS.instanceIdMax);
const instanceName = z.string().trim().max(LIMITS.instanceIdMax).nullish();
const leaseSeconds = z.number().int().min(5).max(86_400).optional().describe('lease length in seconds (default LEASE_SECONDS)');
const text = (max: number) => z.string().max(max);

export const createTaskBody = z
  .object({
    description: z.string().max(LIMITS.descriptionMax).describe('what the agent should do'),
    priority: prioritySchema.optional(),
    submitted_by: z.string().max(200).nullish(),
    notes: text(LIMITS.notesMax).nullish(),
    project: z.string().trim().max(LIMITS.projectMax).nullish().describe('free-form project or repository'),
    labels: labels.optional().describe('capabilities an agent needs to take this task'),
    depends_on: z.array(z.number().int().positive()).max(LIMITS.dependsOnMax).optional().describe('task ids that must complete first'),
    run_after: z
      .union([
        z.iso.datetime({ offset: true }).refine((v) => Date.parse(v) <= LIMITS.latestTimeMs, 'must not be after 9999-12-31'),
        z.number().int().nonnegative().max(LIMITS.latestTimeMs),
      ])
      .nullish()
      .describe('not claimable before this time (ISO 8601 or epoch ms)'),
    max_attempts: z.number().int().min(1).max(LIMITS.maxAttemptsMax).optional(),
    idempotency_key: z.string().min(1).max(LIMITS.idempotencyKeyMax).optional(),
    assignee: instanceId.nullish().describe('instance id of the one agent that may claim it'),
    review: z.boolean().optional().describe('completing it moves it to in_review for a person to accept (default: REVIEW_REQUIRED_LABELS / _PROJECTS)'),
  })
  .strict()
  .describe('a new task');

export const agentBody = z
  .object({
    instance_id: instanceId.describe('stable id of the agent (the original CLI sends the hostname)'),
    instance_name: instanceName,
    lease_seconds: leaseSeconds,
  })
  .strict();

const projectName = z.string().trim().min(1).max(LIMITS.projectMax);

/** Which tasks an agent serves: claim-next's own fields, and those of a complete's `claim_next`. */
const servedTasks = {
  labels: z.union([labels, z.literal('*')]).optional().describe('labels this agent serves; "*" takes any task'),
  project: z.union([projectName, z.array(projectName).min(1).max(50)]).optional().describe('only tasks of this project (or of one of these)'),
};

export const claimNextBody = agentBody.extend({
  ...servedTasks,
  wait: z.number().min(0).max(600).optional().describe('seconds to wait for a task (long-poll), capped by LONG_POLL_MAX_SECONDS'),
});

/** claim-next's body without who claims (the complete's instance_id) and without `wait`. */
const nextClaim = z
  .object({ instance_name: instanceName, lease_seconds: leaseSeconds, ...servedTasks })
  .strict()
  .describe("also claim this agent's next task, as claim-next without `wait` would, once this change has committed (needs instance_id)");

/** A body with `claim_next` names the agent it claims for. */
function needsClaimer(body: { claim_next?: unknown; instance_id?: string }, ctx: z.RefinementCtx): void {
  if (body.claim_next && body.instance_id === undefined) {
    ctx.addIssue({ code: 'custom', path: ['instance_id'], message: 'claim_next claims for an agent: name it with instance_id' });
  }
}

const fence = {
  lease_token: z.string().min(1).max(100).optional(),
  instance_id: instanceId.optional(),
};

export const completeBody = z
  .object({
    ...fence,
    notes: text(LIMITS.notesMax).nullish(),
    result: z.unknown().optional().superRefine(refuseBadResult).describe('any JSON the agent wants to report'),
    claim_next: nextClaim.optional(),
  })
  .strict()
  .superRefine(needsClaimer);

// Every body is strict: a misspelt field is refused (400 naming it) rather than silently dropped.
export const heartbeatBody = z.object({ ...fence, lease_seconds: leaseSeconds, progress: text(2000).nullish() }).strict();
export const failBody = z
  .object({ ...fence, error: text(LIMITS.errorMax).optional(), retry: z.boolean().optional(), claim_next: nextClaim.optional() })
  .strict()
  .superRefine(needsClaimer);
export const releaseBody = z.object({ ...fence, reason: text(2000).nullish() }).strict();
export const requeueHeldBody = z
  .object({
    instance_id: instanceId.describe('the restarted agent: every task this instance holds goes back to the queue'),
    reason: text(2000).nullish().describe('logged on each task (default: the instance restarted)'),
  })
  .strict();
export const askBody = z.object({ ...fence, question: text(LIMITS.notesMax) }).strict();
const by = z.string().max(200).nullish().describe('who acts (default: the key\'s name)');
export const answerBody = z.object({ answer: text(LIMITS.notesMax), by }).strict();
export const cancelBody = z.object({ by, reason: text(2000).nullish() }).strict().nullish();
export const dependencyIds = z.array(z.number().int().positive()).max(LIMITS.dependsOnMax);
export const dependenciesBody = z.object({ depends_on: dependencyIds.min(1) }).strict();
export const byBody = z.object({ by }).strict().nullish();
export const reopenBody = z.object({ by, reason: text(2000).nullish().describe('why it is reopened (logged)') }).strict().nullish();
export const commentBody = z
  .object({ body: z.string().describe(`the comment (at most ${LIMITS.commentMax} characters)`), by, source: z.enum(['api', 'dashboard', 'cli', 'mcp', 'agent']).optional() })
  .strict();
export const deleteQuery = z.object({
  force: z.enum(['true', 'false']).optional().describe('also a held task (its agent is fenced) or one others depend on (they are blocked)'),
  by: z.string().max(200).optional(),
});

/** A time as the API takes it: ISO 8601 with an offset, or epoch ms. */
export const timeInput = z.union([
  z.iso.datetime({ offset: true }).refine((v) => Date.parse(v) <= LIMITS.latestTimeMs, 'must not be after 9999-12-31'),
  z.number().int().nonnegative().max(LIMITS.latestTimeMs),
]);

/** PATCH /api/tasks/:id: any of these; `priority` alone is the original call. */
export const editBody = z
  .object({
    description: z.string().max(LIMITS.descriptionMax).optional(),
    priority: prioritySchema.optional(),
    notes: text(LIMITS.notesMax).nullish(),
    project: z.string().trim().max(LIMITS.projectMax).nullish(),
    labels: labels.optional(),
    depends_on: dependencyIds.optional().describe('the whole list: replaces the dependencies'),
    max_attempts: z.number().int().min(1).max(LIMITS.maxAttemptsMax).optional(),
    run_after: timeInput.nullish().describe('not claimable before this time; null: now'),
    assignee: instanceId.nullish().describe('instance id of the one agent that may claim it; null: any agent'),
    by,
  })
  .strict();
export const priorityBody = z.object({ priority: prioritySchema, by }).strict();
export const reviewBody = z
  .object({
    decision: z.enum(['accept', 'changes']).describe('accept: completed; changes: pending again, the feedback kept for the next agent'),
    feedback: text(LIMITS.notesMax).nullish().describe('required with changes'),
    by,
  })
  .strict();

const statusList = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.union([statusSchema, z.literal('all')])));

export const nextQuery = z.object({
  instance_id: instanceId.optional().describe('who is asking: shown the same task again while it is held for this instance'),
});

export const listQuery = z.object({
  status: statusList.optional().describe('comma-separated states, or "all" (default pending)'),
  priority: prioritySchema.optional(),
  instance_id: z.string().max(LIMITS.instanceIdMax).optional(),
  label: z.string().max(LIMITS.labelMax).optional(),
  project: z.string().max(LIMITS.projectMax).optional(),
  assignee: z.string().max(LIMITS.instanceIdMax).optional(),
  q: z.string().max(200).optional().describe('text search in descriptions'),
  order: z.enum(['newest', 'queue']).optional(),
  limit: z.coerce.number().int().min(1).max(LIMITS.listLimitMax).optional(),
  cursor: z.string().regex(/^\d{1,15}(\.\d{1,15})?$/, 'expected a next_cursor from a previous page').optional(),
});

// Strict: a misspelt field of a bulk action must not widen it to every task.
export const bulkFilter = z
  .object({
    label: z.string().max(LIMITS.labelMax).optional(),
    project: z.string().max(LIMITS.projectMax).optional(),
    priority: prioritySchema.optional(),
    q: z.string().max(200).optional(),
    by: z.string().max(200).nullish(),
    instance_id: z.string().max(LIMITS.instanceIdMax).optional().describe('only tasks this agent held'),
  })
  .strict();

export const purgeBody = z.object({ older_than_days: z.number().min(0).max(36_500) }).strict();
