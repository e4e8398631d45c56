// POST/GET/DELETE /mcp on the server: the same MCP tools over streamable HTTP, stateless (one MCP server per
// request). Tools call the REST routes in-process (inject) with the caller's own key, so rules and errors match.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createClient, type HttpTransport } from '../cli/client.js';
import { NetworkError } from '../cli/errors.js';
import { createMcpServer } from './tools.js';

/** MCP clients over HTTP say who they are with these headers (one per agent, so WIP limits apply per agent). */
export const INSTANCE_HEADER = 'x-athena-instance';
export const INSTANCE_NAME_HEADER = 'x-athena-instance-name';
const DEFAULT_INSTANCE = 'mcp';

const header = (request: FastifyRequest, name: string): string | undefined => {
  const v = request.headers[name];
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  return s ? s.slice(0, 200) : undefined;
};

function injectTransport(app: FastifyInstance, auth: Record<string, string>): HttpTransport {
  return async ({ method, url, headers, body, signal }) => {
    try {
      const res = await app.inject({ method: method as 'GET', url, headers: { ...headers, ...auth }, payload: body, signal });
      return { status: res.statusCode, text: res.body };
    } catch (err) {
      throw new NetworkError(url, (err as Error).message);
    }
  };
}

export function mcpRoutes(app: FastifyInstance): void {
  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const auth: Record<string, string> = {};
    for (const name of ['x-api-key', 'authorization']) {
      const v = header(request, name);
      if (v) auth[name] = v;
    }
    const instanceId = header(request, INSTANCE_HEADER) ?? DEFAULT_INSTANCE;
    const agent = { instanceId, instanceName: header(request, INSTANCE_NAME_HEADER) ?? instanceId };
    const server = createMcpServer({ client: createClient({ baseUrl: '', transport: injectTransport(app, auth) }), agent });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    // The SDK writes the response itself; closing the connection cancels running tools (and their long-polls).
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request.raw, reply.raw, request.body);
  };
  const schema = { tags: ['mcp'], summary: 'Model Context Protocol over streamable HTTP (stateless); same API key as /api' };
  app.post('/mcp', { schema }, handle);
  app.get('/mcp', { schema }, handle);
  app.delete('/mcp', { schema }, handle);
}
