// `athena work --repo`: a git worktree and branch per task, the result that describes the branch, a failing
// agent, a second attempt on the same branch, and worktrees kept where asked.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './harness.js';
import { events, gitIn, registeredWorktrees, repoTest, worktreeDir } from './repo-harness.js';

const rt = repoTest();

describe('athena work --repo', () => {
  it('runs the agent in a worktree on athena/task-<id>, reports branch, commits, diff stat and PR link, then removes the worktree', async () => {
    const repo = rt.makeRepo();
    const id = await rt.add('add a greeting file');
    const r = await runCli(['work', '--once', '--poll', '5', '--json', '--repo', repo, '-x', rt.fakeAgent], rt.env);
    expect(r.code, r.stderr).toBe(0);
    const ev = events(r.stdout);
    expect(ev.find((e) => e.event === 'workspace')).toMatchObject({ taskId: id, branch: `athena/task-${id}`, base: 'main', continued: false, path: worktreeDir(repo, id) });
    expect(ev.find((e) => e.event === 'finished')).toMatchObject({ taskId: id, outcome: 'completed' });

    const task = await rt.t.server.queue.get(id);
    expect(task.status).toBe('completed');
    // The command ran inside the worktree, on the task's branch.
    expect(task.notes).toContain(`cwd ${worktreeDir(repo, id)}`);
    expect(task.notes).toContain(`branch athena/task-${id} env athena/task-${id}`);
    const head = gitIn(repo, 'rev-parse', `athena/task-${id}`);
    expect(task.result).toEqual({
      exit_code: 0,
      duration_ms: expect.any(Number),
      branch: `athena/task-${id}`,
      base: 'main',
      head,
      commits: [{ id: head, subject: `attempt 1 of task ${id}` }],
      files_changed: 1,
      insertions: 2,
      deletions: 0,
      uncommitted_files: 0,
      pr_url: 'https://github.com/acme/app/pull/42',
    });
    // The worktree is gone, the branch and its commit stay, and the repository's own checkout is untouched.
    expect(existsSync(worktreeDir(repo, id))).toBe(false);
    expect(registeredWorktrees(repo)).toEqual([repo]);
    expect(gitIn(repo, 'status', '--porcelain')).toBe('');
    expect(gitIn(repo, 'branch', '--show-current')).toBe('main');

    // `athena show` says what happened.
    const shown = await runCli(['show', String(id)], rt.env);
    expect(shown.stdout).toMatch(new RegExp(`branch\\s+athena/task-${id} \\(from main, 1 commit, 1 file, \\+2 -0\\)`));
    expect(shown.stdout).toMatch(/pull request\s+https:\/\/github\.com\/acme\/app\/pull\/42/);
  });

  it('a failing agent fails the task; the worktree is removed and the branch keeps what was committed', async () => {
    const repo = rt.makeRepo();
    const id = await rt.add('break the build');
    const r = await runCli(['work', '--once', '--poll', '5', '--json', '--repo', repo, '-x', rt.fakeAgent], { ...rt.env, FAIL_ON_ATTEMPT: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(events(r.stdout).find((e) => e.event === 'finished')).toMatchObject({ taskId: id, outcome: 'failed', exitCode: 1 });
    expect(await rt.t.server.queue.get(id)).toMatchObject({ status: 'failed', error: 'exit code 1\ntests failed' });
    expect(existsSync(worktreeDir(repo, id))).toBe(false);
    expect(gitIn(repo, 'log', '--format=%s', '-1', `athena/task-${id}`)).toBe(`attempt 1 of task ${id}`);
  });

  it('a second attempt continues on the same branch, and its result counts the commits of both', async () => {
    const repo = rt.makeRepo();
    const id = await rt.add('needs two tries', { maxAttempts: 3 });
    const first = await runCli(['work', '--once', '--poll', '5', '--json', '--retry', '--repo', repo, '-x', rt.fakeAgent], { ...rt.env, FAIL_ON_ATTEMPT: '1' });
    expect(events(first.stdout).find((e) => e.event === 'finished')).toMatchObject({ taskId: id, outcome: 'requeued' });
    // Work lands on main meanwhile: the task's diff stat still counts only its own changes.
    writeFileSync(join(repo, 'other.txt'), 'a\nb\nc\n');
    gitIn(repo, 'add', 'other.txt');
    gitIn(repo, 'commit', '--quiet', '-m', 'meanwhile on main');

    const second = await runCli(['work', '--once', '--poll', '5', '--json', '--repo', repo, '-x', rt.fakeAgent], rt.env);
    expect(second.code, second.stderr).toBe(0);
    expect(events(second.stdout).find((e) => e.event === 'workspace')).toMatchObject({ taskId: id, branch: `athena/task-${id}`, continued: true });
    const task = await rt.t.server.queue.get(id);
    expect(task.status).toBe('completed');
    const result = task.result as { commits: Array<{ subject: string }>; files_changed: number; insertions: number };
    expect(result.commits.map((c) => c.subject)).toEqual([`attempt 2 of task ${id}`, `attempt 1 of task ${id}`]);
    expect(result).toMatchObject({ files_changed: 1, insertions: 4 });
    expect(readFileSync(join(repo, '.git', 'HEAD'), 'utf8')).toContain('refs/heads/main');
  });

  it('two workers share one repository: each works in its own directory and both branches land', async () => {
    const repo = rt.makeRepo();
    const ids = [await rt.add('first of two'), await rt.add('second of two')];
    const runs = await Promise.all(
      ['worker-a', 'worker-b'].map((instance) => runCli(['work', '--once', '--poll', '5', '--json', '--repo', repo, '-x', rt.fakeAgent], { ...rt.env, CLAUDE_INSTANCE: instance })),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const paths = runs.map((run) => events(run.stdout).find((e) => e.event === 'workspace')?.path as string);
    expect(paths.map((p) => p.split('/').slice(-2, -1)[0])).toEqual(['worker-a', 'worker-b']);
    for (const id of ids) {
      expect((await rt.t.server.queue.get(id)).status).toBe('completed');
      expect(gitIn(repo, 'log', '--format=%s', '-1', `athena/task-${id}`)).toBe(`attempt 1 of task ${id}`);
    }
    expect(registeredWorktrees(repo)).toEqual([repo]);
  });

  it('--keep-worktrees and --worktrees DIR: the worktree stays where asked', async () => {
    const repo = rt.makeRepo();
    const where = join(rt.dir, 'kept');
    const id = await rt.add('keep my worktree');
    const r = await runCli(['work', '--once', '--poll', '5', '--repo', repo, '--worktrees', where, '--keep-worktrees', '-x', rt.fakeAgent], rt.env);
    expect(r.code, r.stderr).toBe(0);
    const path = join(where, 'repo-worker', `task-${id}`);
    expect(readFileSync(join(path, `task-${id}.txt`), 'utf8')).toBe('attempt 1\nline two\n');
    expect(gitIn(path, 'branch', '--show-current')).toBe(`athena/task-${id}`);
  });
});
