// The walk-through of docs/agents.md "Running coding agents", end to end against the built CLI: keys made with
// `athena keys`, a task queued with --review, `athena work --repo` on a temporary repository with a fake agent
// that commits, its output read live while it runs, the result with branch, commits and diff stat, changes
// requested by a reviewer key, a second attempt on the same branch that sees the feedback, then accepted.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli, spawnCli, startTestServer, until, type TestServer } from '../cli/harness.js';
import { gitIn } from '../cli/repo-harness.js';
import { tempDir } from '../helpers/stores.js';

describe('running a coding agent, as the walk-through tells it', () => {
  const dir = tempDir('athena-walkthrough-');
  const dbPath = join(dir.path, 'server.db');
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ DB_PATH: dbPath, WIP_LIMIT: '1', REVIEW_PREFER_SECONDS: '600' });
  });
  afterAll(async () => {
    await t?.close();
    dir.cleanup();
  });

  /** The fake agent: says what it does in steps (the first attempt waits at GATE), heeds review feedback, commits. */
  function writeAgent(): string {
    const script = join(dir.path, 'agent.mjs');
    writeFileSync(
      script,
      `import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
const e = process.env;
console.log('step 1: reading the task #' + e.ATHENA_TASK_ID + ' (attempt ' + e.ATHENA_TASK_ATTEMPT + ')');
if (e.ATHENA_TASK_ATTEMPT === '1') while (!existsSync(e.GATE)) await new Promise((r) => setTimeout(r, 50));
if (e.ATHENA_REVIEW_FEEDBACK) console.log('feedback: ' + e.ATHENA_REVIEW_FEEDBACK);
appendFileSync('login.test.js', 'test("attempt ' + e.ATHENA_TASK_ATTEMPT + '", () => {});\\n');
execFileSync('git', ['add', '-A']);
execFileSync('git', ['commit', '--quiet', '-m', e.ATHENA_REVIEW_FEEDBACK ? 'Address review: ' + e.ATHENA_REVIEW_FEEDBACK : 'Fix the flaky login test']);
console.log('step 2: committed on ' + e.ATHENA_TASK_BRANCH);
console.log('Opened https://github.com/acme/app/pull/87');
`,
    );
    return `"${process.execPath}" "${script}"`;
  }

  it('queue → worktree and branch → live output → in_review with branch and diff → changes → same branch with feedback → accepted', async () => {
    // On the server: a key for the agent and one for the person who reviews.
    const serverEnv = cliEnv(t.url, { DB_PATH: dbPath });
    const agentKey = JSON.parse((await runCli(['keys', 'create', 'gpu-box', '--role', 'agent', '--json'], serverEnv)).stdout);
    expect(agentKey).toMatchObject({ role: 'agent', instance_id: 'gpu-box' });
    const reviewerKey = JSON.parse((await runCli(['keys', 'create', 'rosa', '--role', 'reviewer', '--json'], serverEnv)).stdout);
    expect(reviewerKey).toMatchObject({ role: 'reviewer' });

    // The repository the tasks are about.
    const repo = join(dir.path, 'app');
    mkdirSync(repo);
    gitIn(repo, 'init', '--quiet', '--initial-branch=main');
    gitIn(repo, 'config', 'user.name', 'Test');
    gitIn(repo, 'config', 'user.email', 'test@example.com');
    writeFileSync(join(repo, 'README.md'), 'app\n');
    gitIn(repo, 'add', 'README.md');
    gitIn(repo, 'commit', '--quiet', '-m', 'first');

    // A person queues the work (the admin key here; Discord or the dashboard would do the same).
    const person = cliEnv(t.url);
    const added = JSON.parse((await runCli(['add', 'fix the flaky login test', '--review', '--json'], person)).stdout);
    const id = added.task_id as number;
    expect(added.task).toMatchObject({ status: 'pending', review: true });

    // The agent's machine.
    const gate = join(dir.path, 'gate');
    const agentEnv = cliEnv(t.url, { ATHENA_API_KEY: agentKey.key, CLAUDE_INSTANCE: 'gpu-box', CLAUDE_INSTANCE_NAME: undefined, GATE: gate });
    const worker = spawnCli(['work', '--repo', repo, '--exec', writeAgent(), '--max-tasks', '2', '--poll', '5', '--heartbeat', '1', '--json'], agentEnv);
    const reviewer = cliEnv(t.url, { ATHENA_API_KEY: reviewerKey.key });
    const read = async (path: string) => {
      const res = await fetch(`${t.url}${path}`, { headers: { 'x-api-key': reviewerKey.key } });
      return { status: res.status, text: await res.text() };
    };
    try {
      // While the agent runs: its output is there to read, live (the reviewer's key may read).
      await until(async () => (await read(`/api/tasks/${id}/output`)).text.includes('step 1: reading the task'), 15_000, 'live output of the first attempt');
      expect((await t.server.queue.get(id)).status).toBe('in_progress');
      expect(gitIn(repo, 'branch', '--list', `athena/task-${id}`)).toContain(`athena/task-${id}`);
      writeFileSync(gate, '');

      await until(async () => (await t.server.queue.get(id)).status === 'in_review', 15_000, 'the first attempt to reach in_review');
      const first = await t.server.queue.get(id);
      expect(first.result).toMatchObject({
        exit_code: 0,
        branch: `athena/task-${id}`,
        base: 'main',
        commits: [{ subject: 'Fix the flaky login test' }],
        files_changed: 1,
        insertions: 1,
        deletions: 0,
        pr_url: 'https://github.com/acme/app/pull/87',
      });
      const shown = (await runCli(['show', String(id)], reviewer)).stdout;
      expect(shown).toMatch(new RegExp(`branch\\s+athena/task-${id} \\(from main, 1 commit`));
      expect(shown).toContain('https://github.com/acme/app/pull/87');
      expect((await read(`/api/tasks/${id}/output?attempt=1`)).text).toContain(`step 2: committed on athena/task-${id}`);

      // The reviewer sends it back; the same agent takes it again, on the same branch, with the feedback.
      const changes = await runCli(['review', String(id), '--changes', 'also cover the logout test'], reviewer);
      expect(changes.code, changes.stderr).toBe(0);
      await until(async () => (await t.server.queue.get(id)).runs === 2 && (await t.server.queue.get(id)).status === 'in_review', 20_000, 'the second attempt to reach in_review');
      const second = await t.server.queue.get(id);
      expect(second).toMatchObject({ attempts: 1, instanceId: 'gpu-box', reviewFeedback: 'also cover the logout test' });
      expect((second.result as { commits: unknown[] }).commits).toHaveLength(2);
      expect((second.result as { head: string }).head).toBe(gitIn(repo, 'rev-parse', `athena/task-${id}`));
      expect((await read(`/api/tasks/${id}/output?attempt=2`)).text).toContain('feedback: also cover the logout test');
      expect(gitIn(repo, 'log', '--format=%s', `main..athena/task-${id}`).split('\n')).toEqual(['Address review: also cover the logout test', 'Fix the flaky login test']);

      const accepted = await runCli(['review', String(id), '--accept'], reviewer);
      expect(accepted.code, accepted.stderr).toBe(0);
      expect((await t.server.queue.get(id)).status).toBe('completed');
      const r = await worker.done;
      expect(r.code, r.stderr).toBe(0);
      const { logs } = await t.server.queue.getWithLogs(id);
      // Heartbeats come every second while a run lasts, so how many there are depends on the machine's speed.
      const steps = logs.map((l) => l.action).filter((action) => action !== 'heartbeat');
      expect(steps).toEqual(['created', 'claimed', 'in_review', 'changes_requested', 'claimed', 'in_review', 'completed']);
      expect(logs.at(-1)!.details).toBe('accepted by rosa');
      // Nothing left behind in the repository but the branch.
      expect(existsSync(join(repo, '.git', 'athena-worktrees', 'gpu-box', `task-${id}`))).toBe(false);
      expect(gitIn(repo, 'status', '--porcelain')).toBe('');
    } finally {
      writeFileSync(gate, ''); // a fake agent still waiting ends on its own
      worker.child.kill('SIGKILL');
    }
  });
});
