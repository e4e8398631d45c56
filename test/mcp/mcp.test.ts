// The MCP tools through the SDK's own client, over stdio (`athena mcp`) and over streamable HTTP (/mcp on the server).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ATHENA_BIN, KEY, cliEnv, startTestServer, until, type TestServer } from '../cli/harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ RETRY_BASE_SECONDS: '0' });
});
afterAll(async () => t?.close());

type Connect = { name: string; instance: string; connect(): Promise<{ client: Client; close(): Promise<void> }> };

const transports: Connect[] = [
  {
    name: 'stdio',
    instance: 'stdio-agent',
    async connect() {
      const transport = new StdioClientTransport({ command: process.execPath, args: [ATHENA_BIN, 'mcp'], env: cliEnv(t.url, { CLAUDE_INSTANCE: 'stdio-agent' }) as Record<string, string>, stderr: 'pipe' });
      const client = new Client({ name: 'athena-test', version: '1.0.0' });
      await client.connect(transport);
      return { client, close: () => client.close() };
    },
  },
  {
    name: 'http',
    instance: 'http-agent',
    async connect() {
      const transport = new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), {
        requestInit: { headers: { 'x-api-key': KEY, 'x-athena-instance': 'http-agent', 'x-athena-instance-name': 'HTTP Agent' } },
      });
      const client = new Client({ name: 'athena-test', version: '1.0.0' });
      await client.connect(transport);
      return { client, close: () => client.close() };
    },
  },
];

const texts = (r: unknown) => (r as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : ''));
/** The summary the tools give first. */
const textOf = (r: unknown) => texts(r)[0]!;
/** The JSON the tools give after the summary. */
const dataOf = (r: unknown) => JSON.parse(texts(r)[1]!);

describe.each(transports)('MCP over $name', (transport) => {
  let client: Client;
  let close: () => Promise<void>;
  beforeEach(async () => {
    await t.server.queue.cancelPending({});
    for (const task of (await t.server.queue.list({ status: ['in_progress', 'needs_input'] })).tasks) await t.server.queue.cancel(task.id);
    ({ client, close } = await transport.connect());
  });
  afterEach(async () => close());

  const call = (name: string, args: Record<string, unknown> = {}) => client.callTool({ name, arguments: args });

  it('lists a small set of described tools with input schemas', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((x) => x.name).sort()).toEqual(['add_task', 'ask_for_input', 'claim_next_task', 'comment', 'complete_task', 'fail_task', 'heartbeat', 'queue_status']);
    for (const tool of tools) {
      expect(tool.description!.length, tool.name).toBeGreaterThan(80);
      expect(tool.inputSchema.type).toBe('object');
    }
    const complete = tools.find((x) => x.name === 'complete_task')!;
    expect(complete.inputSchema.required).toEqual(['task_id']);
    expect(Object.keys(complete.inputSchema.properties ?? {})).toEqual(['task_id', 'lease_token', 'notes', 'result', 'claim_next', 'labels', 'lease_seconds']);
  });

  it('full cycle: add → claim → heartbeat → complete', async () => {
    const added = await call('add_task', { description: 'write the MCP docs', priority: 'high', labels: ['docs'] });
    expect(added.isError).toBeFalsy();
    const id = dataOf(added).task_id as number;

    const claimed = await call('claim_next_task', { labels: ['docs'] });
    expect(claimed.isError).toBeFalsy();
    expect(textOf(claimed)).toContain(`Claimed task #${id} (high)`);
    const task = dataOf(claimed).task;
    expect(task).toMatchObject({ id, status: 'in_progress', instance_id: transport.instance });
    expect(typeof task.lease_token).toBe('string');

    const hb = await call('heartbeat', { task_id: id, lease_token: task.lease_token, progress: 'drafting' });
    expect(hb.isError).toBeFalsy();
    expect(textOf(hb)).toMatch(new RegExp(`Task #${id}: lease extended until`));

    const done = await call('complete_task', { task_id: id, lease_token: task.lease_token, notes: 'docs in README', result: { pr: 7 } });
    expect(done.isError).toBeFalsy();
    expect(textOf(done)).toContain(`Task #${id} completed.`);
    const { task: stored, logs } = await t.server.queue.getWithLogs(id);
    expect(stored).toMatchObject({ status: 'completed', notes: 'docs in README', result: { pr: 7 }, instanceId: transport.instance });
    expect(logs.map((l) => l.action)).toEqual(['created', 'claimed', 'heartbeat', 'completed']);
  });

  it('complete_task with claim_next hands over the next task in the same call', async () => {
    const first = (await t.server.queue.create({ description: 'first' })).task.id;
    await t.server.queue.create({ description: 'needs a gpu', labels: ['gpu'] });
    const second = (await t.server.queue.create({ description: 'second' })).task.id;
    const task = dataOf(await call('claim_next_task', {})).task;
    expect(task.id).toBe(first);
    const done = await call('complete_task', { task_id: first, lease_token: task.lease_token, notes: 'ok', claim_next: true });
    expect(done.isError).toBeFalsy();
    expect(textOf(done)).toMatch(new RegExp(`^Task #${first} completed\\. Claimed task #${second} \\(medium\\)\\. Lease expires at .*\\n\\nTask: second$`));
    const next = dataOf(done).next_task;
    expect(next).toMatchObject({ id: second, status: 'in_progress', instance_id: transport.instance });
    const last = await call('complete_task', { task_id: second, lease_token: next.lease_token, claim_next: true });
    expect(textOf(last)).toBe(`Task #${second} completed. No task is available for this agent right now.`);
    expect(dataOf(last).next_task).toBeNull();
  });

  it('comments: a person\'s reaches the agent at its heartbeat and in queue_status; the agent answers with the comment tool', async () => {
    const id = (await t.server.queue.create({ description: 'talk to me' })).task.id;
    const task = dataOf(await call('claim_next_task', { task_id: id })).task;
    await t.server.queue.comment(id, { author: 'dana', body: 'the staging DB is down today', source: 'dashboard' });
    const hb = await call('heartbeat', { task_id: id, lease_token: task.lease_token });
    expect(textOf(hb)).toContain('New comment from dana: the staging DB is down today');
    expect(dataOf(hb).new_comments).toHaveLength(1);
    const said = await call('comment', { task_id: id, body: 'noted, using a local DB' });
    expect(said.isError).toBeFalsy();
    const status = await call('queue_status', { task_id: id });
    expect(textOf(status)).toContain(`dana: the staging DB is down today\n${transport.instance}: noted, using a local DB`);
    // The agent's own comment is not told back to it.
    expect(dataOf(await call('heartbeat', { task_id: id, lease_token: task.lease_token })).new_comments).toEqual([]);
  });

  it('without a lease token the agent\'s instance id fences; another agent\'s task is refused', async () => {
    const mine = (await t.server.queue.create({ description: 'mine', submittedBy: 'test' } as never)).task.id;
    const claimed = await call('claim_next_task', { task_id: mine });
    expect(dataOf(claimed).task.id).toBe(mine);
    const done = await call('complete_task', { task_id: mine, notes: 'ok' });
    expect(done.isError).toBeFalsy();

    const theirs = (await t.server.queue.create({ description: 'theirs', submittedBy: 'test' } as never)).task.id;
    await t.server.queue.claim(theirs, { instanceId: 'someone-else', instanceName: 'Someone' });
    const refused = await call('complete_task', { task_id: theirs });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/^Error: Cannot complete task #\d+: it is held by Someone.*\(LEASE_MISMATCH\)\. You no longer hold this task/);
    expect((await t.server.queue.get(theirs)).status).toBe('in_progress');
  });

  it('an empty queue says so; wait_seconds long-polls for a new task', async () => {
    const empty = await call('claim_next_task');
    expect(empty.isError).toBeFalsy();
    expect(textOf(empty)).toMatch(/^No task is available/);

    const waiting = call('claim_next_task', { wait_seconds: 10 });
    await until(() => t.server.waiters.size() > 0, 10_000, 'the tool to long-poll');
    const id = (await t.server.queue.create({ description: 'arrives later', submittedBy: 'test' } as never)).task.id;
    const got = await waiting;
    expect(dataOf(got).task).toMatchObject({ id, status: 'in_progress' });
  });

  it('fail_task with retry requeues; ask_for_input waits for a human answer that queue_status shows', async () => {
    const id = (await t.server.queue.create({ description: 'needs judgement', submittedBy: 'test' } as never)).task.id;
    await call('claim_next_task');
    const failed = await call('fail_task', { task_id: id, error: 'registry timed out', retry: true });
    expect(textOf(failed)).toContain(`Task #${id} will be retried`);
    expect((await t.server.queue.get(id)).status).toBe('pending');

    await call('claim_next_task', { task_id: id });
    const asked = await call('ask_for_input', { task_id: id, question: 'Which branch?' });
    expect(asked.isError).toBeFalsy();
    expect((await t.server.queue.get(id)).status).toBe('needs_input');
    await t.server.queue.answer(id, { answer: 'main', by: 'human' });
    const shown = await call('queue_status', { task_id: id });
    expect(dataOf(shown).task).toMatchObject({ id, status: 'in_progress', question: 'Which branch?', answer: 'main' });
  });

  it('queue_status counts tasks and shows what this agent holds', async () => {
    const id = (await t.server.queue.create({ description: 'held one', submittedBy: 'test' } as never)).task.id;
    await call('claim_next_task');
    const status = await call('queue_status');
    expect(textOf(status)).toContain(`You (${transport.instance}) hold: #${id} [medium] in_progress: held one`);
    expect(dataOf(status).counts).toMatchObject({ in_progress: 1 });
  });

  it('input outside the schema is refused before anything changes', async () => {
    const res = await call('claim_next_task', { wait_seconds: 1000 });
    expect(res.isError).toBe(true);
    expect(textOf(res)).toMatch(/wait_seconds/);
    const bad = await call('add_task', { description: '' });
    expect(bad.isError).toBe(true);
    expect((await t.server.queue.stats()).byStatus.pending).toBe(0);
  });
});

describe('MCP over HTTP: access', () => {
  it('a wrong key is refused with 401 like the REST API', async () => {
    const res = await fetch(`${t.url}/mcp`, {
      method: 'POST',
      headers: { 'x-api-key': 'wrong', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'Invalid API key', code: 'UNAUTHORIZED' });

    const transport = new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { requestInit: { headers: { 'x-api-key': 'wrong' } } });
    const client = new Client({ name: 'athena-test', version: '1.0.0' });
    await expect(client.connect(transport)).rejects.toThrow();
  });

  it('Authorization: Bearer works too, and agents without an instance header are "mcp"', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${KEY}` } } });
    const client = new Client({ name: 'athena-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const id = (await t.server.queue.create({ description: 'bearer', submittedBy: 'test' } as never)).task.id;
      const res = await client.callTool({ name: 'claim_next_task', arguments: {} });
      expect(dataOf(res).task).toMatchObject({ id, instance_id: 'mcp' });
      await t.server.queue.cancel(id);
    } finally {
      await client.close();
    }
  });

  it('an MCP client that hangs up during a long-poll claim leaves the task in the queue', async () => {
    const hangUp = new AbortController();
    const pending = fetch(`${t.url}/mcp`, {
      method: 'POST',
      signal: hangUp.signal,
      headers: { 'x-api-key': KEY, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'claim_next_task', arguments: { wait_seconds: 30 } } }),
    }).catch((err: Error) => err);
    await vi.waitFor(() => expect(t.server.waiters.size()).toBe(1), 5000);
    hangUp.abort();
    expect(await pending).toBeInstanceOf(Error);
    await vi.waitFor(() => expect(t.server.waiters.size()).toBe(0), 5000);
    const id = (await t.server.queue.create({ description: 'nobody should get this', submittedBy: 'test' } as never)).task.id;
    // A fixed wait on purpose: it checks that nobody claims the task.
    await new Promise((r) => setTimeout(r, 200));
    expect((await t.server.queue.get(id)).status).toBe('pending');
    await t.server.queue.cancel(id);
  });

  it('GET and DELETE answer 405: the endpoint is stateless', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${t.url}/mcp`, { method, headers: { 'x-api-key': KEY, accept: 'text/event-stream' } });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(await res.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
    }
  });
});
