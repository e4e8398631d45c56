// HTTP client of the Athena REST API (global fetch, no dependencies); the CLI, the worker and MCP tools use it.
import { ApiError, NetworkError } from './errors.js';
import type {
  AgentIdentity,
  ClaimedJson,
  ClaimedTaskJson,
  CompletedJson,
  CreatedJson,
  Fence,
  InstanceJson,
  LogJson,
  Priority,
  StatsJson,
  TaskChangeJson,
  TaskJson,
  TaskPageJson,
} from './wire.js';

/** `signal` carries the caller's cancel and the timeout; `timeoutMs` names it in errors. */
export type HttpRequest = { method: string; url: string; headers: Record<string, string>; body?: string; signal: AbortSignal; timeoutMs: number };
export type HttpResponse = { status: number; text: string };
/** Sends one request; the default uses fetch, the server's /mcp route answers in-process. */
export type HttpTransport = (request: HttpRequest) => Promise<HttpResponse>;

export type ClientOptions = {
  baseUrl: string;
  apiKey?: string;
  /** Per request, on top of any long-poll wait. */
  timeoutMs?: number;
  transport?: HttpTransport;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
};

export type CallOptions = { signal?: AbortSignal; timeoutMs?: number };

export type NewTaskJson = {
  description: string;
  priority?: Priority;
  submitted_by?: string;
  notes?: string;
  project?: string;
  labels?: string[];
  depends_on?: number[];
  max_attempts?: number;
  idempotency_key?: string;
  review?: boolean;
};

export type ListQuery = { status?: string; priority?: string; instance_id?: string; label?: string; project?: string; q?: string; order?: string; limit?: number; cursor?: string };

export type ClaimNextOptions = { labels?: string[] | '*'; wait?: number; leaseSeconds?: number };

export const DEFAULT_TIMEOUT_MS = 30_000;

/** Why fetch failed, in words: "connect ECONNREFUSED 127.0.0.1:5051", "timed out after 30s". */
function describeFetchFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${Math.round(timeoutMs / 1000)}s`;
  if (e?.name === 'AbortError') return 'request cancelled';
  const cause = e?.cause;
  if (cause?.message) return cause.message;
  if (cause?.code) return cause.code;
  return e?.message ?? String(err);
}

export const fetchTransport: HttpTransport = async ({ method, url, headers, body, signal, timeoutMs }) => {
  try {
    const res = await fetch(url, { method, headers, body, signal });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    throw new NetworkError(url, describeFetchFailure(err, timeoutMs));
  }
};

export type AthenaClient = ReturnType<typeof createClient>;

export function createClient(options: ClientOptions) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const transport = options.transport ?? fetchTransport;
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  async function call<T>(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
    const url = `${base}${path}`;
    const timeoutMs = opts.timeoutMs ?? defaultTimeout;
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.apiKey) headers['x-api-key'] = options.apiKey;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const res = await transport({ method, url, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, timeoutMs });
    let json: unknown;
    try {
      json = res.text === '' ? null : JSON.parse(res.text);
    } catch {
      throw new ApiError(res.status, 'BAD_RESPONSE', `${url} answered ${res.status} with a body that is not JSON; is this an Athena server?`, url);
    }
    if (res.status >= 400) {
      const e = json as { error?: unknown; code?: unknown } | null;
      const message = typeof e?.error === 'string' ? e.error : `HTTP ${res.status}`;
      const code = typeof e?.code === 'string' ? e.code : `HTTP_${res.status}`;
      throw new ApiError(res.status, code, message, url);
    }
    return json as T;
  }

  const post = <T>(path: string, body: unknown = {}, opts?: CallOptions) => call<T>('POST', path, body, opts);
  const query = (q: Record<string, string | number | undefined>) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, String(v));
    const s = params.toString();
    return s ? `?${s}` : '';
  };

  return {
    baseUrl: base,
    health: (opts?: CallOptions) => call<{ status: string; service: string }>('GET', '/health', undefined, opts),
    stats: (opts?: CallOptions) => call<StatsJson>('GET', '/api/stats', undefined, opts),
    instances: (opts?: CallOptions) => call<{ instances: InstanceJson[] }>('GET', '/api/instances', undefined, opts),
    list: (q: ListQuery = {}, opts?: CallOptions) => call<TaskPageJson>('GET', `/api/tasks${query(q)}`, undefined, opts),
    /** The next task as the original protocol shows it; naming the instance keeps the answer the same when asked again. */
    next: (instanceId?: string, opts?: CallOptions) => call<{ task: TaskJson | null }>('GET', `/api/tasks/next${query({ instance_id: instanceId })}`, undefined, opts),
    get: (id: number, opts?: CallOptions) => call<{ task: TaskJson; logs: LogJson[] }>('GET', `/api/tasks/${id}`, undefined, opts),
    create: (task: NewTaskJson, opts?: CallOptions) => post<CreatedJson>('/api/tasks', task, opts),

    claim: (id: number, agent: AgentIdentity, leaseSeconds?: number, opts?: CallOptions) =>
      post<ClaimedJson>(`/api/tasks/${id}/claim`, { instance_id: agent.instanceId, instance_name: agent.instanceName, lease_seconds: leaseSeconds }, opts),

    /** Claims the best task for this agent; with `wait`, the server holds the request until one appears. */
    claimNext: (agent: AgentIdentity, o: ClaimNextOptions = {}, opts: CallOptions = {}) =>
      post<{ task: ClaimedTaskJson | null }>(
        '/api/tasks/claim-next',
        { instance_id: agent.instanceId, instance_name: agent.instanceName, labels: o.labels, wait: o.wait, lease_seconds: o.leaseSeconds },
        { ...opts, timeoutMs: (opts.timeoutMs ?? defaultTimeout) + (o.wait ?? 0) * 1000 },
      ),

    heartbeat: (id: number, fence: Fence, o: { progress?: string; leaseSeconds?: number } = {}, opts?: CallOptions) =>
      post<TaskChangeJson>(`/api/tasks/${id}/heartbeat`, { ...fence, progress: o.progress, lease_seconds: o.leaseSeconds }, opts),
    complete: (id: number, fence: Fence, o: { notes?: string; result?: unknown } = {}, opts?: CallOptions) =>
      post<CompletedJson>(`/api/tasks/${id}/complete`, { ...fence, notes: o.notes, result: o.result }, opts),
    fail: (id: number, fence: Fence, o: { error?: string; retry?: boolean } = {}, opts?: CallOptions) =>
      post<TaskChangeJson>(`/api/tasks/${id}/fail`, { ...fence, error: o.error, retry: o.retry }, opts),
    release: (id: number, fence: Fence, reason?: string, opts?: CallOptions) => post<TaskChangeJson>(`/api/tasks/${id}/release`, { ...fence, reason }, opts),
    ask: (id: number, fence: Fence, question: string, opts?: CallOptions) => post<TaskChangeJson>(`/api/tasks/${id}/ask`, { ...fence, question }, opts),
    answer: (id: number, answer: string, by?: string, opts?: CallOptions) => post<TaskChangeJson>(`/api/tasks/${id}/answer`, { answer, by }, opts),

    cancel: (id: number, o: { by?: string; reason?: string } = {}, opts?: CallOptions) => post<TaskChangeJson>(`/api/tasks/${id}/cancel`, o, opts),
    /** Live output of the run this lease holds; `offset` makes a batch sent again harmless. */
    appendOutput: (id: number, body: { lease_token: string; offset: number; text: string }, opts?: CallOptions) =>
      post<{ task_id: number; attempt: number; end: number }>(`/api/tasks/${id}/output`, body, opts),
    review: (id: number, decision: 'accept' | 'changes', o: { feedback?: string; by?: string } = {}, opts?: CallOptions) =>
      post<TaskChangeJson>(`/api/tasks/${id}/review`, { decision, feedback: o.feedback, by: o.by }, opts),
    setPriority: (id: number, priority: Priority, by?: string, opts?: CallOptions) => post<TaskChangeJson>(`/api/tasks/${id}/priority`, { priority, by }, opts),
  };
}

/** The fence for a task: the lease token when we have one, else our instance id. */
export function fenceFor(agent: AgentIdentity, leaseToken?: string | null): Fence {
  return leaseToken ? { lease_token: leaseToken } : { instance_id: agent.instanceId };
}
