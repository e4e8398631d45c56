// `athena ask` (holder asks, optionally waits for the answer) and `athena answer` (a human answers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, json, runCli, spawnCli, startTestServer, until, type TestServer } from './harness.js';

let t: TestServer;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestServer({ WIP_LIMIT: '0' });
  env = cliEnv(t.url);
});
afterAll(async () => t?.close());

describe('ask and answer', () => {
  it('ask moves a held task to needs_input; answer returns it to the agent', async () => {
    const { task } = await t.server.queue.create({ description: 'which db?', submittedBy: 'test' });
    await t.server.queue.claim(task.id, { instanceId: 'agent-a', instanceName: 'Agent A' });
    const asked = await runCli(['ask', String(task.id), 'Postgres', 'or', 'SQLite?'], env);
    expect(asked.code).toBe(0);
    expect(asked.stdout).toContain(`❓ Task #${task.id} waits for an answer: Postgres or SQLite?`);
    expect(await t.server.queue.get(task.id)).toMatchObject({ status: 'needs_input', question: 'Postgres or SQLite?' });

    const answered = await runCli(['answer', String(task.id), 'SQLite', '--json'], env);
    expect(answered.code).toBe(0);
    expect(json(answered)).toMatchObject({ status: 'in_progress', task: { answer: 'SQLite', instance_id: 'agent-a' } });
    const again = await runCli(['answer', String(task.id), 'again'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/CONFLICT/);
  });

  it('ask --wait blocks until the answer comes and prints it', async () => {
    const { task } = await t.server.queue.create({ description: 'needs a human', submittedBy: 'test' });
    await t.server.queue.claim(task.id, { instanceId: 'agent-a', instanceName: 'Agent A' });
    const child = spawnCli(['ask', String(task.id), 'Ship it?', '--wait'], env);
    await until(async () => (await t.server.queue.get(task.id)).status === 'needs_input');
    await t.server.queue.answer(task.id, { answer: 'yes, ship it', by: 'alice' });
    const result = await child.done;
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('yes, ship it');
  });

  it('ask on a task held by someone else is refused', async () => {
    const { task } = await t.server.queue.create({ description: 'not mine', submittedBy: 'test' });
    await t.server.queue.claim(task.id, { instanceId: 'agent-b', instanceName: 'Agent B' });
    const r = await runCli(['ask', String(task.id), 'hello?'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/LEASE_MISMATCH/);
  });
});
