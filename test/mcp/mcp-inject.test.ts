// /mcp through app.inject (no listening socket): the tools reach the REST routes in-process.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openTestApp, TEST_KEY, type TestApp } from '../helpers/app.js';
import { recordingLogger } from '../helpers/log.js';
import { backends, sqliteBackend } from '../helpers/stores.js';

const MCP_HEADERS = { 'x-api-key': TEST_KEY, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

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

describe('/mcp closing', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a failure closing the per-request transport or server is logged as a warning, not thrown', async () => {
    const { log, lines } = recordingLogger();
    const t = await openTestApp(sqliteBackend, { logger: log });
    try {
      vi.spyOn(StreamableHTTPServerTransport.prototype, 'close').mockRejectedValueOnce(new Error('transport would not close'));
      vi.spyOn(McpServer.prototype, 'close').mockRejectedValueOnce(new Error('server would not close'));
      const res = await t.app.inject({
        method: 'POST',
        url: '/mcp',
        headers: MCP_HEADERS,
        payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      });
      expect(res.statusCode).toBe(200);
      await vi.waitFor(() => expect(lines).toHaveLength(2));
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ level: 40, msg: 'could not close the MCP transport', err: expect.objectContaining({ message: 'transport would not close' }) }),
          expect.objectContaining({ level: 40, msg: 'could not close the MCP server', err: expect.objectContaining({ message: 'server would not close' }) }),
        ]),
      );
    } finally {
      await t.close();
    }
  });
});
