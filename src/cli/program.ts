// The agent-side commands of `athena` (check, list, claim, complete, work, mcp …). Client only: it talks
// HTTP to a server and never imports server code, so it also ships as the one-file dist/athena-cli.mjs.
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { AthenaClient, AthenaError } from '../client/index.js';
import * as controls from './commands/controls.js';
import * as schedules from './commands/schedules.js';
import * as lease from './commands/lease.js';
import * as queue from './commands/queue.js';
import * as webhooks from './commands/webhooks.js';
import type { CommandContext, CommandOutput } from './commands/context.js';
import { UsageError, errorCode } from './errors.js';
import { makeStyle, wantsColor } from './format.js';
import { resolveSettings, type ClientFlags, type ClientSettings } from './settings.js';
import { PRIORITIES } from '../core/types.js';
import type { Priority } from '../client/types.js';
import { registerManageCommands } from './manage-program.js';
import { startTimeIso } from './commands/manage.js';
import { AGENT_PRESETS } from './agent-presets.js';
import { setUpWork, work, type WorkSetupInput } from './work-command.js';
import { dryRun } from './work-dry-run.js';

export type CommonFlags = ClientFlags & { json?: boolean };

export const parseId = (value: string): number => {
  const n = Number(value.replace(/^#/, ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a task id such as 12');
  return n;
};
export const parsePositive = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number greater than 0');
  return n;
};
export const parseCount = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a whole number greater than 0');
  return n;
};
const parseLimit = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
};
export const parseList = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
export const parseIds = (value: string): number[] => parseList(value).map(parseId);
const parseJson = (value: string): unknown => {
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected JSON, e.g. \'{"pr": 42}\'');
  }
};

/** Where to connect and as whom: --url, --key, --instance. */
function withConnection(command: Command): Command {
  return command
    .option('--url <url>', 'server URL (default: ATHENA_API_URL or http://localhost:5051)')
    .option('--key <key>', 'API key (default: ATHENA_API_KEY)')
    .option('--instance <id>', 'this agent\'s instance id (default: CLAUDE_INSTANCE or the hostname)');
}

/** A client command: connection flags plus --json. */
export function clientCommand(parent: Command, name: string, description: string, o: { isDefault?: boolean } = {}): Command {
  return withConnection(parent.command(name, o).description(description)).option('--json', 'print JSON for scripts');
}

/** Errors go to stderr: a line for people, or `{"error","code"}` under --json for scripts (same exit code). */
function printError(err: unknown, settings: ClientSettings | null, asJson = false): void {
  const code = errorCode(err);
  if (asJson) {
    process.stderr.write(`${JSON.stringify({ error: (err as Error)?.message ?? String(err), code: code ?? 'ERROR' })}\n`);
    return;
  }
  let line = `Error: ${(err as Error)?.message ?? String(err)}${code ? ` (${code})` : ''}`;
  if (err instanceof AthenaError && err.status === 401) {
    line += settings?.apiKey ? '\n  the API key was refused: check ATHENA_API_KEY or --key' : '\n  no API key given: set ATHENA_API_KEY or pass --key';
  }
  process.stderr.write(`${line}\n`);
}

/** Builds the context, runs one command, prints its output; errors go to stderr with exit code 1. */
export async function run(flags: CommonFlags, fn: (ctx: CommandContext, settings: ClientSettings) => Promise<CommandOutput | null>, o: { interruptible?: boolean } = {}) {
  let settings: ClientSettings | null = null;
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  if (o.interruptible) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  try {
    settings = resolveSettings(flags);
    const color = !flags.json && wantsColor(process.stdout);
    const ctx: CommandContext = {
      client: new AthenaClient({ baseUrl: settings.url, apiKey: settings.apiKey }),
      agent: settings.agent,
      style: makeStyle(color),
      width: process.stdout.isTTY ? (process.stdout.columns ?? 100) : 10_000,
      env: process.env,
      signal: interrupt.signal,
    };
    const out = await fn(ctx, settings);
    if (out) process.stdout.write(`${flags.json ? JSON.stringify(out.json, null, 2) : out.text}\n`);
  } catch (err) {
    printError(err, settings, flags.json);
    process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export type ClientCommandOptions = {
  /** The one-file client has no server inside: `serve` explains where to get it. */
  standalone?: boolean;
};

export function registerClientCommands(program: Command, options: ClientCommandOptions = {}): void {
  // The connection flags and --json may also come before the command name: `athena --json list`.
  withConnection(program).option('--json', 'print JSON for scripts (before or after the command name)');
  program.hook('preAction', (root, action) => {
    for (const [key, value] of Object.entries(root.opts())) {
      const known = action.options.some((o) => o.attributeName() === key);
      if (known && value !== undefined && action.getOptionValue(key) === undefined) action.setOptionValue(key, value);
    }
  });
  clientCommand(program, 'check', 'startup summary: tasks pending, and what this instance holds').action((f: CommonFlags) => run(f, (ctx) => queue.check(ctx)));

  clientCommand(program, 'list', 'list tasks (pending, in queue order, by default)')
    .option('-s, --status <states>', 'comma-separated states or "all" (pending, in_progress, needs_input, in_review, blocked, completed, failed, cancelled)')
    .addOption(new Option('-p, --priority <level>', 'only this priority').choices(PRIORITIES))
    .option('-l, --label <label>', 'only tasks with this label')
    .option('--project <project>', 'only this project')
    .option('-q, --search <text>', 'text in the description')
    .option('--mine', 'only tasks this instance holds')
    .option('--limit <n>', 'at most n tasks', parseCount)
    .option('--cursor <cursor>', 'continue a previous page')
    .action((f: CommonFlags & queue.ListInput) => run(f, (ctx) => queue.list(ctx, f)));

  clientCommand(program, 'next', 'show the task a claim would get next (does not claim)').action((f: CommonFlags) => run(f, (ctx) => queue.next(ctx)));

  clientCommand(program, 'status', 'queue statistics and agents').action((f: CommonFlags) => run(f, (ctx) => queue.status(ctx)));

  clientCommand(program, 'show', 'one task with its log')
    .argument('<id>', 'task id', parseId)
    .action((id: number, f: CommonFlags) => run(f, (ctx) => queue.show(ctx, id)));

  clientCommand(program, 'add', 'add a task')
    .argument('<description...>', 'what to do (quote it, or it is joined with spaces)')
    .addOption(new Option('-p, --priority <level>', 'priority').choices(PRIORITIES).default('medium'))
    .option('-l, --labels <labels>', 'comma-separated labels an agent needs to take it', parseList)
    .option('--project <project>', 'project or repository')
    .option('--depends-on <ids>', 'comma-separated task ids that must complete first', parseIds)
    .option('-n, --notes <notes>', 'notes for the agent')
    .option('--max-attempts <n>', 'attempts before it fails for good', parseCount)
    .option('--idempotency-key <key>', 'adding twice with the same key creates one task')
    .option('--run-after <when>', 'not before this time: "in 2h", "tomorrow 9:00" (TZ), ISO 8601')
    .option('--assignee <instance>', 'only this agent instance may claim it')
    .option('--review', 'when its agent completes it, it waits in in_review for a person to accept it (athena review)')
    .action((words: string[], f: CommonFlags & { priority: Priority; labels?: string[]; project?: string; dependsOn?: number[]; notes?: string; maxAttempts?: number; idempotencyKey?: string; runAfter?: string; assignee?: string; review?: boolean }) =>
      run(f, (ctx) =>
        queue.add(ctx, {
          description: words.join(' '),
          priority: f.priority,
          labels: f.labels,
          project: f.project,
          depends_on: f.dependsOn,
          notes: f.notes,
          max_attempts: f.maxAttempts,
          idempotency_key: f.idempotencyKey,
          run_after: f.runAfter === undefined ? undefined : startTimeIso(f.runAfter),
          assignee: f.assignee,
          review: f.review,
        }),
      ),
    );

  clientCommand(program, 'review', 'decide on a task in in_review: --accept, or --changes "what to change" (back to its agent)')
    .argument('<id>', 'task id', parseId)
    .option('--accept', 'accept the work: the task is completed')
    .option('--changes <feedback>', 'send it back with this feedback for the next agent')
    .action((id: number, f: CommonFlags & { accept?: boolean; changes?: string }) => run(f, (ctx) => queue.review(ctx, id, f)));

  clientCommand(program, 'pause', 'stop handing out work (admin): the whole queue, or label:<name> or project:<name>')
    .argument('[scope]', '"queue" (default), "label:<name>" or "project:<name>"')
    .option('-r, --reason <reason>', 'why, shown wherever the pause is')
    .action((scope: string | undefined, f: CommonFlags & { reason?: string }) => run(f, (ctx) => controls.pause(ctx, scope, f.reason)));

  clientCommand(program, 'resume', 'hand out work again after a pause (admin)')
    .argument('[scope]', '"queue" (default), "label:<name>" or "project:<name>"')
    .action((scope: string | undefined, f: CommonFlags) => run(f, (ctx) => controls.resume(ctx, scope)));

  const limits = program.command('limits').description('concurrency limits: at most N tasks of a label or project held at once');
  clientCommand(limits, 'list', 'list the limits with what each scope holds now', { isDefault: true }).action((f: CommonFlags) => run(f, (ctx) => controls.limits(ctx)));
  clientCommand(limits, 'set', 'set a limit (admin), e.g. athena limits set label:db 2')
    .argument('<scope>', '"label:<name>" or "project:<name>"')
    .argument('<max>', 'tasks held at once, at most (0 stops claims there)', parseLimit)
    .action((scope: string, max: number, f: CommonFlags) => run(f, (ctx) => controls.setLimit(ctx, scope, max)));
  clientCommand(limits, 'rm', 'remove a limit (admin)')
    .argument('<scope>', '"label:<name>" or "project:<name>"')
    .action((scope: string, f: CommonFlags) => run(f, (ctx) => controls.removeLimit(ctx, scope)));

  const schedule = program.command('schedule').description('recurring tasks: a task created on a cron expression (admin keys to change them)');
  clientCommand(schedule, 'add', 'add a schedule, e.g. athena schedule add "0 9 * * 1-5" "Update dependencies" -l deps --project web')
    .argument('<cron>', 'five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly')
    .argument('<description...>', 'what each created task asks (quote it, or it is joined with spaces)')
    .addOption(new Option('-p, --priority <level>', 'priority of the tasks').choices(PRIORITIES))
    .option('-l, --labels <labels>', 'comma-separated labels an agent needs to take them', parseList)
    .option('--project <project>', 'project or repository')
    .option('-n, --notes <notes>', 'notes for the agent')
    .option('--max-attempts <n>', 'attempts before a task fails for good', parseCount)
    .option('--assignee <instance>', 'only this agent instance may claim them')
    .option('--review', 'completed tasks wait in in_review for a person')
    .option('--tz <zone>', 'IANA time zone of the expression (default: the server\'s TZ)')
    .option('--until <when>', 'no run after this time: "2026-12-31", "in 30d", ISO 8601')
    .addOption(new Option('--missed <policy>', 'after downtime: skip (no task for missed runs) or once (one task for all)').choices(['skip', 'once']))
    .option('--overlap', 'create a task even while the previous one is still open')
    .action(
      (
        cron: string,
        words: string[],
        f: CommonFlags & { priority?: Priority; labels?: string[]; project?: string; notes?: string; maxAttempts?: number; assignee?: string; review?: boolean; tz?: string; until?: string; missed?: 'skip' | 'once'; overlap?: boolean },
      ) =>
        run(f, (ctx) =>
          schedules.add(ctx, {
            cron,
            description: words.join(' '),
            priority: f.priority,
            labels: f.labels,
            project: f.project,
            notes: f.notes,
            max_attempts: f.maxAttempts,
            assignee: f.assignee,
            review: f.review,
            time_zone: f.tz,
            until: f.until === undefined ? undefined : startTimeIso(f.until),
            missed: f.missed,
            overlap: f.overlap,
          }),
        ),
    );
  clientCommand(schedule, 'list', 'list schedules with their next run', { isDefault: true }).action((f: CommonFlags) => run(f, (ctx) => schedules.list(ctx)));
  clientCommand(schedule, 'pause', 'pause a schedule (admin)').argument('<id>', 'schedule id', parseId).action((id: number, f: CommonFlags) => run(f, (ctx) => schedules.pause(ctx, id)));
  clientCommand(schedule, 'resume', 'resume a schedule from now (admin)').argument('<id>', 'schedule id', parseId).action((id: number, f: CommonFlags) => run(f, (ctx) => schedules.resume(ctx, id)));
  clientCommand(schedule, 'rm', 'remove a schedule (admin); its tasks stay').argument('<id>', 'schedule id', parseId).action((id: number, f: CommonFlags) => run(f, (ctx) => schedules.remove(ctx, id)));
  clientCommand(schedule, 'run', 'create the schedule\'s task now (admin)').argument('<id>', 'schedule id', parseId).action((id: number, f: CommonFlags) => run(f, (ctx) => schedules.runNow(ctx, id)));
  const hooks = program.command('webhooks').description('signed webhooks: POST task events to a URL (admin)');
  clientCommand(hooks, 'list', 'list the webhooks (never their secrets)', { isDefault: true }).action((f: CommonFlags) => run(f, (ctx) => webhooks.list(ctx)));
  clientCommand(hooks, 'add', 'add a webhook; its signing secret is shown once')
    .argument('<url>', 'http or https URL the events are POSTed to')
    .option('-e, --events <events>', 'comma-separated: task.created, task.claimed, task.completed, task.failed, task.needs_input, task.in_review, or * (default)', parseList, ['*'])
    .option('-l, --label <label>', 'only tasks with this label')
    .option('--project <project>', 'only tasks of this project')
    .action((url: string, f: CommonFlags & { events: string[]; label?: string; project?: string }) => run(f, (ctx) => webhooks.add(ctx, url, f)));
  clientCommand(hooks, 'rm', 'remove a webhook and its deliveries')
    .argument('<id>', 'webhook id', parseId)
    .action((id: number, f: CommonFlags) => run(f, (ctx) => webhooks.remove(ctx, id)));
  clientCommand(hooks, 'enable', 'send to a disabled webhook again (same secret; failed deliveries stay failed: redeliver them)')
    .argument('<id>', 'webhook id', parseId)
    .action((id: number, f: CommonFlags) => run(f, (ctx) => webhooks.enable(ctx, id)));
  clientCommand(hooks, 'deliveries', "a webhook's deliveries, newest first, with their last answer")
    .argument('<id>', 'webhook id', parseId)
    .addOption(new Option('--status <status>', 'only these').choices(['pending', 'delivered', 'failed']))
    .option('-n, --limit <n>', 'how many (default 50)', parseCount)
    .action((id: number, f: CommonFlags & { status?: 'pending' | 'delivered' | 'failed'; limit?: number }) => run(f, (ctx) => webhooks.deliveries(ctx, id, { status: f.status, limit: f.limit })));
  clientCommand(hooks, 'redeliver', 'send a delivery again (same id and body, new retry window)')
    .argument('<id>', 'webhook id', parseId)
    .argument('<delivery>', 'delivery id', parseId)
    .action((id: number, delivery: number, f: CommonFlags) => run(f, (ctx) => webhooks.redeliver(ctx, id, delivery)));

  clientCommand(program, 'cancel', 'cancel a task that has not finished')
    .argument('<id>', 'task id', parseId)
    .option('-r, --reason <reason>', 'why')
    .action((id: number, f: CommonFlags & { reason?: string }) => run(f, (ctx) => queue.cancel(ctx, id, f.reason)));

  clientCommand(program, 'priority', 'change a task\'s priority')
    .argument('<id>', 'task id', parseId)
    .addArgument(new Argument('<level>', 'new priority').choices(PRIORITIES))
    .action((id: number, level: Priority, f: CommonFlags) => run(f, (ctx) => queue.priority(ctx, id, level)));

  registerManageCommands(program);

  clientCommand(program, 'claim', 'claim a pending task by id')
    .argument('<id>', 'task id', parseId)
    .option('--lease-seconds <s>', 'lease length (default: the server\'s LEASE_SECONDS)', parseCount)
    .action((id: number, f: CommonFlags & { leaseSeconds?: number }) => run(f, (ctx) => lease.claim(ctx, id, f.leaseSeconds)));

  clientCommand(program, 'wait', 'wait (long-poll) for the next task this agent can take, and claim it')
    .option('-l, --labels <labels>', 'comma-separated labels this agent serves ("*" for any task)', parseList)
    .option('-t, --timeout <seconds>', 'give up after this long (default: wait until a task comes)', parsePositive)
    .option('--lease-seconds <s>', 'lease length', parseCount)
    .action((f: CommonFlags & { labels?: string[]; timeout?: number; leaseSeconds?: number }) =>
      run(f, (ctx) => lease.wait(ctx, { labels: f.labels, timeoutSeconds: f.timeout, leaseSeconds: f.leaseSeconds }), { interruptible: true }),
    );

  const leaseToken = '--lease-token <token>';
  const leaseTokenHelp = 'the token from the claim (default: ATHENA_LEASE_TOKEN inside `athena work`, else this instance id fences)';

  clientCommand(program, 'heartbeat', 'extend the lease of a task you hold')
    .argument('<id>', 'task id', parseId)
    .option('-m, --progress <text>', 'what you are doing, for the log')
    .option('--lease-seconds <s>', 'new lease length', parseCount)
    .option(leaseToken, leaseTokenHelp)
    .action((id: number, f: CommonFlags & { progress?: string; leaseSeconds?: number; leaseToken?: string }) => run(f, (ctx) => lease.heartbeat(ctx, id, f)));

  clientCommand(program, 'complete', 'mark a task you hold completed')
    .argument('<id>', 'task id', parseId)
    .option('-n, --notes <notes>', 'what was done')
    .option('--result <json>', 'any JSON to attach as the result', parseJson)
    .option(leaseToken, leaseTokenHelp)
    .option('--next', 'also claim your next task in the same request (printed as `athena claim` does)')
    .option('-l, --labels <labels>', 'with --next: comma-separated labels this agent serves ("*" for any task)', parseList)
    .option('--lease-seconds <s>', 'with --next: lease length', parseCount)
    .action((id: number, f: CommonFlags & { notes?: string; result?: unknown; leaseToken?: string; next?: boolean; labels?: string[]; leaseSeconds?: number }) =>
      run(f, (ctx) => lease.complete(ctx, id, f)),
    );

  clientCommand(program, 'fail', 'report that a task you hold failed')
    .argument('<id>', 'task id', parseId)
    .option('-e, --error <text>', 'what went wrong')
    .option('--retry', 'requeue it (with backoff) while attempts remain')
    .option(leaseToken, leaseTokenHelp)
    .action((id: number, f: CommonFlags & { error?: string; retry?: boolean; leaseToken?: string }) => run(f, (ctx) => lease.fail(ctx, id, f)));

  clientCommand(program, 'release', 'give a task you hold back to the queue')
    .argument('<id>', 'task id', parseId)
    .option('-r, --reason <reason>', 'why')
    .option(leaseToken, leaseTokenHelp)
    .action((id: number, f: CommonFlags & { reason?: string; leaseToken?: string }) => run(f, (ctx) => lease.release(ctx, id, f)));

  clientCommand(program, 'ask', 'ask a human a question about a task you hold (it waits in needs_input)')
    .argument('<id>', 'task id', parseId)
    .argument('<question...>', 'the question (quote it, or it is joined with spaces)')
    .option('-w, --wait', 'block until the answer comes and print it (for scripts run by `athena work`)')
    .option(leaseToken, leaseTokenHelp)
    .action((id: number, words: string[], f: CommonFlags & { wait?: boolean; leaseToken?: string }) =>
      run(f, (ctx) => lease.ask(ctx, id, { question: words.join(' '), wait: f.wait, leaseToken: f.leaseToken }), { interruptible: true }),
    );

  clientCommand(program, 'answer', 'answer the question of a task in needs_input')
    .argument('<id>', 'task id', parseId)
    .argument('<answer...>', 'the answer (quote it, or it is joined with spaces)')
    .action((id: number, words: string[], f: CommonFlags) => run(f, (ctx) => queue.answer(ctx, id, words.join(' '))));

  clientCommand(program, 'work', 'worker loop: claim a task, run a command for it, report the result, repeat')
    .option('-x, --exec <command>', 'shell command to run per task (task in ATHENA_TASK_* env vars and as JSON on stdin)')
    .addOption(new Option('--agent <name>', 'run this agent CLI per task, with a prompt made from the task (generic: your --exec, prompt in ATHENA_PROMPT)').choices(AGENT_PRESETS))
    .option('--prompt-template <file>', 'the prompt template for --agent ({{description}}, {{notes}}, {{feedback}}, {{branch}} …; see docs/agents.md)')
    .option('--repo <path>', 'run each task in its own git worktree of this repository, on branch athena/task-<id>')
    .option('--base <branch>', 'with --repo: the branch new task branches start from (default: the repository\'s default branch)')
    .option('--worktrees <dir>', 'with --repo: where worktrees go (default: .git/athena-worktrees in the repository)')
    .option('--keep-worktrees', 'with --repo: leave each task\'s worktree in place when the task ends')
    .option('--dry-run', 'print the command, directory and branch for the next task (or --task), without claiming it')
    .option('--task <id>', 'with --dry-run: this task instead of the next one', parseId)
    .option('-l, --labels <labels>', 'comma-separated labels this worker serves ("*" for any task)', parseList)
    .option('--project <projects>', 'only tasks of this project (comma-separated: of one of these)', parseList)
    .option('--max-tasks <n>', 'stop after n tasks', parseCount)
    .option('--once', 'take at most one task, then stop (stop at once if none comes within --poll seconds)')
    .option('-t, --timeout <seconds>', 'stop the command and fail the task after this long', parsePositive)
    .option('--retry', 'when the command fails or times out, requeue the task (with backoff) while attempts remain')
    .option('--grace <seconds>', 'on SIGTERM/SIGINT, how long the running command may finish before its task is released', parsePositive, 30)
    .option('--poll <seconds>', 'long-poll length of each claim request', parsePositive, 30)
    .option('--lease-seconds <s>', 'lease length to ask for', parseCount)
    .option('--heartbeat <seconds>', 'heartbeat interval (default: a third of the lease, at most 60)', parsePositive)
    .option('--quiet', 'do not show the command\'s output (it is still reported)')
    .option('--pass-key', 'give the command this worker\'s API key as ATHENA_API_KEY, so it can call athena itself (use a per-agent key); without it the command gets no key')
    .action(
      (
        f: CommonFlags &
          WorkSetupInput & {
          keepWorktrees?: boolean;
          dryRun?: boolean;
          task?: number;
          labels?: string[];
          project?: string[];
          maxTasks?: number;
          once?: boolean;
          timeout?: number;
          retry?: boolean;
          grace: number;
          poll: number;
          leaseSeconds?: number;
          heartbeat?: number;
          passKey?: boolean;
          quiet?: boolean;
        },
      ) =>
        run(f, async (ctx, settings) => {
          if (f.exec !== undefined && !f.exec.trim()) throw new UsageError('--exec needs a command');
          if (!f.repo && (f.base || f.worktrees || f.keepWorktrees)) throw new UsageError('--base, --worktrees and --keep-worktrees go with --repo');
          if (f.task !== undefined && !f.dryRun) throw new UsageError('--task goes with --dry-run');
          const setup = await setUpWork(ctx, f);
          if (f.dryRun) return dryRun(ctx, { taskId: f.task, exec: f.exec, ...setup });
          const io = { stdout: process.stdout, stderr: process.stderr };
          await work(
            ctx,
            settings,
            {
              ...setup,
              keepWorktrees: f.keepWorktrees,
              exec: f.exec,
              labels: f.labels,
              projects: f.project,
              maxTasks: f.maxTasks,
              once: f.once,
              timeoutSeconds: f.timeout,
              graceSeconds: f.grace,
              pollSeconds: f.poll,
              leaseSeconds: f.leaseSeconds,
              heartbeatSeconds: f.heartbeat,
              retry: f.retry,
              passKey: f.passKey,
              quiet: f.quiet,
              json: f.json,
            },
            io,
          );
          return null;
        }),
    );

  withConnection(program.command('mcp').description('MCP server over stdio: the queue as tools for Claude Code and other MCP clients'))
    .action(async (f: ClientFlags) => {
      try {
        const settings = resolveSettings(f);
        const { serveMcpStdio } = await import('../mcp/stdio.js');
        await serveMcpStdio(settings);
      } catch (err) {
        printError(err, null);
        process.exitCode = 1;
      }
    });

  if (options.standalone) {
    program
      .command('serve')
      .description('run the server (not in the one-file client)')
      .action(() => {
        process.stderr.write('Error: this one-file client cannot run the server; install the athena package and run `athena serve` (USAGE)\n');
        process.exitCode = 1;
      });
  }
}
