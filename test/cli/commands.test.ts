// Each `athena` client command against a real server: human output, --json shapes, exit codes and errors.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, json, KEY, runCli, spawnCli, startTestServer, until, type TestServer } from './harness.js';

let t: TestServer;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestServer({ WIP_LIMIT: '0', RETRY_BASE_SECONDS: '0' });
  env = cliEnv(t.url);
});
afterAll(async () => t?.close());

const add = async (description: string, extra: Record<string, unknown> = {}) =>
  (await t.server.queue.create({ description, submittedBy: 'test', ...extra } as never)).task.id;

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('queue commands', () => {
  it('add creates a task with priority, labels and project; --json gives the server answer', async () => {
    const human = await runCli(['add', 'Fix the flaky login test', '-p', 'high'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^📋 Task #\d+ added \(high\)$/m);

    const r = await runCli(['add', 'Tune', 'the', 'index', '--labels', 'db,postgres', '--project', 'athena', '-n', 'see issue 7', '--json'], env);
    expect(r.code).toBe(0);
    const body = json(r);
    expect(body).toMatchObject({ status: 'pending', created: true, task: { description: 'Tune the index', labels: ['db', 'postgres'], project: 'athena', notes: 'see issue 7', priority: 'medium', submitted_by: 'Agent A' } });
    expect(body.task_id).toBe(body.task.id);
    const stored = await t.server.queue.get(body.task_id);
    expect(stored.labels).toEqual(['db', 'postgres']);
  });

  it('add refuses a priority that does not exist before sending anything', async () => {
    const before = (await t.server.queue.stats()).total;
    const r = await runCli(['add', 'x', '-p', 'urgent'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/urgent.*invalid|Allowed choices are high, medium, low/i);
    expect((await t.server.queue.stats()).total).toBe(before);
  });

  it('check prints the pending count, the next tasks and what this instance holds', async () => {
    const stats = await t.server.queue.stats();
    const r = await runCli(['check'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`📋 ${stats.byStatus.pending} task(s) pending`);
    expect(r.stdout).toContain('agent-a holds no task');

    const id = await add('held by agent-a');
    await t.server.queue.claim(id, { instanceId: 'agent-a', instanceName: 'Agent A' });
    const held = await runCli(['check'], env);
    expect(held.stdout).toContain('agent-a holds 1 task(s)');
    expect(held.stdout).toContain(`#${id} [medium] held by agent-a`);

    const j = json(await runCli(['check', '--json'], env));
    expect(j).toMatchObject({ pending: stats.byStatus.pending, instance_id: 'agent-a' });
    expect(j.held.map((x: { id: number }) => x.id)).toEqual([id]);
    expect(Array.isArray(j.next)).toBe(true);
    await t.server.queue.cancel(id);
  });

  it('list shows pending tasks in queue order; --status, --label and --json work', async () => {
    const low = await add('a low one', { priority: 'low' });
    const high = await add('an urgent one', { priority: 'high' });
    const r = await runCli(['list'], env);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+PRIORITY\s+STATUS\s+AGE\s+DESCRIPTION$/);
    const order = lines.slice(1).map((l) => Number(l.match(/^#(\d+)/)?.[1]));
    expect(order.indexOf(high)).toBeLessThan(order.indexOf(low));

    const page = json(await runCli(['list', '--json', '--limit', '2'], env));
    expect(page.tasks).toHaveLength(2);
    expect(page.tasks[0]).toMatchObject({ status: 'pending', priority: 'high' });
    expect(typeof page.next_cursor).toBe('string');

    const labelled = json(await runCli(['list', '--label', 'postgres', '--json'], env));
    expect(labelled.tasks.map((x: { description: string }) => x.description)).toEqual(['Tune the index']);

    await t.server.queue.cancel(low);
    const cancelled = json(await runCli(['list', '-s', 'cancelled', '--json'], env));
    expect(cancelled.tasks.map((x: { id: number }) => x.id)).toContain(low);
    expect(cancelled.tasks.every((x: { status: string }) => x.status === 'cancelled')).toBe(true);
    await t.server.queue.cancel(high);
  });

  it('list says so when nothing matches', async () => {
    const r = await runCli(['list', '--label', 'no-such-label'], env);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('📭 No pending tasks');
  });

  it('next peeks without claiming', async () => {
    const peek = json(await runCli(['next', '--json'], env));
    expect(peek.task).not.toBeNull();
    const human = await runCli(['next'], env);
    expect(human.stdout).toContain(`⏭️  Next: #${peek.task.id}`);
    expect((await t.server.queue.get(peek.task.id)).status).toBe('pending');
  });

  it('status prints counts and agents; --json is the stats object', async () => {
    const r = await runCli(['status'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('📊 Queue');
    expect(r.stdout).toMatch(/pending\s+\d+/);
    expect(r.stdout).toContain('Agent A');
    const s = json(await runCli(['status', '--json'], env));
    for (const k of ['pending', 'in_progress', 'completed', 'cancelled', 'failed', 'needs_input', 'blocked', 'total', 'instances']) expect(s).toHaveProperty(k);
  });

  it('show prints one task with its log; a missing task is NOT_FOUND with exit 1', async () => {
    const id = await add('show me');
    const r = await runCli(['show', String(id)], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`#${id}  show me`);
    expect(r.stdout).toMatch(/log:\n.*created/);
    expect(r.stdout).toMatch(/attempts\s+0 of 3 used/);
    const j = json(await runCli(['show', `#${id}`, '--json'], env));
    expect(j.task).toMatchObject({ id, description: 'show me' });
    expect(j.logs[0]).toMatchObject({ action: 'created', task_id: id });

    const missing = await runCli(['show', '999999'], env);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.trim()).toBe('Error: Task #999999 not found (NOT_FOUND)');
    await t.server.queue.cancel(id);
  });

  it('under --json an error is {"error","code"} on stderr with the same exit code, before or after the command name', async () => {
    for (const args of [['--json', 'claim', '999999'], ['claim', '999999', '--json']]) {
      const r = await runCli(args, env);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      expect(JSON.parse(r.stderr)).toEqual({ error: 'Task #999999 not found', code: 'NOT_FOUND' });
    }
    const unreachable = await runCli(['--json', 'check', '--url', `http://127.0.0.1:${await closedPort()}`], env);
    expect(unreachable.code).toBe(1);
    expect(JSON.parse(unreachable.stderr)).toMatchObject({ code: 'NETWORK' });
  });

  it('priority and cancel change the task', async () => {
    const id = await add('steer me');
    const p = await runCli(['priority', String(id), 'high'], env);
    expect(p.code).toBe(0);
    expect(p.stdout.trim()).toBe(`✅ Task #${id} priority set to high`);
    expect((await t.server.queue.get(id)).priority).toBe('high');
    const c = json(await runCli(['cancel', String(id), '-r', 'not needed', '--json'], env));
    expect(c).toMatchObject({ status: 'cancelled', task_id: id });
    const again = await runCli(['cancel', String(id)], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^Error: Cannot cancel task #\d+: it is cancelled \(CONFLICT\)/);
  });

  it('a task id that is not a number is refused by the CLI', async () => {
    const r = await runCli(['show', 'abc'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('expected a task id');
  });
});

describe('lease commands', () => {
  it('claim → heartbeat → complete, as the original client printed them', async () => {
    const id = await add('the original flow');
    const claim = await runCli(['claim', String(id)], env);
    expect(claim.code).toBe(0);
    expect(claim.stdout.split('\n')[0]).toBe(`✅ Task #${id} claimed`);
    const task = await t.server.queue.get(id);
    expect(task).toMatchObject({ status: 'in_progress', instanceId: 'agent-a', instanceName: 'Agent A' });

    const hb = await runCli(['heartbeat', String(id), '-m', 'halfway'], env);
    expect(hb.code).toBe(0);
    // Today's leases print as HH:MM:SS; one that ends after midnight carries its date.
    expect(hb.stdout).toMatch(
      new RegExp(`^💓 Task #${id} lease extended until (\\d\\d:\\d\\d:\\d\\d|\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d)`),
    );

    const done = await runCli(['complete', String(id), '-n', 'Done!'], env);
    expect(done.code).toBe(0);
    expect(done.stdout.split('\n')[0]).toBe(`✅ Task #${id} completed`);
    expect(await t.server.queue.get(id)).toMatchObject({ status: 'completed', notes: 'Done!' });
  });

  it('--json answers carry lease_token, lease_expires_at and next_task_id', async () => {
    const id = await add('json flow');
    const claim = json(await runCli(['claim', String(id), '--json'], env));
    expect(claim).toMatchObject({ status: 'claimed', task_id: id, task: { id, status: 'in_progress' } });
    expect(claim.lease_token).toMatch(/\S{8,}/);
    expect(Date.parse(claim.lease_expires_at)).toBeGreaterThan(Date.now());

    const hb = json(await runCli(['heartbeat', String(id), '--lease-token', claim.lease_token, '--json'], env));
    expect(hb).toMatchObject({ status: 'in_progress', task_id: id });
    expect(typeof hb.lease_expires_at).toBe('string');

    const done = json(await runCli(['complete', String(id), '--lease-token', claim.lease_token, '--result', '{"pr":42}', '--json'], env));
    expect(done).toMatchObject({ status: 'completed', task_id: id, task: { result: { pr: 42 } } });
    expect(done).toHaveProperty('next_task_id');
  });

  it('complete --next claims the next task in the same request, as claim would print it', async () => {
    // What earlier tests left in the queue would be claimed first.
    await t.server.queue.cancelPending({});
    const id = await add('first of two');
    const other = await add('for a gpu agent', { labels: ['gpu'] });
    const second = await add('second of two');
    await runCli(['claim', String(id)], env);
    const done = await runCli(['complete', String(id), '--next', '-l', 'docs'], env);
    expect(done.code).toBe(0);
    const lines = done.stdout.split('\n');
    expect(lines[0]).toBe(`✅ Task #${id} completed`);
    expect(lines[1]).toBe(`✅ Task #${second} claimed`);
    expect(await t.server.queue.get(second)).toMatchObject({ status: 'in_progress', instanceId: 'agent-a' });
    const last = json(await runCli(['complete', String(second), '--next', '--json'], env));
    expect(last).toMatchObject({ status: 'completed', next_task: null });
    expect((await t.server.queue.get(other)).status).toBe('pending');
    expect((await runCli(['complete', String(second), '-l', 'gpu'], env)).stderr).toContain('add --next');
    await t.server.queue.cancel(other);
  });

  it('claiming a task that is not pending fails with the server message and code', async () => {
    const id = await add('claimed twice');
    expect((await runCli(['claim', String(id)], env)).code).toBe(0);
    const second = await runCli(['claim', String(id)], cliEnv(t.url, { CLAUDE_INSTANCE: 'agent-b' }));
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toBe(`Error: Cannot claim task #${id}: it is in_progress (NOT_PENDING)`);
    await t.server.queue.cancel(id);
  });

  it('another instance cannot complete my task (LEASE_MISMATCH)', async () => {
    const id = await add('mine');
    await runCli(['claim', String(id)], env);
    const r = await runCli(['complete', String(id)], cliEnv(t.url, { CLAUDE_INSTANCE: 'agent-b' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(LEASE_MISMATCH)');
    expect((await t.server.queue.get(id)).status).toBe('in_progress');
    await t.server.queue.cancel(id);
  });

  it('inside a worker, ATHENA_TASK_ID + ATHENA_LEASE_TOKEN fence the call for that task', async () => {
    const id = await add('token from env');
    const claim = json(await runCli(['claim', String(id), '--json'], env));
    // Another instance name, but the worker's token for this very task: accepted.
    const r = await runCli(['complete', String(id)], cliEnv(t.url, { CLAUDE_INSTANCE: 'agent-b', ATHENA_TASK_ID: String(id), ATHENA_LEASE_TOKEN: claim.lease_token }));
    expect(r.code).toBe(0);
    expect((await t.server.queue.get(id)).status).toBe('completed');
  });

  it('fail marks failed, or requeues with --retry', async () => {
    const id = await add('fails once', { maxAttempts: 3 });
    await runCli(['claim', String(id)], env);
    const retry = await runCli(['fail', String(id), '-e', 'flaky network', '--retry'], env);
    expect(retry.code).toBe(0);
    expect(retry.stdout).toMatch(new RegExp(`^🔁 Task #${id} will be retried`));
    expect(await t.server.queue.get(id)).toMatchObject({ status: 'pending', error: 'flaky network' });

    await t.server.queue.claim(id, { instanceId: 'agent-a', instanceName: 'Agent A' });
    const fail = json(await runCli(['fail', String(id), '-e', 'broken for good', '--json'], env));
    expect(fail).toMatchObject({ status: 'failed', task_id: id, task: { error: 'broken for good' } });
    const human = await runCli(['fail', String(id), '-e', 'again'], env);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/it is failed \((CONFLICT|NOT_CLAIMABLE)\)/);
  });

  it('release gives the task back, and its attempt', async () => {
    const id = await add('give back');
    await runCli(['claim', String(id)], env);
    expect((await runCli(['show', String(id)], env)).stdout).toMatch(/attempts\s+1 of 3 used/);
    const r = await runCli(['release', String(id), '-r', 'wrong machine'], env);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`↩️  Task #${id} released back to the queue (its attempt given back: 0 of 3 used)`);
    expect(await t.server.queue.get(id)).toMatchObject({ status: 'pending', instanceId: null, attempts: 0 });
    await t.server.queue.cancel(id);
  });

  it('wait claims a task created while it waits', async () => {
    await t.server.queue.cancelPending({});
    const waiting = runCli(['wait', '--timeout', '10', '--labels', 'gpu', '--json'], env);
    await until(() => t.server.waiters.size() > 0, 10_000, 'wait to long-poll');
    const id = await add('needs a gpu', { labels: ['gpu'] });
    const r = await waiting;
    expect(r.code).toBe(0);
    expect(json(r).task).toMatchObject({ id, status: 'in_progress', instance_id: 'agent-a', labels: ['gpu'] });
    await t.server.queue.cancel(id);
  });

  it('wait stops at Ctrl-C without an error and claims nothing afterwards', async () => {
    const w = spawnCli(['wait', '--labels', 'interrupt-me'], env);
    await until(() => t.server.waiters.size() > 0, 10_000, 'the long-poll');
    w.child.kill('SIGINT');
    const r = await w.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^📭 Stopped waiting after/);
    expect(r.stderr).toBe('');
    await until(() => t.server.waiters.size() === 0, 5000, 'the long-poll to end');
    const id = await add('for nobody', { labels: ['interrupt-me'] });
    expect((await t.server.queue.get(id)).status).toBe('pending');
    await t.server.queue.cancel(id);
  });

  it('wait gives up after --timeout with {"task": null} and exit 0', async () => {
    const started = Date.now();
    const r = await runCli(['wait', '--timeout', '0.5', '--labels', 'nothing-has-this'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^📭 No task within/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    const j = json(await runCli(['wait', '--timeout', '0.2', '--labels', 'nothing-has-this', '--json'], env));
    expect(j).toEqual({ task: null });
  });
});

describe('connection and key errors', () => {
  it('a server that is not there: the error names the URL and the reason, exit 1', async () => {
    const port = await closedPort();
    const r = await runCli(['check'], cliEnv(`http://127.0.0.1:${port}`));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toMatch(new RegExp(`^Error: cannot reach http://127\\.0\\.0\\.1:${port}/api/stats: .*ECONNREFUSED.* \\(NETWORK\\)$`));
  });

  it('a URL that is not a URL is a usage error', async () => {
    const r = await runCli(['list'], cliEnv('not a url'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"not a url" is not a URL');
    expect(r.stderr).toContain('(USAGE)');
  });

  it('a wrong key prints the server\'s 401 message and code', async () => {
    const r = await runCli(['list'], cliEnv(t.url, { ATHENA_API_KEY: 'wrong' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: Invalid API key (UNAUTHORIZED)');
    expect(r.stderr).toContain('check ATHENA_API_KEY or --key');
    const none = await runCli(['list'], cliEnv(t.url, { ATHENA_API_KEY: undefined }));
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no API key given');
  });

  it('--url and --key override the environment', async () => {
    const badEnv = cliEnv('http://127.0.0.1:1', { ATHENA_API_KEY: 'wrong' });
    const r = await runCli(['status', '--json', '--url', t.url, '--key', KEY], badEnv);
    expect(r.code).toBe(0);
    expect(json(r)).toHaveProperty('total');
  });

  it('--json, --url and --key also work before the command name; after it they win', async () => {
    const badEnv = cliEnv('http://127.0.0.1:1', { ATHENA_API_KEY: 'wrong' });
    const before = await runCli(['--json', '--url', t.url, '--key', KEY, 'status'], badEnv);
    expect(before.code).toBe(0);
    expect(json(before)).toHaveProperty('total');
    const after = await runCli(['--url', 'http://127.0.0.1:1', 'status', '--url', t.url, '--key', KEY], badEnv);
    expect(after.code).toBe(0);
    expect(after.stdout).not.toMatch(/^\s*\{/);
  });

  it('something that is not an Athena server answers BAD_RESPONSE, not a crash', async () => {
    const { createServer: createHttp } = await import('node:http');
    const srv = createHttp((_req, res) => res.end('<html>hello</html>'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as { port: number }).port;
      const r = await runCli(['next'], cliEnv(`http://127.0.0.1:${port}`));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/is not JSON; is this an Athena server\? \(BAD_RESPONSE\)/);
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('`athena serve` is still there', async () => {
    const r = await runCli(['serve', '--help'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('run the server');
  });
});

describe('pause, resume and limits', () => {
  it('athena pause|resume and athena limits set|list|rm change what claims hand out, and athena status shows the pause', async () => {
    const paused = await runCli(['pause', '-r', 'deploying'], env);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('queue paused by Agent A: deploying');
    expect((await runCli(['status'], env)).stdout).toContain('⏸️  queue paused by Agent A: deploying');
    expect(json(await runCli(['status', '--json'], env)).pauses).toEqual([expect.objectContaining({ scope: 'queue', reason: 'deploying' })]);
    expect(await t.server.queue.claimNext({ instanceId: 'x', labels: '*' })).toBeNull();
    expect((await runCli(['resume'], env)).stdout).toContain('queue resumed');
    const again = await runCli(['resume'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('queue is not paused (NOT_FOUND)');

    const set = await runCli(['limits', 'set', 'label:db', '2'], env);
    expect(set.stdout).toContain('label:db: at most 2 at once (0 held now)');
    expect((await runCli(['limits'], env)).stdout).toMatch(/label:db\s+0 of 2 held/);
    expect(json(await runCli(['limits', 'list', '--json'], env)).limits).toEqual([expect.objectContaining({ scope: 'label:db', max: 2, held: 0 })]);
    expect((await runCli(['limits', 'set', 'db', '2'], env)).stderr).toContain('scope must be');
    expect((await runCli(['limits', 'rm', 'label:db'], env)).code).toBe(0);
    expect((await runCli(['limits'], env)).stdout).toContain('No concurrency limits');
  }, 120_000);
});

describe('schedules', () => {
  it('athena schedule add|list|run|pause|resume|rm, with --json; athena show names the schedule of a task', async () => {
    const added = await runCli(['schedule', 'add', '0 9 * * 1-5', 'Update', 'dependencies', '-l', 'deps', '--project', 'web', '--tz', 'Europe/Berlin', '--missed', 'once', '--overlap', '--until', '2099-01-01T00:00:00Z'], env);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/Schedule #(\d+) added: "0 9 \* \* 1-5" \(Europe\/Berlin\)/);
    expect(added.stdout).toContain('next runs:');
    const listed = json(await runCli(['schedule', 'list', '--json'], env)).schedules;
    const s = listed.find((x: { description: string }) => x.description === 'Update dependencies');
    expect(s).toMatchObject({ labels: ['deps'], project: 'web', time_zone: 'Europe/Berlin', missed: 'once', overlap: true, until: '2099-01-01T00:00:00.000Z' });
    expect(s.next_runs).toHaveLength(5);
    expect((await runCli(['schedule'], env)).stdout).toMatch(new RegExp(`#${s.id}\\s+0 9 \\* \\* 1-5 Europe/Berlin\\s+next `));

    const ran = json(await runCli(['schedule', 'run', String(s.id), '--json'], env));
    expect(ran.task).toMatchObject({ description: 'Update dependencies', schedule_id: s.id });
    expect((await runCli(['show', String(ran.task.id)], env)).stdout).toContain(`#${s.id} (athena schedule list)`);

    expect((await runCli(['schedule', 'pause', String(s.id)], env)).stdout).toContain(`Schedule #${s.id} paused`);
    expect((await runCli(['schedule', 'list'], env)).stdout).toMatch(new RegExp(`#${s.id}.*paused`));
    expect((await runCli(['schedule', 'resume', String(s.id)], env)).stdout).toContain(`Schedule #${s.id} resumed (next `);
    expect((await runCli(['schedule', 'rm', String(s.id)], env)).code).toBe(0);
    const gone = await runCli(['schedule', 'rm', String(s.id), '--json'], env);
    expect(gone.code).toBe(1);
    expect(JSON.parse(gone.stderr)).toMatchObject({ code: 'NOT_FOUND' });

    const bad = await runCli(['schedule', 'add', '0 9 * *', 'nope'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('cron:');
    expect((await runCli(['schedule', 'add', '@daily', 'x', '--missed', 'all'], env)).code).not.toBe(0);
  }, 120_000);
});
