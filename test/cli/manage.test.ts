// The task-management commands against a real server: edit, delete, reopen, retry, comment, depends,
// bulk actions, export/import, add --run-after/--assignee, and the ⏰ mark of scheduled tasks.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, json, runCli, startTestServer, type TestServer } from './harness.js';
import { makeStyle, taskTitle } from '../../src/cli/format.js';

let t: TestServer;
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(async () => {
  t = await startTestServer({ WIP_LIMIT: '0', RETRY_BASE_SECONDS: '0' });
  env = cliEnv(t.url);
  dir = mkdtempSync(join(tmpdir(), 'athena-cli-manage-'));
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const add = async (description: string, extra: Record<string, unknown> = {}) =>
  (await t.server.queue.create({ description, submittedBy: 'test', ...extra } as never)).task.id;

describe('task management commands', () => {
  it('edit changes fields and prints old -> new; a misspelt nothing is a usage error', async () => {
    const id = await add('first words');
    const r = await runCli(['edit', String(id), '-d', 'better words', '-p', 'high', '--assignee', 'bot-9', '--labels', 'db'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`✏️  Task #${id} edited`);
    expect(r.stdout).toContain('description: first words → better words');
    expect(r.stdout).toContain('bot-9');
    expect(await t.server.queue.get(id)).toMatchObject({ description: 'better words', priority: 'high', assignee: 'bot-9', labels: ['db'] });
    const none = await runCli(['edit', String(id)], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('nothing to change');
    const cleared = await runCli(['edit', String(id), '--assignee', 'none', '--json'], env);
    expect(json(cleared).task.assignee).toBeNull();
  });

  it('add --run-after "in 2h" and --assignee; list and check mark the scheduled task with ⏰', async () => {
    const r = await runCli(['add', 'later please', '--run-after', 'in 2h', '--assignee', 'agent-a', '--json'], env);
    expect(r.code).toBe(0);
    const task = json(r).task;
    expect(Date.parse(task.run_after) - Date.now()).toBeGreaterThan(7_100_000);
    expect(task.assignee).toBe('agent-a');
    const list = await runCli(['list'], env);
    expect(list.stdout).toMatch(new RegExp(`#${task.id}\\s.*pending ⏰`));
    // check lists pending tasks with taskTitle, which marks them the same way.
    expect(taskTitle(task, makeStyle(false))).toMatch(new RegExp(`^#${task.id} \\[medium\\] ⏰ \\d`));
    const bad = await runCli(['add', 'x', '--run-after', 'someday'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Cannot read the start time');
  });

  it('comment, then show lists the comments with their authors', async () => {
    const id = await add('discuss');
    expect((await runCli(['comment', String(id), 'please', 'use', 'v2'], env)).stdout).toContain(`Comment #`);
    const show = await runCli(['show', String(id)], env);
    expect(show.stdout).toContain('comments:');
    expect(show.stdout).toContain('Agent A: please use v2');
  });

  it('delete (twice: 404 with its code), reopen and retry', async () => {
    const id = await add('short-lived');
    expect((await runCli(['delete', String(id)], env)).stdout).toContain(`🗑️  Task #${id} deleted`);
    const again = await runCli(['delete', String(id)], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('(NOT_FOUND)');

    const done = await add('done once');
    const claimed = await t.server.queue.claim(done, { instanceId: 'x' });
    await t.server.queue.complete(done, { leaseToken: claimed.leaseToken });
    expect((await runCli(['reopen', String(done), '-r', 'regressed'], env)).stdout).toContain(`🔁 Task #${done} reopened (pending)`);

    const failing = await add('fails');
    const c = await t.server.queue.claim(failing, { instanceId: 'x' });
    await t.server.queue.fail(failing, { leaseToken: c.leaseToken, error: 'boom' });
    expect((await runCli(['retry', String(failing)], env)).stdout).toContain(`🔁 Task #${failing} retried (pending)`);
  });

  it('depends adds dependencies; retry-failed and cancel-pending take filters', async () => {
    const a = await add('a', { project: 'bulk' });
    const b = await add('b', { project: 'bulk' });
    expect((await runCli(['depends', String(b), String(a)], env)).stdout).toContain(`now depends on #${a}`);
    const f = await add('f', { project: 'bulk' });
    const c = await t.server.queue.claim(f, { instanceId: 'x' });
    await t.server.queue.fail(f, { leaseToken: c.leaseToken, error: 'boom' });
    expect((await runCli(['retry-failed', '--project', 'bulk'], env)).stdout).toContain('1 failed task(s) retried');
    expect((await runCli(['cancel-pending', '--project', 'bulk'], env)).stdout).toContain('3 pending task(s) cancelled');
    expect((await runCli(['purge', '--older-than', '3650'], env)).stdout).toContain('0 finished task(s)');
  });

  it('export writes a private file; import into a non-empty queue is refused with its code', async () => {
    const file = join(dir, 'export.json');
    const r = await runCli(['export', '-o', file], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).tasks.length).toBeGreaterThan(0);
    const refused = await runCli(['import', file], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('(CONFLICT)');
  });
});
