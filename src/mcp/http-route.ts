// POST/GET/DELETE /mcp on the server: the same MCP tools over streamable HTTP, stateless (one MCP server per
// request). The tools are an HTTP client of this very server over loopback, with the caller's own key, so rules,
// errors and long-poll disconnects behave exactly as for a remote agent.
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MethodNotAllowedError } from '../errors.js';
import { AthenaClient, type HttpTransport } from '../client/index.js';
import { BODY, replies } from '../api/openapi.js';

/** The MCP SDK (about 25 MB of memory), loaded by the first request to /mcp rather than at start. */
let mcpModules: Promise<[typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js'), typeof import('./tools.js')]> | undefined;
const loadMcp = () => (mcpModules ??= Promise.all([import('@modelcontextprotocol/sdk/server/streamableHttp.js'), import('./tools.js')]));

/** MCP clients over HTTP say who they are with these headers (one per agent, so WIP limits apply per agent). */
export const INSTANCE_HEADER = 'x-athena-instance';
export const INSTANCE_NAME_HEADER = 'x-athena-instance-name';
const DEFAULT_INSTANCE = 'mcp';

const header = (request: FastifyRequest, name: string): string | undefined => {
  const v = request.headers[name];
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  return s ? s.slice(0, 200) : undefined;
};

/**
 * How the tools reach this server: its own address over loopback while it listens. Not app.inject then:
 * an in-process request cannot be aborted once its body is read, so a long-poll claim would outlive the
 * MCP client that hung up and claim a task for nobody. An app that does not listen (tests using
 * app.inject) has no address, so its tools go through app.inject instead.
 */
function selfClient(app: FastifyInstance): { baseUrl: string; transport?: HttpTransport } {
  const a = app.server.address() as AddressInfo | string | null;
  if (!a || typeof a === 'string') {
    const transport: HttpTransport = async ({ method, url, headers, body }) => {
      const res = await app.inject({ method: method as 'GET', url: url.replace(/^http:\/\/in-process/, ''), headers, payload: body });
      return { status: res.statusCode, text: res.body };
    };
    return { baseUrl: 'http://in-process', transport };
  }
  const host = a.address === '0.0.0.0' ? '127.0.0.1' : a.address === '::' ? '::1' : a.address;
  return { baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${a.port}` };
}

export function mcpRoutes(app: FastifyInstance): void {
  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const auth: Record<string, string> = {};
    for (const name of ['x-api-key', 'authorization']) {
      const v = header(request, name);
      if (v) auth[name] = v;
    }
    // An agent key fixes the identity (the REST routes refuse any other instance_id under it).
    const instanceId = request.principal?.instanceId ?? header(request, INSTANCE_HEADER) ?? DEFAULT_INSTANCE;
    const agent = { instanceId, instanceName: header(request, INSTANCE_NAME_HEADER) ?? instanceId };
    const [{ StreamableHTTPServerTransport }, { createMcpServer }] = await loadMcp();
    const server = createMcpServer({ client: new AthenaClient({ ...selfClient(app), headers: auth }), agent });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    // The SDK writes the response itself; closing the connection cancels running tools (and their long-polls).
    reply.hijack();
    reply.raw.on('close', () => {
      const closing = (what: string) => (err: unknown) => request.log.warn({ err }, `could not close the MCP ${what}`);
      transport.close().catch(closing('transport'));
      server.close().catch(closing('server'));
    });
    await server.connect(transport);
    await transport.handleRequest(request.raw, reply.raw, request.body);
  };
  const jsonRpc = z.looseObject({ jsonrpc: z.literal('2.0') }).describe('the JSON-RPC answer of the MCP SDK (tools/list, tools/call …)');
  app.post(
    '/mcp',
    { schema: { tags: ['mcp'], summary: 'Model Context Protocol over streamable HTTP (stateless); same API key as /api', response: replies({ 200: jsonRpc, 202: z.null().describe('a notification: no answer') }, BODY) } },
    handle,
  );
  // Stateless: no session to delete, and no server-initiated messages to stream, so no GET stream that
  // would stay open for nothing (the MCP spec allows 405 here).
  const notAllowed = async () => {
    throw new MethodNotAllowedError('This MCP endpoint is stateless: send requests with POST', ['POST']);
  };
  const unused = { tags: ['mcp'], summary: 'Not used: 405 (stateless endpoint)', response: replies({}, [405]) };
  app.get('/mcp', { schema: unused }, notAllowed);
  app.delete('/mcp', { schema: unused }, notAllowed);
}
