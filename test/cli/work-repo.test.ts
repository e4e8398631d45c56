// `athena work --repo`: a git worktree and branch per task, the result that describes the branch, a failing,
// a cancelled and a crashed run, a second attempt on the same branch, and the errors that change nothing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/stores.js';
import { cliEnv, runCli, spawnCli, startTestServer, until, type TestServer } from './harness.js';

let t: TestServer;
let env: NodeJS.ProcessEnv;
const dir = tempDir('athena-work-repo-');
let repoCount = 0;

beforeAll(async () => {
  t = await startTestServer({ RETRY_BASE_SECONDS: '0' });
  env = cliEnv(t.url, { CLAUDE_INSTANCE: 'repo-worker', CLAUDE_INSTANCE_NAME: 'Repo worker' });
});
afterAll(async () => {
  await t?.close();
  dir.cleanup();
});
beforeEach(async () => {
  await t.server.queue.cancelPending({});
  for (const task of (await t.server.queue.list({ status: ['in_progress', 'needs_input'] })).tasks) await t.server.queue.cancel(task.id);
});

const add = async (description: string, extra: Record<string, unknown> = {}) => (await t.server.queue.create({ description, submittedBy: 'test', ...extra } as never)).task.id;

const gitIn = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

/** A fresh repository on branch main with one commit. */
function makeRepo(): string {
  const path = join(dir.path, `repo-${++repoCount}`);
  mkdirSync(path);
  gitIn(path, 'init', '--quiet', '--initial-branch=main');
  gitIn(path, 'config', 'user.name', 'Test');
  gitIn(path, 'config', 'user.email', 'test@example.com');
  writeFileSync(join(path, 'README.md'), 'hello\n');
  gitIn(path, 'add', 'README.md');
  gitIn(path, 'commit', '--quiet', '-m', 'first');
  return path;
}

/**
 * The fake agent: writes a file named after the task, commits it, prints where it ran and a PR link.
 * FAIL_ON_ATTEMPT=n: commits, then exits 1 on that attempt. SLEEP=1: writes its pid and waits.
 */
const agentScript = join(dir.path, 'fake-agent.mjs');
writeFileSync(
  agentScript,
  `import { execFileSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
const e = process.env;
if (e.PID_FILE) writeFileSync(e.PID_FILE, String(process.pid));
if (e.SLEEP) await new Promise((r) => setTimeout(r, 30000));
appendFileSync('task-' + e.ATHENA_TASK_ID + '.txt', 'attempt ' + e.ATHENA_TASK_ATTEMPT + '\\nline two\\n');
execFileSync('git', ['add', '-A']);
execFileSync('git', ['commit', '--quiet', '-m', 'attempt ' + e.ATHENA_TASK_ATTEMPT + ' of task ' + e.ATHENA_TASK_ID]);
console.log('cwd ' + process.cwd());
console.log('branch ' + execFileSync('git', ['branch', '--show-current'], { encoding: 'utf8' }).trim() + ' env ' + e.ATHENA_TASK_BRANCH);
console.log('Opened https://github.com/acme/app/pull/42 for review');
if (e.FAIL_ON_ATTEMPT === e.ATHENA_TASK_ATTEMPT) { console.error('tests failed'); process.exit(1); }
`,
);
const fakeAgent = `"${process.execPath}" "${agentScript}"`;

const events = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((line) => JSON.parse(line) as { event: string; [k: string]: any });

const worktreeDir = (repo: string, id: number) => join(repo, '.git', 'athena-worktrees', 'repo-worker', `task-${id}`);
const registeredWorktrees = (repo: string) =>
  gitIn(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('athena work --repo', () => {
  it('runs the agent in a worktree on athena/task-<id>, reports branch, commits, diff stat and PR link, then removes the worktree', async () => {
    const repo = makeRepo();
    const id = await add('add a greeting file');
    const r = await runCli(['work', '--once', '--poll', '5', '--json', '--repo', repo, '-x', fakeAgent], env);
    expect(r.code, r.stderr).toBe(0);
    const ev = events(r.stdout);
    expect(ev.find((e) => e.event === 'workspace')).toMatchObject({ taskId: id, branch: `athena/task-${id}`, base: 'main', continued: false, path: worktreeDir(repo, id) });
    expect(ev.find((e) => e.event === 'finished')).toMatchObject({ taskId: id, outcome: 'completed' });

    const task = await t.server.queue.get(id);
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
    const shown = await runCli(['show', String(id)], env);
    expect(shown.stdout).toMatch(new RegExp(`branch\\s+athena/task-${id} \\(from main, 1 commit, 1 file, \\+2 -0\\)`));
    expect(shown.stdout).toMatch(/pull request\s+https:\/\/github\.com\/acme\/app\/pull\/42/);
  });

  it('a failing agent fails the task; the worktree is removed and the branch keeps what was committed', async () => {
    const repo = makeRepo();
    const id = await add('break the build');
    const r = await runCli(['work', '--once', '--poll', '5', '--json', '--repo', repo, '-x', fakeAgent], { ...env, FAIL_ON_ATTEMPT: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(events(r.stdout).find((e) => e.event === 'finished')).toMatchObject({ taskId: id, outcome: 'failed', exitCode: 1 });
    expect(await t.server.queue.get(id)).toMatchObject({ status: 'failed', error: 'exit code 1\ntests failed' });
    expect(existsSync(worktreeDir(repo, id))).toBe(false);
    expect(gitIn(repo, 'log', '--format=%s', '-1', `athena/task-${id}`)).toBe(`attempt 1 of task ${id}`);
  });

  it('a second attempt continues on the same branch, and its result counts the commits of both', async () => {
    const repo = makeRepo();
    const id = await add('needs two tries', { maxAttempts: 3 });
    const first = await runCli(['work', '--once', '--poll', '5', '--json', '--retry', '--repo', repo, '-x', fakeAgent], { ...env, FAIL_ON_ATTEMPT: '1' });
    expect(events(first.stdout).find((e) => e.event === 'finished')).toMatchObject({ taskId: id, outcome: 'requeued' });
    // Work lands on main meanwhile: the task's diff stat still counts only its own changes.
    writeFileSync(join(repo, 'other.txt'), 'a\nb\nc\n');
    gitIn(repo, 'add', 'other.txt');
    gitIn(repo, 'commit', '--quiet', '-m', 'meanwhile on main');

    const second = await runCli(['work', '--once', '--poll', '5', '--json', '--repo', repo, '-x', fakeAgent], env);
    expect(second.code, second.stderr).toBe(0);
    expect(events(second.stdout).find((e) => e.event === 'workspace')).toMatchObject({ taskId: id, branch: `athena/task-${id}`, continued: true });
    const task = await t.server.queue.get(id);
    expect(task.status).toBe('completed');
    const result = task.result as { commits: Array<{ subject: string }>; files_changed: number; insertions: number };
    expect(result.commits.map((c) => c.subject)).toEqual([`attempt 2 of task ${id}`, `attempt 1 of task ${id}`]);
    expect(result).toMatchObject({ files_changed: 1, insertions: 4 });
    expect(readFileSync(join(repo, '.git', 'HEAD'), 'utf8')).toContain('refs/heads/main');
  });

  it('a task cancelled while its agent runs: the agent is stopped and the worktree removed', async () => {
    const repo = makeRepo();
    const id = await add('cancel me');
    const pidFile = join(dir.path, 'cancel.pid');
    const w = spawnCli(['work', '--once', '--poll', '5', '--heartbeat', '0.2', '--json', '--repo', repo, '-x', fakeAgent], { ...env, SLEEP: '1', PID_FILE: pidFile });
    await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '', 10_000, 'the agent to start');
    expect(existsSync(worktreeDir(repo, id))).toBe(true);
    await t.server.queue.cancel(id, { user: 'test', reason: 'not needed' });
    const r = await w.done;
    expect(r.code, r.stderr).toBe(0);
    expect(events(r.stdout).find((e) => e.event === 'finished')).toMatchObject({ taskId: id, outcome: 'lost' });
    await until(() => !alive(Number(readFileSync(pidFile, 'utf8'))), 8000, 'the agent to be stopped');
    expect(existsSync(worktreeDir(repo, id))).toBe(false);
    expect(registeredWorktrees(repo)).toEqual([repo]);
  });

  it('after a crash, the next start removes the worktree the dead worker left', async () => {
    const repo = makeRepo();
    const id = await add('crash during me');
    const pidFile = join(dir.path, 'crash.pid');
    const w = spawnCli(['work', '--once', '--poll', '5', '--json', '--repo', repo, '-x', fakeAgent], { ...env, SLEEP: '1', PID_FILE: pidFile });
    await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '', 10_000, 'the agent to start');
    w.child.kill('SIGKILL');
    await w.done;
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    expect(existsSync(worktreeDir(repo, id))).toBe(true);

    // Its lease would run out; cancelled here so the restarted worker (same instance, WIP limit 1) may claim again.
    await t.server.queue.cancel(id, { user: 'test', reason: 'the worker crashed' });
    const r = await runCli(['work', '--once', '--poll', '0.5', '--json', '--repo', repo, '-x', fakeAgent], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(events(r.stdout).find((e) => e.event === 'workspaces_cleaned')).toMatchObject({ removed: [worktreeDir(repo, id)] });
    expect(existsSync(worktreeDir(repo, id))).toBe(false);
    expect(registeredWorktrees(repo)).toEqual([repo]);
    expect(gitIn(repo, 'branch', '--list', `athena/task-${id}`)).toContain(`athena/task-${id}`);
  });

  it('--keep-worktrees and --worktrees DIR: the worktree stays where asked', async () => {
    const repo = makeRepo();
    const where = join(dir.path, 'kept');
    const id = await add('keep my worktree');
    const r = await runCli(['work', '--once', '--poll', '5', '--repo', repo, '--worktrees', where, '--keep-worktrees', '-x', fakeAgent], env);
    expect(r.code, r.stderr).toBe(0);
    const path = join(where, 'repo-worker', `task-${id}`);
    expect(readFileSync(join(path, `task-${id}.txt`), 'utf8')).toBe('attempt 1\nline two\n');
    expect(gitIn(path, 'branch', '--show-current')).toBe(`athena/task-${id}`);
  });
});

describe('athena work --repo refuses, changing nothing', () => {
  it('a directory that is not a git repository', async () => {
    const plain = join(dir.path, 'plain');
    mkdirSync(plain);
    const id = await add('not started');
    const r = await runCli(['work', '--once', '--poll', '1', '--repo', plain, '-x', fakeAgent], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error: ${plain} is not a git repository`);
    expect(r.stderr).toContain('(NOT_A_REPOSITORY)');
    expect((await t.server.queue.get(id)).status).toBe('pending');
  });

  it('uncommitted changes on the base branch', async () => {
    const repo = makeRepo();
    writeFileSync(join(repo, 'README.md'), 'changed but not committed\n');
    const id = await add('not started either');
    const r = await runCli(['work', '--once', '--poll', '1', '--repo', repo, '-x', fakeAgent], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error: ${repo} has uncommitted changes on main (1 file): commit or stash them first`);
    expect(r.stderr).toContain('(DIRTY_BASE)');
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('changed but not committed\n');
    expect((await t.server.queue.get(id)).status).toBe('pending');
  });

  it('a branch of the task\'s name that athena did not make: the task fails with how to tell, the branch is untouched', async () => {
    const repo = makeRepo();
    const id = await add('my branch name is taken');
    gitIn(repo, 'branch', `athena/task-${id}`);
    const before = gitIn(repo, 'rev-parse', `athena/task-${id}`);
    const r = await runCli(['work', '--once', '--poll', '5', '--json', '--repo', repo, '-x', fakeAgent], env);
    expect(r.code, r.stderr).toBe(0);
    const task = await t.server.queue.get(id);
    expect(task.status).toBe('failed');
    expect(task.error).toContain(`branch athena/task-${id} already exists in ${repo} and was not made by athena work`);
    expect(task.error).toContain(`git config branch.athena/task-${id}.athenaBase main`);
    expect(task.error).toContain('(BRANCH_TAKEN)');
    expect(gitIn(repo, 'rev-parse', `athena/task-${id}`)).toBe(before);
    expect(existsSync(worktreeDir(repo, id))).toBe(false);
  });

  it('git missing from PATH', async () => {
    const emptyBin = join(dir.path, 'empty-bin');
    mkdirSync(emptyBin, { recursive: true });
    const r = await runCli(['work', '--once', '--poll', '1', '--repo', dir.path, '-x', 'true'], { ...env, PATH: emptyBin });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: git was not found on PATH: install git to use --repo (GIT_MISSING)');
  });
});
