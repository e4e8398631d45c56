// /mcp through app.inject (no listening socket): the tools reach the REST routes in-process.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestApp, TEST_KEY, type TestApp } from '../helpers/app.js';
import { backends } from '../helpers/stores.js';

describe.each(backends)('/mcp via inject on $name', (backend) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await openTestApp(backend);
  });
  afterEach(async () => t.close());

  it('a tool call creates a task through the REST API, under the caller key', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/mcp',
      headers: { 'x-api-key': TEST_KEY, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-athena-instance': 'inject-agent' },
      payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'add_task', arguments: { description: 'made over MCP' } } }),
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.result.isError).toBeFalsy();
    const tasks = (await t.queue.list({ status: ['pending'] })).tasks;
    expect(tasks.map((task) => task.description)).toEqual(['made over MCP']);
  });
});
