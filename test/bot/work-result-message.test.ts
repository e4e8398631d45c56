// The Discord completion message of a task `athena work --repo` finished: branch, commit count, +/- lines,
// PR link; a result of any other shape adds nothing, and nothing from it is shown as markup.
import { describe, expect, it } from 'vitest';
import { completedMessage } from '../../src/bot/messages.js';
import type { Task } from '../../src/core/types.js';

const task = (result: unknown) =>
  ({ id: 5, description: 'Fix the flaky login test', status: 'completed', priority: 'medium', instanceId: 'a1', instanceName: 'agent-1', notes: 'done', result }) as unknown as Task;

const fields = (result: unknown) => completedMessage(task(result), null).embeds[0]!.fields!;

describe('completedMessage with a work result', () => {
  it('shows the branch with its commits and +/- lines, and the pull request', () => {
    const result = { exit_code: 0, branch: 'athena/task-5', base: 'main', head: 'a'.repeat(40), commits: [{}, {}], files_changed: 3, insertions: 10, deletions: 2, pr_url: 'https://github.com/acme/app/pull/42' };
    expect(fields(result)).toEqual([
      { name: 'Notes', value: 'done' },
      { name: 'Branch', value: '`athena/task-5` from `main`\n2 commits, 3 files, +10 -2', inline: true },
      { name: 'Pull request', value: 'https://github.com/acme/app/pull/42', inline: true },
      { name: 'Next in line', value: 'The queue is empty 🎉' },
    ]);
  });

  it('adds nothing for other results, and leaves out values that could be markup', () => {
    expect(fields({ exit_code: 0, duration_ms: 10 }).map((f) => f.name)).toEqual(['Notes', 'Next in line']);
    expect(fields('plain text').map((f) => f.name)).toEqual(['Notes', 'Next in line']);
    const hostile = fields({ branch: 'x`@everyone', pr_url: '[click](https://evil.example)', commits: 'many' });
    expect(JSON.stringify(hostile)).not.toContain('everyone');
    expect(JSON.stringify(hostile)).not.toContain('evil');
  });
});
