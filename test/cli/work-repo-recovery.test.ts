// `athena work --repo` when things go wrong: a cancelled task, a crashed worker, and the refusals that change nothing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli, until } from './harness.js';
import { alive, events, gitIn, registeredWorktrees, repoTest, worktreeDir } from './repo-harness.js';

const rt = repoTest();

describe('athena work --repo, stopped', () => {
  it('a task cancelled while its agent runs: the agent is stopped and the worktree removed', async () => {
    const repo = rt.makeRepo();
    const id = await rt.add('cancel me');
    const pidFile = join(rt.dir, 'cancel.pid');
    const w = spawnCli(['work', '--once', '--poll', '5', '--heartbeat', '0.2', '--json', '--repo', repo, '-x', rt.fakeAgent], { ...rt.env, SLEEP: '1', PID_FILE: pidFile });
    await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '', 10_000, 'the agent to start');
    expect(existsSync(worktreeDir(repo, id))).toBe(true);
    await rt.t.server.queue.cancel(id, { user: 'test', reason: 'not needed' });
    const r = await w.done;
    expect(r.code, r.stderr).toBe(0);
    expect(events(r.stdout).find((e) => e.event === 'finished')).toMatchObject({ taskId: id, outcome: 'lost' });
    await until(() => !alive(Number(readFileSync(pidFile, 'utf8'))), 8000, 'the agent to be stopped');
    expect(existsSync(worktreeDir(repo, id))).toBe(false);
    expect(registeredWorktrees(repo)).toEqual([repo]);
  });

  it('after a crash, the next start removes the worktree the dead worker left and runs its task again', async () => {
    const repo = rt.makeRepo();
    const id = await rt.add('crash during me');
    const pidFile = join(rt.dir, 'crash.pid');
    const w = spawnCli(['work', '--once', '--poll', '5', '--json', '--repo', repo, '-x', rt.fakeAgent], { ...rt.env, SLEEP: '1', PID_FILE: pidFile });
    await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '', 10_000, 'the agent to start');
    w.child.kill('SIGKILL');
    await w.done;
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    expect(existsSync(worktreeDir(repo, id))).toBe(true);

    // The restarted worker (same instance, WIP limit 1) gives the task back instead of waiting for its lease,
    // and runs it again in a fresh worktree on the same branch.
    const r = await runCli(['work', '--once', '--poll', '5', '--json', '--repo', repo, '-x', rt.fakeAgent], rt.env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const ev = events(r.stdout);
    expect(ev.find((e) => e.event === 'workspaces_cleaned')).toMatchObject({ removed: [worktreeDir(repo, id)] });
    expect(ev.find((e) => e.event === 'requeued_held')).toMatchObject({ tasks: [{ taskId: id, status: 'pending' }] });
    expect(ev.find((e) => e.event === 'finished')).toMatchObject({ taskId: id, outcome: 'completed' });
    expect(existsSync(worktreeDir(repo, id))).toBe(false);
    expect(registeredWorktrees(repo)).toEqual([repo]);
    expect(gitIn(repo, 'branch', '--list', `athena/task-${id}`)).toContain(`athena/task-${id}`);
    expect((await rt.t.server.queue.get(id)).attempts).toBe(2);
  });
});

describe('athena work --repo refuses, changing nothing', () => {
  it('a directory that is not a git repository', async () => {
    const plain = join(rt.dir, 'plain');
    mkdirSync(plain);
    const id = await rt.add('not started');
    const r = await runCli(['work', '--once', '--poll', '1', '--repo', plain, '-x', rt.fakeAgent], rt.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error: ${plain} is not a git repository`);
    expect(r.stderr).toContain('(NOT_A_REPOSITORY)');
    expect((await rt.t.server.queue.get(id)).status).toBe('pending');
  });

  it('uncommitted changes on the base branch', async () => {
    const repo = rt.makeRepo();
    writeFileSync(join(repo, 'README.md'), 'changed but not committed\n');
    const id = await rt.add('not started either');
    const r = await runCli(['work', '--once', '--poll', '1', '--repo', repo, '-x', rt.fakeAgent], rt.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error: ${repo} has uncommitted changes on main (1 file): commit or stash them first`);
    expect(r.stderr).toContain('(DIRTY_BASE)');
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('changed but not committed\n');
    expect((await rt.t.server.queue.get(id)).status).toBe('pending');
  });

  it('a branch of the task\'s name that athena did not make: the task fails with how to tell, the branch is untouched', async () => {
    const repo = rt.makeRepo();
    const id = await rt.add('my branch name is taken');
    gitIn(repo, 'branch', `athena/task-${id}`);
    const before = gitIn(repo, 'rev-parse', `athena/task-${id}`);
    const r = await runCli(['work', '--once', '--poll', '5', '--json', '--repo', repo, '-x', rt.fakeAgent], rt.env);
    expect(r.code, r.stderr).toBe(0);
    const task = await rt.t.server.queue.get(id);
    expect(task.status).toBe('failed');
    expect(task.error).toContain(`branch athena/task-${id} already exists in ${repo} and was not made by athena work`);
    expect(task.error).toContain(`git config branch.athena/task-${id}.athenaBase main`);
    expect(task.error).toContain('(BRANCH_TAKEN)');
    expect(gitIn(repo, 'rev-parse', `athena/task-${id}`)).toBe(before);
    expect(existsSync(worktreeDir(repo, id))).toBe(false);
  });

  it('git missing from PATH', async () => {
    const emptyBin = join(rt.dir, 'empty-bin');
    mkdirSync(emptyBin, { recursive: true });
    const r = await runCli(['work', '--once', '--poll', '1', '--repo', rt.dir, '-x', 'true'], { ...rt.env, PATH: emptyBin });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: git was not found on PATH: install git to use --repo (GIT_MISSING)');
  });
});
