// AthenaClient: the REST API as typed methods (global fetch, no dependencies). The CLI, the worker and the MCP tools use it,
// and so can any TypeScript agent: `import { AthenaClient } from 'athena/client'`.
import { AthenaError } from './errors.js';
import { fetchTransport, type HttpTransport } from './transport.js';
import type {
  AgentIdentity,
  ClaimedJson,
  BulkFilterJson,
  ClaimedTaskJson,
  CommentJson,
  CompletedJson,
  CreatedJson,
  DeletedJson,
  EditedJson,
  Fence,
  HeartbeatJson,
  InstanceJson,
  LimitJson,
  ListQuery,
  LogJson,
  NewTaskJson,
  OutputAppendedJson,
  PauseJson,
  ScheduleJson,
  ScheduleRunJson,
  NewScheduleJson,
  Priority,
  PriorityChangeJson,
  RequeuedHeldJson,
  StatsJson,
  TaskChangeJson,
  FailedJson,
  TaskEditJson,
  TaskJson,
  TaskPageJson,
  WebhookAttemptJson,
  WebhookDeliveryJson,
  WebhookEventName,
  WebhookJson,
} from './types.js';

export type ClientOptions = {
  /** Where the server listens, e.g. http://127.0.0.1:5051 */
  baseUrl: string;
  /** API_KEY or a per-agent key; sent as X-API-Key. */
  apiKey?: string;
  /** Per request, on top of any long-poll wait (default 30 s). */
  timeoutMs?: number;
  transport?: HttpTransport;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
};

export type CallOptions = { signal?: AbortSignal; timeoutMs?: number };
/** `labels` and `projects`: only tasks of these (an empty list of projects: any project). */
export type ClaimNextOptions = { labels?: string[] | '*'; projects?: string[]; wait?: number; leaseSeconds?: number };

/** Who claims the next task with a complete or fail (`claim_next`), and how: claimNext's options without `wait`. */
export type NextClaim = { agent: AgentIdentity } & Omit<ClaimNextOptions, 'wait'>;

/** The body fields of `claim_next` (none without one). */
function claimNextFields(next: NextClaim | undefined) {
  if (!next) return {};
  const project = next.projects && next.projects.length > 0 ? next.projects : undefined;
  return {
    instance_id: next.agent.instanceId,
    claim_next: { instance_name: next.agent.instanceName, labels: next.labels, lease_seconds: next.leaseSeconds, project },
  };
}

export const DEFAULT_TIMEOUT_MS = 30_000;

const query = (q: Record<string, string | number | undefined>) => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
};

/** The fence for a task: the lease token when we have one, else our instance id. */
export function fenceFor(agent: AgentIdentity, leaseToken?: string | null): Fence {
  return leaseToken ? { lease_token: leaseToken } : { instance_id: agent.instanceId };
}

export class AthenaClient {
  readonly baseUrl: string;
  readonly #options: ClientOptions;
  readonly #transport: HttpTransport;
  readonly #timeoutMs: number;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#options = options;
    this.#transport = options.transport ?? fetchTransport;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** One request; an answer of 400 or more is thrown as AthenaError with the server's `code` and message. */
  async request<T>(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    const headers: Record<string, string> = { accept: 'application/json', ...this.#options.headers };
    if (this.#options.apiKey) headers['x-api-key'] = this.#options.apiKey;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const res = await this.#transport({ method, url, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, timeoutMs });
    let json: unknown;
    try {
      json = res.text === '' ? null : JSON.parse(res.text);
    } catch {
      throw new AthenaError(res.status, 'BAD_RESPONSE', `${url} answered ${res.status} with a body that is not JSON; is this an Athena server?`, url);
    }
    if (res.status >= 400) {
      const e = json as { error?: unknown; code?: unknown } | null;
      const message = typeof e?.error === 'string' ? e.error : `HTTP ${res.status}`;
      const code = typeof e?.code === 'string' ? e.code : `HTTP_${res.status}`;
      throw new AthenaError(res.status, code, message, url);
    }
    return json as T;
  }

  #post<T>(path: string, body: unknown = {}, opts?: CallOptions): Promise<T> {
    return this.request<T>('POST', path, body, opts);
  }

  health(opts?: CallOptions) {
    return this.request<{ status: 'healthy' | 'degraded'; service: string }>('GET', '/health', undefined, opts);
  }

  stats(opts?: CallOptions) {
    return this.request<StatsJson>('GET', '/api/stats', undefined, opts);
  }

  instances(opts?: CallOptions) {
    return this.request<{ instances: InstanceJson[] }>('GET', '/api/instances', undefined, opts);
  }

  list(q: ListQuery = {}, opts?: CallOptions) {
    return this.request<TaskPageJson>('GET', `/api/tasks${query(q)}`, undefined, opts);
  }

  /** The next task as the original protocol shows it (no claim); naming the instance keeps the answer the same when asked again. */
  next(instanceId?: string, opts?: CallOptions) {
    return this.request<{ task: TaskJson | null }>('GET', `/api/tasks/next${query({ instance_id: instanceId })}`, undefined, opts);
  }

  get(id: number, opts?: CallOptions) {
    return this.request<{ task: TaskJson; logs: LogJson[] }>('GET', `/api/tasks/${id}`, undefined, opts);
  }

  /** Creates a task (`created: false` when its idempotency key named one created before). */
  create(task: NewTaskJson, opts?: CallOptions) {
    return this.#post<CreatedJson>('/api/tasks', task, opts);
  }

  claim(id: number, agent: AgentIdentity, leaseSeconds?: number, opts?: CallOptions) {
    return this.#post<ClaimedJson>(`/api/tasks/${id}/claim`, { instance_id: agent.instanceId, instance_name: agent.instanceName, lease_seconds: leaseSeconds }, opts);
  }

  /** Claims the best task for this agent; with `wait` (seconds), the server holds the request until one appears. */
  claimNext(agent: AgentIdentity, o: ClaimNextOptions = {}, opts: CallOptions = {}) {
    return this.#post<{ task: ClaimedTaskJson | null }>(
      '/api/tasks/claim-next',
      {
        instance_id: agent.instanceId, instance_name: agent.instanceName, labels: o.labels, wait: o.wait, lease_seconds: o.leaseSeconds,
        project: o.projects && o.projects.length > 0 ? o.projects : undefined,
      },
      { ...opts, timeoutMs: (opts.timeoutMs ?? this.#timeoutMs) + (o.wait ?? 0) * 1000 },
    );
  }

  heartbeat(id: number, fence: Fence, o: { progress?: string; leaseSeconds?: number } = {}, opts?: CallOptions) {
    return this.#post<HeartbeatJson>(`/api/tasks/${id}/heartbeat`, { ...fence, progress: o.progress, lease_seconds: o.leaseSeconds }, opts);
  }

  /**
   * Completes a task you hold. With `claimNext`, the same request also claims that agent's next task
   * (as claimNext without `wait`): the answer's `next_task`, null when none is ready. A server from
   * before this option refuses it (400, VALIDATION_ERROR, the message naming `claim_next`) and
   * completes nothing; `athena work` then completes without it.
   */
  complete(id: number, fence: Fence, o: { notes?: string; result?: unknown; claimNext?: NextClaim } = {}, opts?: CallOptions) {
    return this.#post<CompletedJson>(`/api/tasks/${id}/complete`, { ...fence, notes: o.notes, result: o.result, ...claimNextFields(o.claimNext) }, opts);
  }

  /**
   * Reports failure; with `retry: true` the task is retried with backoff while attempts remain. With
   * `claimNext`, as for complete: the answer's `next_task`.
   */
  fail(id: number, fence: Fence, o: { error?: string; retry?: boolean; claimNext?: NextClaim } = {}, opts?: CallOptions) {
    return this.#post<FailedJson>(`/api/tasks/${id}/fail`, { ...fence, error: o.error, retry: o.retry, ...claimNextFields(o.claimNext) }, opts);
  }

  release(id: number, fence: Fence, reason?: string, opts?: CallOptions) {
    return this.#post<TaskChangeJson>(`/api/tasks/${id}/release`, { ...fence, reason }, opts);
  }

  /**
   * After a restart under the same instance id: the tasks the previous process held go back to the queue
   * (their attempt stays used). An agent key may only do this for its own instance.
   */
  requeueHeld(agent: Pick<AgentIdentity, 'instanceId'>, reason?: string, opts?: CallOptions) {
    return this.#post<RequeuedHeldJson>('/api/tasks/requeue-held', { instance_id: agent.instanceId, reason }, opts);
  }

  /** Asks a human: the task waits in needs_input until answered. */
  ask(id: number, fence: Fence, question: string, opts?: CallOptions) {
    return this.#post<TaskChangeJson>(`/api/tasks/${id}/ask`, { ...fence, question }, opts);
  }

  answer(id: number, answer: string, by?: string, opts?: CallOptions) {
    return this.#post<TaskChangeJson>(`/api/tasks/${id}/answer`, { answer, by }, opts);
  }

  cancel(id: number, o: { by?: string; reason?: string } = {}, opts?: CallOptions) {
    return this.#post<TaskChangeJson>(`/api/tasks/${id}/cancel`, o, opts);
  }

  /** Decides on a task in in_review: accept (completed) or send it back with feedback (pending, no attempt used). */
  review(id: number, decision: 'accept' | 'changes', o: { feedback?: string; by?: string } = {}, opts?: CallOptions) {
    return this.#post<TaskChangeJson>(`/api/tasks/${id}/review`, { decision, feedback: o.feedback, by: o.by }, opts);
  }

  /** Live output of the run this lease holds; `offset` makes a batch sent again harmless. */
  appendOutput(id: number, body: { lease_token: string; offset: number; text: string }, opts?: CallOptions) {
    return this.#post<OutputAppendedJson>(`/api/tasks/${id}/output`, body, opts);
  }

  setPriority(id: number, priority: Priority, by?: string, opts?: CallOptions) {
    return this.#post<PriorityChangeJson>(`/api/tasks/${id}/priority`, { priority, by }, opts);
  }

  /** Puts a failed task back to pending with a fresh attempt budget. */
  retry(id: number, by?: string, opts?: CallOptions) {
    return this.#post<TaskChangeJson>(`/api/tasks/${id}/retry`, { by }, opts);
  }

  addDependencies(id: number, dependsOn: number[], opts?: CallOptions) {
    return this.#post<TaskChangeJson>(`/api/tasks/${id}/dependencies`, { depends_on: dependsOn }, opts);
  }

  /** Edits a task that has not finished; the answer lists each change (old → new) and any warnings. */
  edit(id: number, fields: TaskEditJson, opts?: CallOptions) {
    return this.request<EditedJson>('PATCH', `/api/tasks/${id}`, fields, opts);
  }

  /** Deletes a task (admin key); `force` also deletes a held task (fencing its agent) or one others depend on (blocking them). */
  remove(id: number, o: { force?: boolean; by?: string } = {}, opts?: CallOptions) {
    return this.request<DeletedJson>('DELETE', `/api/tasks/${id}${query({ force: o.force ? 'true' : undefined, by: o.by })}`, undefined, opts);
  }

  /** Moves a completed, cancelled or failed task back to pending with a fresh attempt budget. */
  reopen(id: number, o: { reason?: string; by?: string } = {}, opts?: CallOptions) {
    return this.#post<TaskChangeJson>(`/api/tasks/${id}/reopen`, o, opts);
  }

  comment(id: number, body: string, o: { by?: string; source?: 'api' | 'dashboard' | 'cli' | 'mcp' | 'agent' } = {}, opts?: CallOptions) {
    return this.#post<{ comment: CommentJson }>(`/api/tasks/${id}/comments`, { body, ...o }, opts);
  }

  /** A task's comments, oldest first. */
  comments(id: number, opts?: CallOptions) {
    return this.request<{ comments: CommentJson[] }>('GET', `/api/tasks/${id}/comments`, undefined, opts);
  }

  /** Retries every failed task matching the filter (admin key). */
  retryFailed(filter: BulkFilterJson = {}, opts?: CallOptions) {
    return this.#post<{ count: number }>('/api/tasks/retry-failed', filter, opts);
  }

  /** Cancels every pending task matching the filter (admin key). */
  cancelPending(filter: BulkFilterJson = {}, opts?: CallOptions) {
    return this.#post<{ count: number }>('/api/tasks/cancel-pending', filter, opts);
  }

  /** Deletes completed and cancelled tasks older than this many days (admin key). */
  purge(olderThanDays: number, opts?: CallOptions) {
    return this.#post<{ count: number }>('/api/tasks/purge', { older_than_days: olderThanDays }, opts);
  }

  /** Every task, log row and instance, as /api/import takes them back (admin key). */
  exportAll(opts?: CallOptions) {
    return this.request<unknown>('GET', '/api/export', undefined, opts);
  }

  /** Restores an export into an empty queue (admin key). */
  importAll(data: unknown, opts?: CallOptions) {
    return this.#post<{ tasks: number; logs: number; schedules?: number }>('/api/import', data, opts);
  }

  pauses(opts?: CallOptions) {
    return this.request<{ pauses: PauseJson[] }>('GET', '/api/queue/pauses', undefined, opts);
  }

  /** Stops claims in the whole queue (no scope), `label:<name>` or `project:<name>` (admin keys). */
  pause(o: { scope?: string; reason?: string; by?: string }, opts?: CallOptions) {
    return this.#post<{ pause: PauseJson }>('/api/queue/pause', o, opts);
  }

  resume(o: { scope?: string; by?: string }, opts?: CallOptions) {
    return this.#post<{ resumed: PauseJson }>('/api/queue/resume', o, opts);
  }

  limits(opts?: CallOptions) {
    return this.request<{ limits: LimitJson[] }>('GET', '/api/limits', undefined, opts);
  }

  setLimit(scope: string, max: number, by?: string, opts?: CallOptions) {
    return this.request<{ limit: LimitJson }>('PUT', '/api/limits', { scope, max, by }, opts);
  }

  removeLimit(scope: string, opts?: CallOptions) {
    return this.request<{ removed: string }>('DELETE', `/api/limits${query({ scope })}`, undefined, opts);
  }

  schedules(opts?: CallOptions) {
    return this.request<{ schedules: ScheduleJson[] }>('GET', '/api/schedules', undefined, opts);
  }

  schedule(id: number, opts?: CallOptions) {
    return this.request<{ schedule: ScheduleJson; runs: ScheduleRunJson[] }>('GET', `/api/schedules/${id}`, undefined, opts);
  }

  /** Adds a schedule (admin keys): `description` and the other task fields are the task each run creates. */
  addSchedule(schedule: NewScheduleJson, opts?: CallOptions) {
    return this.#post<{ schedule: ScheduleJson }>('/api/schedules', schedule, opts);
  }

  updateSchedule(id: number, changes: Partial<NewScheduleJson>, opts?: CallOptions) {
    return this.request<{ schedule: ScheduleJson }>('PATCH', `/api/schedules/${id}`, changes, opts);
  }

  removeSchedule(id: number, opts?: CallOptions) {
    return this.request<{ removed: number }>('DELETE', `/api/schedules/${id}`, undefined, opts);
  }

  /** Creates the schedule's task now. */
  runSchedule(id: number, opts?: CallOptions) {
    return this.#post<{ task: TaskJson; run: ScheduleRunJson }>(`/api/schedules/${id}/run`, undefined, opts);
  }

  pauseSchedule(id: number, opts?: CallOptions) {
    return this.#post<{ schedule: ScheduleJson }>(`/api/schedules/${id}/pause`, undefined, opts);
  }

  resumeSchedule(id: number, opts?: CallOptions) {
    return this.#post<{ schedule: ScheduleJson }>(`/api/schedules/${id}/resume`, undefined, opts);
  }

  /** Webhooks (admin keys), never their secrets. */
  webhooks(opts?: CallOptions) {
    return this.request<{ webhooks: WebhookJson[] }>('GET', '/api/webhooks', undefined, opts);
  }

  /** Adds a webhook (admin keys); the answer's `secret` is the only time it is shown. */
  addWebhook(o: { url: string; events: Array<WebhookEventName | '*'>; label?: string | null; project?: string | null }, opts?: CallOptions) {
    return this.#post<WebhookJson & { secret: string }>('/api/webhooks', o, opts);
  }

  removeWebhook(id: number, opts?: CallOptions) {
    return this.request<WebhookJson & { deleted: true }>('DELETE', `/api/webhooks/${id}`, undefined, opts);
  }

  /** A webhook's deliveries, newest first, each with its attempts (admin keys). */
  webhookDeliveries(id: number, o: { status?: WebhookDeliveryJson['status']; limit?: number } = {}, opts?: CallOptions) {
    return this.request<{ deliveries: Array<WebhookDeliveryJson & { history: WebhookAttemptJson[] }> }>('GET', `/api/webhooks/${id}/deliveries${query(o)}`, undefined, opts);
  }

  /** Puts a delivery back in the outbox, due now (admin keys). */
  /** Enables a webhook again after it was disabled; its secret stays (admin keys). */
  enableWebhook(id: number, opts?: CallOptions) {
    return this.#post<{ webhook: WebhookJson }>(`/api/webhooks/${id}/enable`, undefined, opts);
  }

  redeliverWebhook(id: number, deliveryId: number, opts?: CallOptions) {
    return this.#post<{ delivery: WebhookDeliveryJson }>(`/api/webhooks/${id}/deliveries/${deliveryId}/redeliver`, undefined, opts);
  }
}
