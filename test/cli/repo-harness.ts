// Shared by the `athena work --repo` tests: a test server, temporary repositories, and a fake agent that commits.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { tempDir } from '../helpers/stores.js';
import { cliEnv, startTestServer, type TestServer } from './harness.js';

export type RepoTest = { t: TestServer; env: NodeJS.ProcessEnv; dir: string; makeRepo(): string; add(description: string, extra?: Record<string, unknown>): Promise<number>; fakeAgent: string };

export const gitIn = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

export const INSTANCE = 'repo-worker';

/** Starts a server for the file, and empties its queue before each test so the worker takes the test's task. */
export function repoTest(): RepoTest {
  const dir = tempDir('athena-work-repo-');
  let repoCount = 0;
  const ctx = { dir: dir.path, fakeAgent: writeFakeAgent(dir.path) } as RepoTest;
  ctx.makeRepo = () => {
    const path = join(dir.path, `repo-${++repoCount}`);
    mkdirSync(path);
    gitIn(path, 'init', '--quiet', '--initial-branch=main');
    gitIn(path, 'config', 'user.name', 'Test');
    gitIn(path, 'config', 'user.email', 'test@example.com');
    writeFileSync(join(path, 'README.md'), 'hello\n');
    gitIn(path, 'add', 'README.md');
    gitIn(path, 'commit', '--quiet', '-m', 'first');
    return path;
  };
  ctx.add = async (description, extra = {}) => (await ctx.t.server.queue.create({ description, submittedBy: 'test', ...extra } as never)).task.id;
  beforeAll(async () => {
    ctx.t = await startTestServer({ RETRY_BASE_SECONDS: '0' });
    ctx.env = cliEnv(ctx.t.url, { CLAUDE_INSTANCE: INSTANCE, CLAUDE_INSTANCE_NAME: 'Repo worker' });
  });
  afterAll(async () => {
    await ctx.t?.close();
    dir.cleanup();
  });
  beforeEach(async () => {
    await ctx.t.server.queue.cancelPending({});
    for (const task of (await ctx.t.server.queue.list({ status: ['in_progress', 'needs_input'] })).tasks) await ctx.t.server.queue.cancel(task.id);
  });
  return ctx;
}

/**
 * The fake agent: writes a file named after the task, commits it, prints where it ran and a PR link.
 * FAIL_ON_ATTEMPT=n: commits, then exits 1 on that attempt. SLEEP=1: writes its pid to PID_FILE and waits.
 */
function writeFakeAgent(dir: string): string {
  const script = join(dir, 'fake-agent.mjs');
  writeFileSync(
    script,
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
  return `"${process.execPath}" "${script}"`;
}

export const events = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((line) => JSON.parse(line) as { event: string; [k: string]: any });

export const worktreeDir = (repo: string, id: number) => join(repo, '.git', 'athena-worktrees', INSTANCE, `task-${id}`);

export const registeredWorktrees = (repo: string) =>
  gitIn(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length));

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
