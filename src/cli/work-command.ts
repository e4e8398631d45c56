// `athena work`: runs the worker loop in this process, turns its events into log lines (or JSON lines)
// and a status line, and maps SIGINT/SIGTERM to "finish the current task, then stop" (twice: stop now).
import { agentCommandFor, type CommandFor } from './agent-command.js';
import type { AgentPreset } from './agent-presets.js';
import type { CommandContext } from './commands/context.js';
import { duration, shortTime, taskTitle, truncate } from './format.js';
import type { ClientSettings } from './settings.js';
import { lockInstance } from './instance-lock.js';
import { createStatusLine } from './status-line.js';
import { runWorker, type WorkerEvent, type WorkerSummary } from './worker.js';
import { cleanStaleWorktrees, openRepository, type Repository } from './workspace.js';

/** What to run per task and where: --exec/--agent/--prompt-template, --repo/--base/--worktrees. */
export type WorkSetupInput = {
  exec?: string;
  agent?: AgentPreset;
  promptTemplate?: string;
  repo?: string;
  base?: string;
  worktrees?: string;
};

export type WorkSetup = { commandFor?: CommandFor; repository?: Repository };

/** Checks the flags and the repository before anything is claimed; creates nothing. */
export async function setUpWork(ctx: CommandContext, input: WorkSetupInput): Promise<WorkSetup> {
  const repository = input.repo ? await openRepository({ path: input.repo, base: input.base, worktreesDir: input.worktrees, instanceId: ctx.agent.instanceId }) : undefined;
  return { repository, commandFor: agentCommandFor({ exec: input.exec, agent: input.agent, promptTemplate: input.promptTemplate, repository }) };
}

export type WorkInput = WorkSetup & {
  exec?: string;
  keepWorktrees?: boolean;
  labels?: string[];
  projects?: string[];
  maxTasks?: number;
  once?: boolean;
  timeoutSeconds?: number;
  graceSeconds: number;
  pollSeconds: number;
  leaseSeconds?: number;
  heartbeatSeconds?: number;
  retry?: boolean;
  /** Hand the API key to the command (ATHENA_API_KEY); without it the command gets no key. */
  passKey?: boolean;
  quiet?: boolean;
  json?: boolean;
};

export type WorkIo = {
  stdout: { write(s: string | Buffer): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string | Buffer): unknown; isTTY?: boolean; columns?: number };
};

const OUTCOME_ICON = { completed: '✅', failed: '❌', requeued: '🔁', released: '↩️ ', lost: '⚠️ ', unreported: '⚠️ ' } as const;

export async function work(ctx: CommandContext, settings: ClientSettings, input: WorkInput, io: WorkIo): Promise<WorkerSummary> {
  const { style } = ctx;
  const status = createStatusLine(io.stdout, io.stderr, !input.json && io.stderr.isTTY === true);
  const counts = { done: 0, failed: 0 };
  let running: { id: number; title: string; since: number; lease: string | null } | null = null;
  let stopping = false;

  const stop = new AbortController();
  const abort = new AbortController();
  const jsonLine = (event: string, fields: object) => io.stdout.write(`${JSON.stringify({ event, at: new Date().toISOString(), ...fields })}\n`);
  const onSignal = (signal: NodeJS.Signals) => {
    const now = stop.signal.aborted;
    if (input.json) jsonLine('signal', { signal, action: now ? 'stop_now' : 'stop' });
    else if (now) status.log(`⏹  ${signal} again: stopping the command now`);
    else if (!running) status.log(`⏹  ${signal}: stopping`);
    stopping = true;
    if (now) abort.abort();
    else stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const tally = () => style.dim(`${counts.done} done, ${counts.failed} failed`);
  const redraw = () => {
    if (running) {
      const lease = running.lease ? ` · lease until ${shortTime(running.lease)}` : '';
      status.set(`${stopping ? '⏹  finishing' : '▶️  running'} ${running.title} · ${duration(Date.now() - running.since)}${lease} · ${tally()}`);
    } else if (stopping) {
      status.set('⏹  stopping');
    } else {
      status.set(`⏳ waiting for a task${input.labels?.length ? ` (labels ${input.labels.join(', ')})` : ''} as ${ctx.agent.instanceId} · ${tally()}`);
    }
  };
  const ticker = setInterval(redraw, 1000);
  ticker.unref();

  const onEvent = (e: WorkerEvent) => {
    if (input.json) {
      const { type, ...rest } = e;
      return void jsonLine(type, rest);
    }
    switch (e.type) {
      case 'waiting':
        break;
      case 'claimed':
        running = { id: e.task.id, title: taskTitle(e.task, style, 60), since: Date.now(), lease: e.task.lease_expires_at };
        status.log(`▶️  claimed ${taskTitle(e.task, style, (io.stdout.columns ?? 120) - 14)}`);
        break;
      case 'workspace':
        status.log(style.dim(`📂 #${e.taskId} on branch ${e.branch} (${e.continued ? 'continued' : `new, from ${e.base}`}) in ${e.path}`));
        break;
      case 'workspace_failed':
        status.log(style.red(`❌ #${e.taskId} ${e.error}`));
        break;
      case 'heartbeat':
        if (running) running.lease = e.leaseExpiresAt;
        break;
      case 'task_changed':
        if (e.description !== null) status.log(style.yellow(`✏️  #${e.taskId}'s description was edited: ${truncate(e.description, 200)}`));
        for (const c of e.comments) status.log(`💬 #${e.taskId} ${c.author}: ${truncate(c.body, 300)}`);
        break;
      case 'heartbeat_failed':
        status.log(style.yellow(`⚠️  heartbeat for #${e.taskId} failed: ${e.error}`));
        break;
      case 'lease_lost':
        status.log(style.yellow(`⚠️  #${e.taskId} is no longer ours (${e.error}): stopping the command`));
        break;
      case 'timed_out':
        status.log(style.yellow(`⏱️  #${e.taskId} timed out after ${duration(e.timeoutMs)}: stopping the command`));
        break;
      case 'draining':
        status.log(`⏹  stopping: #${e.taskId} may finish within ${duration(e.graceMs)}, then it is released (signal again to stop now)`);
        break;
      case 'finished': {
        running = null;
        if (e.outcome === 'completed') counts.done++;
        else if (e.outcome === 'failed' || e.outcome === 'requeued') counts.failed++;
        const verb = e.outcome === 'requeued' ? 'failed, will be retried' : e.outcome === 'unreported' ? 'not reported' : e.outcome;
        const detail = e.detail ? `: ${e.detail}` : '';
        const line = `${OUTCOME_ICON[e.outcome]} #${e.taskId} ${verb} after ${duration(e.durationMs)}${detail}`;
        status.log(e.outcome === 'completed' ? style.green(line) : e.outcome === 'released' ? line : style.red(line));
        break;
      }
      case 'requeued_held':
        for (const t of e.tasks) {
          status.log(style.yellow(`↩️  #${t.taskId} was held by this instance's previous process (${t.previousStatus}): ${t.status === 'failed' ? 'failed, no attempt left' : 'back in the queue'}`));
        }
        break;
      case 'requeue_held_failed':
        status.log(style.yellow(`⚠️  could not give back the tasks an earlier process of this instance held: ${e.error}; their leases will run out`));
        break;
      case 'claim_failed':
        status.log(style.yellow(`⚠️  could not claim: ${e.error}; retrying in ${duration(e.retryInMs)}`));
        break;
      case 'handed_back': {
        const how = e.why === 'stopped' ? 'came with the last report, but the worker is stopping' : 'was claimed by a report whose answer was lost';
        status.log(e.error === null ? `↩️  #${e.taskId} ${how}: given back to the queue unrun` : style.yellow(`⚠️  #${e.taskId} ${how}, and could not be given back (${e.error}); its lease will run out`));
        break;
      }
    }
    redraw();
  };

  const lock = lockInstance(settings.url, ctx.agent.instanceId);
  try {
    if (!lock.ok) {
      const warning = `another worker (pid ${lock.pid}) runs as ${ctx.agent.instanceId} on this machine: the tasks and worktrees it holds are left alone; give each worker its own CLAUDE_INSTANCE`;
      if (input.json) jsonLine('instance_shared', { pid: lock.pid, instanceId: ctx.agent.instanceId });
      else status.log(style.yellow(`⚠️  ${warning}`));
    }
    // With --keep-worktrees the worktrees of earlier runs are kept on purpose.
    // With another live worker of this instance, those worktrees may be its running tasks'.
    if (input.repository && !input.keepWorktrees && lock.ok) {
      // A crashed worker left its worktrees: they are ours, and their tasks' leases run out on the server.
      const removed = await cleanStaleWorktrees(input.repository);
      if (input.json) jsonLine('workspaces_cleaned', { removed });
      else if (removed.length) status.log(`🧹 removed ${removed.length} worktree(s) left by an earlier run`);
    }
    const summary = await runWorker({
      client: ctx.client,
      agent: ctx.agent,
      command: input.exec ?? '',
      commandFor: input.commandFor,
      repository: input.repository,
      keepWorktrees: input.keepWorktrees,
      labels: input.labels,
      projects: input.projects,
      maxTasks: input.maxTasks,
      once: input.once,
      timeoutMs: input.timeoutSeconds === undefined ? undefined : input.timeoutSeconds * 1000,
      graceMs: input.graceSeconds * 1000,
      pollSeconds: input.pollSeconds,
      leaseSeconds: input.leaseSeconds,
      heartbeatMs: input.heartbeatSeconds === undefined ? undefined : input.heartbeatSeconds * 1000,
      retryFailures: input.retry,
      env: ctx.env,
      apiUrl: settings.url,
      apiKey: settings.apiKey,
      passKey: input.passKey,
      onOutput: input.quiet ? undefined : (_stream, chunk) => (input.json ? io.stderr.write(chunk) : status.passthrough(chunk)),
      onEvent,
      requeueHeld: lock.ok,
      stop: stop.signal,
      abort: abort.signal,
    });
    status.clear();
    if (input.json) jsonLine('stopped', summary);
    else io.stdout.write(`👋 stopped after ${summary.tasks} task(s): ${summary.completed} completed, ${summary.failed + summary.requeued} failed, ${summary.released} released\n`);
    return summary;
  } finally {
    if (lock.ok) lock.release();
    status.clear();
    clearInterval(ticker);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
