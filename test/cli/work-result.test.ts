// The pieces of a work result and a prompt that need no process: PR links, diff stats, reading a result
// defensively, and the prompt template's sections and values.
import { describe, expect, it } from 'vitest';
import { changeLine, readWorkSummary } from '../../src/core/work-summary.js';
import { agentCommandFor } from '../../src/cli/agent-command.js';
import type { Repository } from '../../src/cli/workspace.js';
import { DEFAULT_PROMPT_TEMPLATE, promptValues, renderPrompt, unknownTemplateNames } from '../../src/cli/agent-prompt.js';
import { findPullRequestUrl, parseShortStat } from '../../src/cli/work-result.js';
import type { TaskJson } from '../../src/client/types.js';

describe('findPullRequestUrl', () => {
  it('finds the first GitHub pull request or GitLab merge request link', () => {
    expect(findPullRequestUrl('pushed\nhttps://github.com/acme/app/pull/42 opened, see https://github.com/acme/app/pull/43')).toBe('https://github.com/acme/app/pull/42');
    expect(findPullRequestUrl('https://gitlab.example.com/group/sub/app/-/merge_requests/7/diffs')).toBe('https://gitlab.example.com/group/sub/app/-/merge_requests/7');
    expect(findPullRequestUrl('no link', 'stderr: https://github.com/acme/app/pull/9.')).toBe('https://github.com/acme/app/pull/9');
  });
  it('ignores "create a pull request" suggestions and plain http', () => {
    expect(findPullRequestUrl('Create a pull request by visiting: https://github.com/acme/app/pull/new/athena/task-3')).toBeNull();
    expect(findPullRequestUrl('http://github.com/acme/app/pull/4')).toBeNull();
  });
});

describe('parseShortStat', () => {
  it('reads every part, and zero for the parts git leaves out', () => {
    expect(parseShortStat(' 3 files changed, 10 insertions(+), 2 deletions(-)\n')).toEqual({ files_changed: 3, insertions: 10, deletions: 2 });
    expect(parseShortStat(' 1 file changed, 1 deletion(-)')).toEqual({ files_changed: 1, insertions: 0, deletions: 1 });
    expect(parseShortStat('')).toEqual({ files_changed: 0, insertions: 0, deletions: 0 });
  });
});

describe('readWorkSummary', () => {
  it('reads a worker result', () => {
    const s = readWorkSummary({ exit_code: 0, duration_ms: 5, branch: 'athena/task-3', base: 'main', head: 'a'.repeat(40), commits: [{ id: 'x', subject: 'y' }], files_changed: 2, insertions: 5, deletions: 1, pr_url: 'https://github.com/a/b/pull/1' });
    expect(s).toMatchObject({ branch: 'athena/task-3', commits: 1, prUrl: 'https://github.com/a/b/pull/1' });
    expect(changeLine(s!)).toBe('1 commit, 2 files, +5 -1');
  });
  it('leaves out what is not of the expected shape, and says nothing for other results', () => {
    const s = readWorkSummary({ branch: 'x](javascript:alert(1))', pr_url: 'javascript:alert(1)//https://github.com/a/b/pull/1', files_changed: -1 });
    expect(s).toBeNull();
    expect(readWorkSummary({ branch: 'ok', pr_url: 'https://evil.example/a/b/pull/1?x=<script>' })).toMatchObject({ branch: 'ok', prUrl: null });
    expect(readWorkSummary({ exit_code: 0, duration_ms: 3 })).toBeNull();
    expect(readWorkSummary('done')).toBeNull();
    expect(readWorkSummary(null)).toBeNull();
  });
});

describe('renderPrompt', () => {
  const task = { id: 7, description: 'Fix {{branch}} handling', notes: null, project: null, labels: [], priority: 'high', attempts: 2 } as unknown as TaskJson;
  it('keeps sections whose value is set, and inserts task text as typed', () => {
    const text = renderPrompt(DEFAULT_PROMPT_TEMPLATE, promptValues(task, { branch: 'athena/task-7', base: 'main', continued: true }));
    expect(text).toContain('Task:\nFix {{branch}} handling\n');
    expect(text).not.toContain('Notes:');
    expect(text).toContain('on branch athena/task-7, which started from main and holds the commits of earlier attempts.');
  });
  it('shows review feedback when the task carries it (servers without reviews do not send it)', () => {
    const text = renderPrompt(DEFAULT_PROMPT_TEMPLATE, promptValues({ ...task, review_feedback: 'Add a test.' } as TaskJson, null));
    expect(text).toContain('asked for changes:\nAdd a test.');
    expect(text).toContain('Commit your work before you finish.');
  });
  it('a prompt never starts with "-", so an agent CLI cannot read it as a flag', () => {
    expect(renderPrompt('{{description}}', promptValues({ ...task, description: '--help' }, null))).toBe('Task:\n--help');
  });
  it('names unknown template values', () => {
    expect(unknownTemplateNames('{{id}} {{#note}}x{{/note}} {{descripton}}')).toEqual(['note', 'descripton']);
  });
});

describe('agent presets', () => {
  const task = { id: 3, description: 'Fix the login test', notes: null, project: null, labels: [], priority: 'medium', attempts: 1 } as unknown as TaskJson;
  const repository = { gitCommonDir: '/src/app/.git' } as Repository;
  const ws = { taskId: 3, path: '/src/app/.git/athena-worktrees/w/task-3', branch: 'athena/task-3', base: 'main', continued: false };
  const command = (agent: 'claude' | 'codex' | 'aider' | 'gemini') => agentCommandFor({ agent, repository })!(task, ws);

  it('each preset is a documented argument list with the prompt as one element, and an empty stdin', () => {
    const prompt = command('claude').env.ATHENA_PROMPT!;
    expect(prompt).toContain('Task:\nFix the login test\n');
    expect(command('claude')).toEqual({ command: ['claude', '-p', prompt, '--permission-mode', 'acceptEdits', '--allowedTools', 'Bash(git:*)', '--output-format', 'text'], stdin: '', env: { ATHENA_PROMPT: prompt } });
    expect(command('codex').command).toEqual(['codex', 'exec', '--full-auto', '--add-dir', '/src/app/.git', prompt]);
    expect(command('aider').command).toEqual(['aider', '--yes-always', '--no-pretty', '--no-check-update', '--message', prompt]);
    expect(command('gemini').command).toEqual(['gemini', '--yolo', '-p', prompt]);
  });
  it('codex without --repo has no git directory to add', () => {
    expect(agentCommandFor({ agent: 'codex' })!(task, null).command).toEqual(['codex', 'exec', '--full-auto', expect.stringContaining('Commit your work before you finish.')]);
  });
  it('a plain --exec keeps the task JSON on stdin (no command maker)', () => {
    expect(agentCommandFor({ exec: 'run-agent' })).toBeUndefined();
  });
});
