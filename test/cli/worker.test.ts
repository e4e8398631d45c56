// `athena work` with real child commands: success, failure, timeout, SIGTERM during a task, cancel while running.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/stores.js';
import { cliEnv, runCli, spawnCli, startTestServer, until, type TestServer } from './harness.js';

let t: TestServer;
let env: NodeJS.ProcessEnv;
const dir = tempDir('athena-worker-');

beforeAll(async () => {
  t = await startTestServer({ RETRY_BASE_SECONDS: '0' });
  env = cliEnv(t.url, { CLAUDE_INSTANCE: 'worker-1', CLAUDE_INSTANCE_NAME: 'Worker 1' });
});
afterAll(async () => {
  await t?.close();
  dir.cleanup();
});
// Each test starts from an empty queue so the worker takes the task the test made.
beforeEach(async () => {
  await t.server.queue.cancelPending({});
  for (const task of (await t.server.queue.list({ status: ['in_progress', 'needs_input'] })).tasks) await t.server.queue.cancel(task.id);
});

const add = async (description: string, extra: Record<string, unknown> = {}) =>
  (await t.server.queue.create({ description, submittedBy: 'test', ...extra } as never)).task.id;

const events = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { event: string; [k: string]: any });

/** Finished claim-next requests so far, from the server's own request metrics. */
const claimPolls = async (): Promise<number> => {
  const metric = t.server.metrics.registry.getSingleMetric('athena_http_request_duration_seconds');
  const { values } = await metric!.get();
  return values.filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count') && v.labels.route === '/api/tasks/claim-next').reduce((n, v) => n + v.value, 0);
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A node one-liner as a shell-quoted command. */
const nodeCmd = (code: string) => `"${process.execPath}" -e '${code}'`;

describe('athena work', () => {
  it('runs the command with the task in env and on stdin, then completes it with the stdout tail', async () => {
    const id = await add('say "hello" to the world', { labels: ['docs'], project: 'site' });
    const cmd = nodeCmd(
      'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>{const t=JSON.parse(s);' +
        'console.log("env", process.env.ATHENA_TASK_ID, process.env.ATHENA_TASK_DESCRIPTION, process.env.ATHENA_TASK_LABELS, process.env.ATHENA_TASK_PROJECT, process.env.CLAUDE_INSTANCE);' +
        'console.log("stdin", t.id, t.description, t.lease_token === process.env.ATHENA_LEASE_TOKEN);})',
    );
    const r = await runCli(['work', '--once', '--poll', '5', '--labels', 'docs', '-x', cmd], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`▶️  claimed #${id} [medium] say "hello" to the world`);
    expect(r.stdout).toMatch(new RegExp(`✅ #${id} completed after`));
    expect(r.stdout).toContain('👋 stopped after 1 task(s): 1 completed, 0 failed, 0 released');
    const task = await t.server.queue.get(id);
    expect(task.status).toBe('completed');
    expect(task.notes).toBe(`env ${id} say "hello" to the world docs site worker-1\nstdin ${id} say "hello" to the world true`);
    expect(task.result).toMatchObject({ exit_code: 0 });
    expect(task.instanceName).toBe('Worker 1');
    // The command's own output is shown (on stderr) unless --quiet.
    expect(r.stderr).toContain('stdin');
  });

  it('gives the command no API key or other Athena secret unless --pass-key; PATH, HOME and the task stay', async () => {
    const show = nodeCmd(
      'const e=process.env;console.log(JSON.stringify({key:e.ATHENA_API_KEY??null,admin:e.API_KEY??null,discord:e.DISCORD_TOKEN??null,db:e.DATABASE_URL??null,' +
        'path:Boolean(e.PATH),home:Boolean(e.HOME),own:e.ANTHROPIC_API_KEY??null,url:e.ATHENA_API_URL,task:e.ATHENA_TASK_ID,lease:Boolean(e.ATHENA_LEASE_TOKEN)}))',
    );
    const secrets = { API_KEY: 'server-admin-key-0123456789abcdef', DISCORD_TOKEN: 'bot-token', DATABASE_URL: 'postgres://u:p@db/athena', ANTHROPIC_API_KEY: 'agent-own-credential' };
    const id = await add('print your environment');
    const r = await runCli(['work', '--once', '--poll', '5', '-x', show], { ...env, ...secrets });
    expect(r.code).toBe(0);
    expect(JSON.parse((await t.server.queue.get(id)).notes!)).toEqual({
      key: null, admin: null, discord: null, db: null, path: true, home: true, own: 'agent-own-credential', url: t.url, task: String(id), lease: true,
    });

    const passed = await add('call athena yourself');
    const withKey = await runCli(['work', '--once', '--poll', '5', '--pass-key', '-x', show], { ...env, ...secrets });
    expect(withKey.code).toBe(0);
    expect(JSON.parse((await t.server.queue.get(passed)).notes!)).toMatchObject({ key: env.ATHENA_API_KEY, admin: null, discord: null, db: null, task: String(passed) });
  });

  it('a failing command fails the task with its exit code and stderr tail; --retry requeues instead', async () => {
    const id = await add('this will break', { maxAttempts: 3 });
    const r = await runCli(['work', '--once', '--poll', '5', '--json', '-x', 'echo partial output; echo "boom: disk full" >&2; exit 3'], env);
    expect(r.code).toBe(0);
    const ev = events(r.stdout);
    expect(ev.map((e) => e.event)).toEqual(['waiting', 'claimed', 'finished', 'stopped']);
    expect(ev[2]).toMatchObject({ taskId: id, outcome: 'failed', exitCode: 3, detail: 'exit code 3' });
    expect(ev[3]).toMatchObject({ tasks: 1, failed: 1, completed: 0 });
    expect(await t.server.queue.get(id)).toMatchObject({ status: 'failed', error: 'exit code 3\nboom: disk full' });

    const again = await add('flaky', { maxAttempts: 3 });
    const retry = await runCli(['work', '--once', '--poll', '5', '--retry', '--json', '-x', 'exit 1'], env);
    expect(events(retry.stdout)[2]).toMatchObject({ taskId: again, outcome: 'requeued' });
    expect(await t.server.queue.get(again)).toMatchObject({ status: 'pending', attempts: 1, error: 'exit code 1' });
  });

  it('--timeout stops the command (and what it started) and fails the task', async () => {
    const id = await add('hangs forever');
    const pidFile = join(dir.path, 'timeout.pid');
    const started = Date.now();
    const r = await runCli(['work', '--once', '--poll', '5', '--timeout', '1', '--json', '-x', `sleep 30 & echo $! > ${pidFile}; wait`], env);
    const elapsed = Date.now() - started;
    expect(r.code).toBe(0);
    expect(elapsed).toBeLessThan(10_000);
    const ev = events(r.stdout);
    expect(ev.map((e) => e.event)).toContain('timed_out');
    expect(ev.find((e) => e.event === 'finished')).toMatchObject({ taskId: id, outcome: 'failed', detail: 'timed out after 1s' });
    // A timeout is work that ended without success: the task fails and its attempt stays used.
    expect(await t.server.queue.get(id)).toMatchObject({ status: 'failed', attempts: 1, error: expect.stringMatching(/^timed out after 1s/) });
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await until(() => !alive(grandchild), 8000, 'the background sleep to be killed');
  });

  it('heartbeats keep the lease while the command runs', async () => {
    const id = await add('slow but steady');
    const r = await runCli(['work', '--once', '--poll', '5', '--lease-seconds', '5', '--heartbeat', '0.3', '-x', 'sleep 1.5'], env);
    expect(r.code).toBe(0);
    const { task, logs } = await t.server.queue.getWithLogs(id);
    expect(task.status).toBe('completed');
    expect(logs.filter((l) => l.action === 'heartbeat').length).toBeGreaterThanOrEqual(2);
  });

  it('SIGTERM during a task: takes no more work, lets the command finish, completes it, exits 0', async () => {
    const first = await add('finish me');
    const second = await add('leave me for later');
    const w = spawnCli(['work', '--grace', '20', '--poll', '2', '-x', 'sleep 1; echo finished cleanly'], env);
    await until(() => w.stdout().includes(`claimed #${first}`), 10_000, 'the claim');
    w.child.kill('SIGTERM');
    const r = await w.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('⏹  stopping');
    expect(r.stdout).toContain(`✅ #${first} completed`);
    expect(await t.server.queue.get(first)).toMatchObject({ status: 'completed', notes: 'finished cleanly' });
    expect((await t.server.queue.get(second)).status).toBe('pending');
  });

  it('SIGTERM when the grace period runs out: stops the command and releases the task', async () => {
    const id = await add('too slow to finish');
    const pidFile = join(dir.path, 'grace.pid');
    const w = spawnCli(['work', '--grace', '0.5', '--poll', '2', '--json', '-x', `echo $$ > ${pidFile}; sleep 30`], env);
    await until(() => w.stdout().includes('"claimed"'), 10_000, 'the claim');
    await until(() => {
      try {
        return readFileSync(pidFile, 'utf8').trim() !== '';
      } catch {
        return false;
      }
    }, 5000, 'the command to start');
    const started = Date.now();
    w.child.kill('SIGTERM');
    const r = await w.done;
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000);
    const ev = events(r.stdout);
    expect(ev.find((e) => e.event === 'draining')).toMatchObject({ taskId: id, graceMs: 500 });
    expect(ev.find((e) => e.event === 'finished')).toMatchObject({ taskId: id, outcome: 'released' });
    // Stopping the worker gives the task back on purpose: its attempt is returned.
    expect(await t.server.queue.get(id)).toMatchObject({ status: 'pending', instanceId: null, attempts: 0 });
    await until(() => !alive(Number(readFileSync(pidFile, 'utf8'))), 8000, 'the command to be killed');
  });

  it('SIGTERM while waiting for work exits at once and claims nothing afterwards', async () => {
    const w = spawnCli(['work', '--poll', '0.3', '--json', '-x', 'true'], env);
    await until(() => t.server.waiters.size() > 0, 10_000, 'the worker to long-poll');
    // Several empty long-polls go by: the worker says "waiting" once, not once per poll.
    const polled = await claimPolls();
    await until(async () => (await claimPolls()) >= polled + 3, 10_000, 'three more empty long-polls');
    await until(() => t.server.waiters.size() > 0, 5000, 'a long-poll in flight');
    const started = Date.now();
    w.child.kill('SIGTERM');
    const r = await w.done;
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(events(r.stdout).map((e) => e.event)).toEqual(['waiting', 'signal', 'stopped']);
    await until(() => t.server.waiters.size() === 0, 5000, 'the long-poll to end');
    const id = await add('nobody is waiting');
    expect((await t.server.queue.get(id)).status).toBe('pending');
  });

  it('a task cancelled while its command runs: the command is stopped and the worker moves on', async () => {
    const id = await add('cancel me midway');
    const next = await add('then do me');
    const w = spawnCli(['work', '--max-tasks', '2', '--poll', '5', '--heartbeat', '0.2', '--json', '-x', `[ "$ATHENA_TASK_ID" = "${id}" ] && sleep 30; echo ok`], env);
    await until(() => w.stdout().includes('"claimed"'), 10_000, 'the claim');
    await t.server.queue.cancel(id, { user: 'test', reason: 'changed my mind' });
    const r = await w.done;
    expect(r.code).toBe(0);
    const finished = events(r.stdout).filter((e) => e.event === 'finished');
    expect(finished.map((e) => [e.taskId, e.outcome])).toEqual([
      [id, 'lost'],
      [next, 'completed'],
    ]);
    expect((await t.server.queue.get(id)).status).toBe('cancelled');
    expect((await t.server.queue.get(next)).status).toBe('completed');
  });

  it('takes each next task with the completion of the one before: three tasks, one claim-next request', async () => {
    const ids = [await add('first', { labels: ['docs'] }), await add('for another agent', { labels: ['gpu'] }), await add('second', { labels: ['docs'] }), await add('third')];
    const polled = await claimPolls();
    const r = await runCli(['work', '--max-tasks', '3', '--poll', '5', '--labels', 'docs', '--json', '-x', 'echo done'], env);
    expect(r.code).toBe(0);
    const finished = events(r.stdout).filter((e) => e.event === 'finished');
    expect(finished.map((e) => [e.taskId, e.outcome])).toEqual([
      [ids[0], 'completed'],
      [ids[2], 'completed'],
      [ids[3], 'completed'],
    ]);
    expect(await claimPolls()).toBe(polled + 1);
    // The last completion asked for nothing more: the gpu task stays in the queue, nobody holds it.
    expect((await t.server.queue.get(ids[1]!)).status).toBe('pending');
    expect((await t.server.queue.get(ids[3]!)).instanceName).toBe('Worker 1');
  });

  it('a wrong key stops the worker with exit 1 instead of retrying forever', async () => {
    const r = await runCli(['work', '-x', 'true'], cliEnv(t.url, { ATHENA_API_KEY: 'wrong' }), { timeoutMs: 10_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: Invalid API key (UNAUTHORIZED)');
  });

  it('a command is required: --exec or an agent preset', async () => {
    const r = await runCli(['work'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: give the command to run per task: --exec CMD, or an agent preset: --agent claude|codex|aider|gemini|generic (USAGE)');
  });
});

describe('athena work restarted under the same instance id', () => {
  const pidOf = (file: string) => {
    try {
      return Number(readFileSync(file, 'utf8').trim()) || null;
    } catch {
      return null;
    }
  };
  /** The command runs in its own process group: a kill -9 of the worker leaves it, as after a real crash. */
  const killGroup = (pid: number) => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };

  it('after kill -9 mid-task, the restarted worker gives the task back and takes work at once, not after the lease', async () => {
    const id = await add('crash while doing me');
    const pidFile = join(dir.path, 'crash.pid');
    const first = spawnCli(['work', '--poll', '5', '--json', '-x', `echo $$ > ${pidFile}; sleep 60`], env);
    await until(() => pidOf(pidFile) !== null, 10_000, 'the command to start');
    first.child.kill('SIGKILL');
    await first.done;
    killGroup(pidOf(pidFile)!);
    const held = await t.server.queue.get(id);
    expect(held).toMatchObject({ status: 'in_progress', instanceId: 'worker-1', attempts: 1 });
    // The lease would hold the WIP limit (1) for minutes yet.
    expect(held.leaseExpiresAt! - Date.now()).toBeGreaterThan(60_000);

    const started = Date.now();
    const r = await runCli(['work', '--once', '--poll', '5', '--json', '-x', 'echo done the second time'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    const ev = events(r.stdout);
    expect(ev.map((e) => e.event).slice(0, 3)).toEqual(['requeued_held', 'waiting', 'claimed']);
    expect(ev[0]!.tasks).toEqual([{ taskId: id, status: 'pending', previousStatus: 'in_progress' }]);
    expect(ev.find((e) => e.event === 'finished')).toMatchObject({ taskId: id, outcome: 'completed' });
    expect(await t.server.queue.get(id)).toMatchObject({ status: 'completed', attempts: 2, notes: 'done the second time' });
    const { logs } = await t.server.queue.getWithLogs(id);
    expect(logs.map((l) => l.action)).toEqual(['created', 'claimed', 'requeued', 'claimed', 'completed']);
    expect(logs[2]).toMatchObject({ instanceId: 'worker-1', details: 'worker-1 restarted: the worker process that held it is gone (attempt 1 of 3 used)' });
  });

  it('the text output says what it gave back', async () => {
    const id = await add('crash again');
    const pidFile = join(dir.path, 'crash-text.pid');
    const first = spawnCli(['work', '--poll', '5', '--json', '-x', `echo $$ > ${pidFile}; sleep 60`], env);
    await until(() => pidOf(pidFile) !== null, 10_000, 'the command to start');
    first.child.kill('SIGKILL');
    await first.done;
    killGroup(pidOf(pidFile)!);
    const r = await runCli(['work', '--once', '--poll', '5', '-x', 'true'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`↩️  #${id} was held by this instance's previous process (in_progress): back in the queue`);
    expect(r.stdout).toContain(`✅ #${id} completed`);
  });

  it('while another worker of the same instance runs here, its task is left alone and --once stops on the WIP limit', async () => {
    const busy = await add('the running worker has me');
    const pidFile = join(dir.path, 'busy.pid');
    const running = spawnCli(['work', '--poll', '5', '--json', '-x', `echo $$ > ${pidFile}; sleep 60`], env);
    try {
      await until(() => pidOf(pidFile) !== null, 10_000, 'the command to start');
      const waiting = await add('nobody can take me yet');
      const started = Date.now();
      const r = await runCli(['work', '--once', '--poll', '5', '--json', '-x', 'true'], env);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('WIP_LIMIT');
      expect(events(r.stdout).find((e) => e.event === 'instance_shared')).toMatchObject({ pid: running.child.pid, instanceId: 'worker-1' });
      expect(events(r.stdout).some((e) => e.event === 'requeued_held')).toBe(false);
      expect(await t.server.queue.get(busy)).toMatchObject({ status: 'in_progress', instanceId: 'worker-1', attempts: 1 });
      expect((await t.server.queue.get(waiting)).status).toBe('pending');
    } finally {
      running.child.kill('SIGKILL');
      await running.done;
      const pid = pidOf(pidFile);
      if (pid) killGroup(pid);
    }
  });
});

