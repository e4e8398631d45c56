// The worker loop of `athena work`: claim (long-poll), run the command (in the task's git worktree with
// --repo), heartbeat while it runs, then complete or fail; on stop it takes no more work and lets the
// running command finish within a grace period.
import { AthenaError, NetworkError, type AthenaClient, type NextClaim } from '../client/index.js';
import type { AgentIdentity, ClaimedTaskJson, CommentJson, Fence } from '../client/types.js';
import type { TaskCommand } from './agent-presets.js';
import { WorkspaceError, isPermanent } from './errors.js';
import { startCommand, type CommandExit } from './run-command.js';
import { completedResult } from './work-result.js';
import { createOutputStream } from './output-stream.js';
import { prepareWorkspace, removeWorkspace, type Repository, type TaskWorkspace } from './workspace.js';

/** How long the output still buffered when the command ends may take to reach the server. */
const OUTPUT_FINISH_MS = 10_000;

/** The tail of the command's output that goes into the task's notes or error. */
export const REPORT_TAIL_CHARS = 4000;

export type WorkerOptions = {
  client: AthenaClient;
  agent: AgentIdentity;
  command: string;
  labels?: string[];
  /** Only tasks of these projects. */
  projects?: string[];
  /** Stop after this many tasks. */
  maxTasks?: number;
  /** Poll once: take at most one task, and stop when none comes within `pollSeconds`. */
  once?: boolean;
  /** Per task: stop the command and fail the task after this long. */
  timeoutMs?: number;
  /** After a stop request, how long the running command may continue before its task is released. */
  graceMs: number;
  /** Between SIGTERM and SIGKILL when the command must stop. */
  killAfterMs?: number;
  /** Seconds per long-poll claim request. */
  pollSeconds: number;
  leaseSeconds?: number;
  /** Default: a third of the lease, at most a minute. */
  heartbeatMs?: number;
  /** Ask for a retry (with backoff, while attempts remain) when the command fails or times out. */
  retryFailures?: boolean;
  /** Environment of the command, before the task's variables are added (Athena's secrets are left out). */
  env: NodeJS.ProcessEnv;
  /** Passed on to the command so it can call `athena` itself. */
  apiUrl: string;
  apiKey?: string;
  /** Give the command the worker's API key as ATHENA_API_KEY (off by default: see scopedEnv). */
  passKey?: boolean;
  cwd?: string;
  /** Makes a task's command; default: `command` through the shell, the task as JSON on stdin. */
  commandFor?: (task: ClaimedTaskJson, workspace: TaskWorkspace | null) => TaskCommand;
  /** With --repo: each task runs in its own git worktree of this repository. */
  repository?: Repository;
  /** Leave each task's worktree in place when the task ends (its branch always stays). */
  keepWorktrees?: boolean;
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Send the command's output to the server while it runs (default true). */
  streamOutput?: boolean;
  /** Between batches of live output (default 500 ms). */
  outputIntervalMs?: number;
  onEvent?: (event: WorkerEvent) => void;
  /**
   * At start, give back the tasks this instance still holds from an earlier process (default true); off when
   * another live worker on this machine uses the same instance id, since those tasks are its.
   */
  requeueHeld?: boolean;
  /** First SIGINT/SIGTERM: take no more work, let the running command finish within `graceMs`. */
  stop: AbortSignal;
  /** Second signal: stop the command now and release its task. */
  abort?: AbortSignal;
};

export type TaskOutcome = 'completed' | 'failed' | 'requeued' | 'released' | 'lost' | 'unreported';

export type WorkerEvent =
  | { type: 'waiting' }
  | { type: 'claimed'; task: ClaimedTaskJson }
  | { type: 'workspace'; taskId: number; path: string; branch: string; base: string; continued: boolean }
  | { type: 'workspace_failed'; taskId: number; error: string }
  | { type: 'heartbeat'; taskId: number; leaseExpiresAt: string | null }
  /** What people changed while the command ran: a new description, comments. */
  | { type: 'task_changed'; taskId: number; description: string | null; comments: CommentJson[] }
  | { type: 'heartbeat_failed'; taskId: number; error: string }
  | { type: 'lease_lost'; taskId: number; error: string }
  | { type: 'timed_out'; taskId: number; timeoutMs: number }
  | { type: 'draining'; taskId: number; graceMs: number }
  | { type: 'finished'; taskId: number; outcome: TaskOutcome; exitCode: number | null; durationMs: number; detail: string | null }
  | { type: 'claim_failed'; error: string; retryInMs: number }
  /** At start: tasks this instance still held from a previous process (which crashed) went back to the queue. */
  | { type: 'requeued_held'; tasks: { taskId: number; status: string; previousStatus: string }[] }
  | { type: 'requeue_held_failed'; error: string }
  /**
   * A task claimed for the worker by its report (a complete or fail), given back unrun (error: it could not be, its lease runs
   * out): the worker stopped before starting it, or the report's answer was lost (the task was found held by this instance afterwards).
   */
  | { type: 'handed_back'; taskId: number; why: 'stopped' | 'answer_lost'; error: string | null };

type Sent<T> = { ok: true; value: T } | { ok: false; error: unknown };

export type WorkerSummary = Record<TaskOutcome, number> & { tasks: number };

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const message = (err: unknown) =>
  (err instanceof AthenaError && !(err instanceof NetworkError)) || err instanceof WorkspaceError ? `${err.message} (${err.code})` : (err as Error)?.message ?? String(err);

/** Errors that mean "this task is no longer ours": cancelled, lease expired and re-claimed, deleted. */
const lostTask = (err: unknown) => err instanceof AthenaError && (err.status === 404 || err.status === 409);

const transient = (err: unknown) => err instanceof NetworkError || (err instanceof AthenaError && (err.status >= 500 || err.status === 429));

/**
 * Athena's own secrets, never handed to the command unasked: task text is untrusted, and an agent told
 * by it to print its environment would show them. The agent's own tools' credentials stay.
 */
export const WITHHELD_ENV = ['ATHENA_API_KEY', 'API_KEY', 'DISCORD_TOKEN', 'DATABASE_URL', 'ATHENA_TEST_DATABASE_URL', 'PGPASSWORD', 'POSTGRES_PASSWORD'];

/** The worker's environment without Athena's secrets (PATH, HOME and the rest that agent CLIs need stay). */
export function scopedEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const scoped = { ...env };
  for (const name of WITHHELD_ENV) delete scoped[name];
  return scoped;
}

export function taskEnv(task: ClaimedTaskJson, o: Pick<WorkerOptions, 'env' | 'apiUrl' | 'apiKey' | 'passKey' | 'agent'>, ws: TaskWorkspace | null = null): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...scopedEnv(o.env),
    ATHENA_API_URL: o.apiUrl,
    CLAUDE_INSTANCE: o.agent.instanceId,
    CLAUDE_INSTANCE_NAME: o.agent.instanceName,
    ATHENA_TASK_ID: String(task.id),
    ATHENA_TASK_DESCRIPTION: task.description,
    ATHENA_TASK_PRIORITY: task.priority,
    ATHENA_TASK_PROJECT: task.project ?? '',
    ATHENA_TASK_LABELS: task.labels.join(','),
    ATHENA_TASK_NOTES: task.notes ?? '',
    ATHENA_TASK_ATTEMPT: String(task.attempts),
    ATHENA_TASK_MAX_ATTEMPTS: String(task.max_attempts),
    ATHENA_LEASE_TOKEN: task.lease_token,
    // What a reviewer asked to change after the last run (also in the task JSON on stdin).
    ATHENA_REVIEW_FEEDBACK: task.review_feedback ?? '',
  };
  // Only when the operator asks (--pass-key), and then best a per-agent key: the command can then
  // call `athena ask` / `athena heartbeat` itself, as that agent and nothing more.
  if (o.passKey && o.apiKey) env.ATHENA_API_KEY = o.apiKey;
  if (ws) {
    env.ATHENA_TASK_BRANCH = ws.branch;
    env.ATHENA_TASK_BASE = ws.base;
  }
  return env;
}

const tail = (s: string, max = REPORT_TAIL_CHARS) => {
  const t = s.trim();
  return t.length <= max ? t : `…${t.slice(t.length - max + 1)}`;
};

function failureText(exit: CommandExit, timedOutAfterMs: number | null): string {
  const why =
    timedOutAfterMs !== null
      ? `timed out after ${Math.round(timedOutAfterMs / 1000)}s`
      : exit.spawnError
        ? `could not start: ${exit.spawnError}`
        : exit.exitCode !== null
          ? `exit code ${exit.exitCode}`
          : `killed by ${exit.signal ?? 'a signal'}`;
  const output = tail(exit.stderrTail) || tail(exit.stdoutTail);
  return output ? `${why}\n${output}` : why;
}

export async function runWorker(o: WorkerOptions): Promise<WorkerSummary> {
  const summary: WorkerSummary = { tasks: 0, completed: 0, failed: 0, requeued: 0, released: 0, lost: 0, unreported: 0 };
  const emit = (e: WorkerEvent) => o.onEvent?.(e);
  const fence = (task: ClaimedTaskJson) => ({ lease_token: task.lease_token });
  const killAfterMs = o.killAfterMs ?? 5000;
  let backoffMs = 1000;
  /** An error thrown while heartbeating (by onEvent): the worker ends with it after the task is reported. */
  let observerError: unknown = null;

  /** Reports a result, retrying while the server is unreachable; a 404/409 means someone else settled the task. */
  async function report<T>(send: () => Promise<T>): Promise<Sent<T>> {
    for (let attempt = 0, delay = 500; ; attempt++, delay *= 2) {
      try {
        return { ok: true, value: await send() };
      } catch (err) {
        if (!transient(err) || attempt >= 5 || o.abort?.aborted) return { ok: false, error: err };
        await sleep(delay, o.abort);
      }
    }
  }

  /**
   * Whether the next task may come with this report (complete's or fail's claim_next): the worker goes on
   * after it. Off for good once the server refuses the option (a server from before it).
   */
  let chainClaims = true;
  /**
   * A completion or failure with claim_next got no answer (an outage, a timeout): it may have
   * committed and claimed a task for this worker that the worker never heard of.
   */
  let chainedUnanswered = false;
  const wantsAnother = () => chainClaims && !o.once && !o.stop.aborted && (o.maxTasks === undefined || summary.tasks < o.maxTasks);

  /**
   * With --repo: the task's worktree, made before its command runs and removed after it is reported.
   * Returns the next task when the server handed one with the report (already this worker's).
   */
  async function runTask(task: ClaimedTaskJson): Promise<ClaimedTaskJson | null> {
    if (!o.repository) return runCommand(task, null);
    let ws: TaskWorkspace;
    try {
      ws = await prepareWorkspace(o.repository, task.id);
    } catch (err) {
      // The repository is as it was; a person must look (e.g. a branch of that name athena did not make).
      const error = `could not prepare the git workspace: ${message(err)}`;
      emit({ type: 'workspace_failed', taskId: task.id, error });
      const sent = await report(() => o.client.fail(task.id, fence(task), { error, retry: false }));
      const outcome: TaskOutcome = sent.ok ? 'failed' : lostTask(sent.error) ? 'lost' : 'unreported';
      summary[outcome]++;
      emit({ type: 'finished', taskId: task.id, outcome, exitCode: null, durationMs: 0, detail: error });
      return null;
    }
    emit({ type: 'workspace', taskId: task.id, path: ws.path, branch: ws.branch, base: ws.base, continued: ws.continued });
    try {
      return await runCommand(task, ws);
    } finally {
      if (!o.keepWorktrees) await removeWorkspace(o.repository, ws).catch(() => undefined);
    }
  }

  async function runCommand(task: ClaimedTaskJson, ws: TaskWorkspace | null): Promise<ClaimedTaskJson | null> {
    const planned = o.commandFor ? o.commandFor(task, ws) : { command: o.command, stdin: `${JSON.stringify(task)}\n`, env: {} };
    // Live output: batched in the background; a server that refuses it (the task is no longer ours,
    // or a server without the route) ends the stream, an outage only delays it.
    const output =
      o.streamOutput === false
        ? null
        : createOutputStream({
            send: async (offset, text) => void (await o.client.appendOutput(task.id, { lease_token: task.lease_token, offset, text })),
            isFinal: (err) => !transient(err),
            intervalMs: o.outputIntervalMs,
          });
    const onOutput = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
      output?.push(stream, chunk);
      o.onOutput?.(stream, chunk);
    };
    const run = startCommand(planned.command, { env: { ...taskEnv(task, o, ws), ...planned.env }, stdin: planned.stdin, cwd: ws?.path ?? o.cwd, onOutput });
    let ended: 'timeout' | 'lost' | 'interrupted' | null = null;
    let settled = false;
    const stopCommand = (why: NonNullable<typeof ended>) => {
      if (ended || settled) return;
      ended = why;
      run.stop(killAfterMs);
    };

    const leaseMs = task.lease_expires_at ? Date.parse(task.lease_expires_at) - Date.now() : 60_000;
    const every = o.heartbeatMs ?? Math.min(60_000, Math.max(1000, leaseMs / 3));
    let beating = false;
    const heartbeatOnce = async () => {
      if (beating || settled) return;
      beating = true;
      try {
        const res = await o.client.heartbeat(task.id, fence(task), { leaseSeconds: o.leaseSeconds });
        if (!settled) emit({ type: 'heartbeat', taskId: task.id, leaseExpiresAt: res.lease_expires_at ?? null });
        if (!settled && (res.description_changed || (res.new_comments?.length ?? 0) > 0)) {
          emit({ type: 'task_changed', taskId: task.id, description: res.description_changed ? res.task.description : null, comments: res.new_comments ?? [] });
        }
      } catch (err) {
        if (settled) return;
        if (lostTask(err)) {
          emit({ type: 'lease_lost', taskId: task.id, error: message(err) });
          stopCommand('lost');
        } else {
          emit({ type: 'heartbeat_failed', taskId: task.id, error: message(err) });
        }
      } finally {
        beating = false;
      }
    };
    // The heartbeat's own failures are events; what can still throw is onEvent (e.g. stdout closed).
    // Kept, and the command stopped: the worker reports the task and then ends with that error.
    const beat = setInterval(() => {
      heartbeatOnce().catch((err: unknown) => {
        observerError ??= err;
        stopCommand('interrupted');
      });
    }, every);

    const timeout = o.timeoutMs
      ? setTimeout(() => {
          emit({ type: 'timed_out', taskId: task.id, timeoutMs: o.timeoutMs! });
          stopCommand('timeout');
        }, o.timeoutMs)
      : undefined;

    let grace: NodeJS.Timeout | undefined;
    const onStop = () => {
      emit({ type: 'draining', taskId: task.id, graceMs: o.graceMs });
      grace = setTimeout(() => stopCommand('interrupted'), o.graceMs);
    };
    const onAbort = () => stopCommand('interrupted');
    if (o.stop.aborted) onStop();
    else o.stop.addEventListener('abort', onStop, { once: true });
    if (o.abort?.aborted) onAbort();
    else o.abort?.addEventListener('abort', onAbort, { once: true });

    const exit = await run.done;
    // Before the report: once the task is completed or failed the server takes no more output for it.
    await output?.finish(OUTPUT_FINISH_MS);
    settled = true;
    clearInterval(beat);
    clearTimeout(timeout);
    clearTimeout(grace);
    o.stop.removeEventListener('abort', onStop);
    o.abort?.removeEventListener('abort', onAbort);

    const finished = (outcome: TaskOutcome, detail: string | null, next: ClaimedTaskJson | null = null) => {
      summary[outcome]++;
      emit({ type: 'finished', taskId: task.id, outcome, exitCode: exit.exitCode, durationMs: exit.durationMs, detail });
      return next;
    };
    // Read after the await: the timers above may have set it.
    const why = ended as typeof ended;

    if (why === 'lost') return finished('lost', 'the task was cancelled or its lease was taken over');

    let sent: Sent<{ status: string; next_task?: ClaimedTaskJson | null }>;
    let detail: string | null = null;
    if (why === 'interrupted') {
      sent = await report(() => o.client.release(task.id, fence(task), 'the worker was stopped before the command finished'));
    } else if (why === null && exit.exitCode === 0) {
      const notes = tail(exit.stdoutTail) || undefined;
      const result = await completedResult(exit, ws);
      sent = await report(() => reportAndClaim((claimNext) => o.client.complete(task.id, fence(task), { notes, result, claimNext })));
    } else {
      const error = failureText(exit, why === 'timeout' ? o.timeoutMs! : null);
      detail = error.split('\n')[0] ?? null;
      const retry = o.retryFailures === true;
      sent = await report(() => reportAndClaim((claimNext) => o.client.fail(task.id, fence(task), { error, retry, claimNext })));
    }
    if (chainedUnanswered) {
      chainedUnanswered = false;
      // A retry refused (the first try had reported the task after all): that try may also have
      // claimed the next task, which nobody would run until its lease ran out (and which, under a
      // WIP limit, would block this worker's own claims). A retry that succeeded claimed nothing before.
      if (!sent.ok) await giveBackUnheard(task.id);
    }
    if (sent.ok) {
      const status = sent.value.status;
      const outcome: TaskOutcome = why === 'interrupted' ? 'released' : status === 'completed' || status === 'in_review' ? 'completed' : status === 'pending' ? 'requeued' : 'failed';
      return finished(outcome, detail, sent.value.next_task ?? null);
    }
    if (lostTask(sent.error)) return finished('lost', `the server refused the report: ${message(sent.error)}`);
    return finished('unreported', `could not report to the server: ${message(sent.error)}; the lease will expire`);
  }

  /**
   * Sends a completion or a failure (`send`); while the worker goes on, the same request claims its
   * next task (claim_next).
   */
  async function reportAndClaim<T>(send: (claimNext: NextClaim | undefined) => Promise<T>): Promise<T> {
    if (wantsAnother()) {
      try {
        return await send({ agent: o.agent, labels: o.labels, projects: o.projects, leaseSeconds: o.leaseSeconds });
      } catch (err) {
        if (transient(err)) chainedUnanswered = true;
        // A server from before claim_next refuses the field; it changes nothing then.
        if (!(err instanceof AthenaError && err.status === 400 && err.message.includes('claim_next'))) throw err;
        chainClaims = false;
      }
    }
    return send(undefined);
  }

  /**
   * Gives back what this instance holds that the worker does not know of (all but the task it was
   * reporting): a task claimed by a report whose answer was lost. Only where this worker is the
   * instance's one process (as for the requeue at start): otherwise they may be another live worker's.
   */
  async function giveBackUnheard(reported: number): Promise<void> {
    if (o.requeueHeld === false) return;
    const held = await report(() => o.client.list({ status: 'in_progress', instance_id: o.agent.instanceId }));
    if (!held.ok) return void emit({ type: 'requeue_held_failed', error: message(held.error) });
    // The task being reported stays as it is when no report got through: its lease runs out as before.
    for (const t of held.value.tasks.filter((held) => held.id !== reported)) {
      await releaseUnrun(t.id, { instance_id: o.agent.instanceId }, 'answer_lost', 'the answer to the report that claimed it was lost: never started');
    }
  }

  /**
   * Gives back a task the worker holds but will not run: released, not requeued, so its attempt is
   * given back. A refusal because the task is no longer this worker's is no error: it went back already.
   */
  async function releaseUnrun(taskId: number, held: Fence, why: 'stopped' | 'answer_lost', reason: string): Promise<void> {
    const sent = await report(() => o.client.release(taskId, held, reason));
    emit({ type: 'handed_back', taskId, why, error: sent.ok || lostTask(sent.error) ? null : message(sent.error) });
  }

  if (o.requeueHeld !== false) await requeueHeld();

  /**
   * A previous process under this instance id died holding tasks: nobody will finish them, their leases
   * would only run out later, and until then the WIP limit refuses this process every claim. This process
   * is that instance now, so it gives them back at once (their attempt stays used, as after an expired
   * lease). Resuming them is not possible: the command that was running is gone, its worktree removed.
   */
  async function requeueHeld(): Promise<void> {
    try {
      const res = await o.client.requeueHeld(o.agent, `${o.agent.instanceId} restarted: the worker process that held it is gone`, { signal: o.stop });
      if (res.tasks.length > 0) {
        emit({ type: 'requeued_held', tasks: res.tasks.map((t) => ({ taskId: t.task_id, status: t.status, previousStatus: t.previous_status })) });
      }
    } catch (err) {
      if (o.stop.aborted) return;
      // A server from before this route answers 404: the leases run out as before.
      if (isPermanent(err) && !(err instanceof AthenaError && err.status === 404)) throw err;
      emit({ type: 'requeue_held_failed', error: message(err) });
    }
  }

  // Said once per idle stretch, not once per long-poll request.
  let waiting = false;
  /** The next task, handed with the last report: run without a claim of its own. */
  let handed: ClaimedTaskJson | null = null;
  try {
    while (!o.stop.aborted) {
      if (o.maxTasks !== undefined && summary.tasks >= o.maxTasks) break;
      const task = handed ?? (await claim());
      handed = null;
      if (task === undefined) break;
      if (task) {
        waiting = false;
        summary.tasks++;
        emit({ type: 'claimed', task });
        handed = await runTask(task);
        if (observerError) throw observerError;
      }
      if (o.once) break;
    }
  } finally {
    // A task handed with the last report that the worker will not run: it was stopped meanwhile.
    if (handed) await releaseUnrun(handed.id, fence(handed), 'stopped', 'the worker stopped before it started the task');
  }
  return summary;

  /** A long-poll claim: the task, null when none came in time or the claim failed (after a pause), undefined when stopped. */
  async function claim(): Promise<ClaimedTaskJson | null | undefined> {
    if (!waiting) emit({ type: 'waiting' });
    waiting = true;
    let task: ClaimedTaskJson | null;
    try {
      const res = await o.client.claimNext(o.agent, { labels: o.labels, projects: o.projects, wait: o.pollSeconds, leaseSeconds: o.leaseSeconds }, { signal: o.stop });
      task = res.task;
      backoffMs = 1000;
    } catch (err) {
      if (o.stop.aborted) return undefined;
      // --once polls once: a refusal (say WIP_LIMIT, another process of this instance holds a task) or
      // an unreachable server ends it with the error instead of retrying.
      if (isPermanent(err) || o.once) throw err;
      emit({ type: 'claim_failed', error: message(err), retryInMs: backoffMs });
      waiting = false;
      await sleep(backoffMs, o.stop);
      backoffMs = Math.min(backoffMs * 2, 30_000);
      return null;
    }
    return task;
  }
}
