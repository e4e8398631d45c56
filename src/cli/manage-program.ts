// The task-management commands of the CLI (edit, delete, reopen, retry, comment, depends, bulk, export/import).
import { Option, type Command } from 'commander';
import * as manage from './commands/manage.js';
import { clientCommand, parseCount, parseId, parseIds, parseList, run, type CommonFlags } from './program.js';
import { PRIORITIES } from '../core/types.js';
import type { Priority } from '../client/types.js';

type FilterFlags = CommonFlags & { label?: string; project?: string; priority?: Priority; search?: string; instance?: string; agent?: string };

/** The filter options the bulk actions share. */
function withFilter(command: Command): Command {
  return command
    .option('-l, --label <label>', 'only tasks with this label')
    .option('--project <project>', 'only this project')
    .addOption(new Option('-p, --priority <level>', 'only this priority').choices(PRIORITIES))
    .option('-q, --search <text>', 'only tasks whose description has this text')
    .option('--agent <instance>', 'only tasks this agent instance held');
}

const filterOf = (f: FilterFlags) => ({ label: f.label, project: f.project, priority: f.priority, q: f.search, instance_id: f.agent });

const parseDays = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error('expected a number of days >= 0');
  return n;
};

export function registerManageCommands(program: Command): void {
  clientCommand(program, 'edit', 'edit a task that has not finished')
    .argument('<id>', 'task id', parseId)
    .option('-d, --description <text>', 'new description')
    .addOption(new Option('-p, --priority <level>', 'new priority').choices(PRIORITIES))
    .option('-l, --labels <labels>', 'comma-separated labels (replaces them)', parseList)
    .option('--project <project>', 'project ("none" clears it)')
    .option('-n, --notes <notes>', 'notes for the agent')
    .option('--max-attempts <n>', 'attempts before it fails for good', parseCount)
    .option('--run-after <when>', 'not before this time: "in 2h", "tomorrow 9:00" (TZ), ISO 8601; "none": now')
    .option('--assignee <instance>', 'only this agent instance may claim it ("none": any agent)')
    .option('--depends-on <ids>', 'comma-separated task ids (replaces the dependencies)', parseIds)
    .action((id: number, f: CommonFlags & manage.EditInput & { dependsOn?: number[]; maxAttempts?: number }) =>
      run(f, (ctx) =>
        manage.edit(ctx, id, {
          description: f.description, priority: f.priority, labels: f.labels, project: f.project, notes: f.notes,
          max_attempts: f.maxAttempts, runAfter: f.runAfter, assignee: f.assignee, depends_on: f.dependsOn,
        }),
      ),
    );

  clientCommand(program, 'delete', 'delete a task (admin key)')
    .argument('<id>', 'task id', parseId)
    .option('--force', 'also when an agent holds it (it is stopped) or other tasks depend on it (they are blocked)')
    .action((id: number, f: CommonFlags & { force?: boolean }) => run(f, (ctx) => manage.remove(ctx, id, f.force)));

  clientCommand(program, 'reopen', 'put a completed, cancelled or failed task back to pending with fresh attempts')
    .argument('<id>', 'task id', parseId)
    .option('-r, --reason <reason>', 'why')
    .action((id: number, f: CommonFlags & { reason?: string }) => run(f, (ctx) => manage.reopen(ctx, id, f.reason)));

  clientCommand(program, 'retry', 'put a failed task back to pending with fresh attempts')
    .argument('<id>', 'task id', parseId)
    .action((id: number, f: CommonFlags) => run(f, (ctx) => manage.retry(ctx, id)));

  clientCommand(program, 'comment', 'comment on a task (its agent sees it at its next heartbeat)')
    .argument('<id>', 'task id', parseId)
    .argument('<text...>', 'the comment (quote it, or it is joined with spaces)')
    .action((id: number, words: string[], f: CommonFlags) => run(f, (ctx) => manage.comment(ctx, id, words.join(' '))));

  clientCommand(program, 'depends', 'add dependencies to a task that has not started')
    .argument('<id>', 'task id', parseId)
    .argument('<ids>', 'comma-separated task ids it must wait for', parseIds)
    .action((id: number, ids: number[], f: CommonFlags) => run(f, (ctx) => manage.depends(ctx, id, ids)));

  withFilter(clientCommand(program, 'retry-failed', 'retry every failed task matching the filter (admin key)')).action((f: FilterFlags) =>
    run(f, (ctx) => manage.retryFailed(ctx, filterOf(f))),
  );

  withFilter(clientCommand(program, 'cancel-pending', 'cancel every pending task matching the filter (admin key)')).action((f: FilterFlags) =>
    run(f, (ctx) => manage.cancelPending(ctx, filterOf(f))),
  );

  clientCommand(program, 'purge', 'delete completed and cancelled tasks older than N days (admin key)')
    .requiredOption('--older-than <days>', 'age in days', parseDays)
    .action((f: CommonFlags & { olderThan: number }) => run(f, (ctx) => manage.purge(ctx, f.olderThan)));

  clientCommand(program, 'export', 'the whole queue as JSON (admin key; it holds lease tokens)')
    .option('-o, --output <file>', 'write to this file (mode 600) instead of stdout')
    .action((f: CommonFlags & { output?: string }) => run(f, (ctx) => manage.exportQueue(ctx, f.output)));

  clientCommand(program, 'import', 'restore an export into an empty queue (admin key)')
    .argument('<file>', 'the export file')
    .action((file: string, f: CommonFlags) => run(f, (ctx) => manage.importQueue(ctx, file)));
}
