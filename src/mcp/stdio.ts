// `athena mcp`: the MCP tools over stdio for a local agent (Claude Code starts it), talking HTTP to the server.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { AthenaClient } from '../client/index.js';
import type { ClientSettings } from '../cli/settings.js';
import { createMcpServer } from './tools.js';

/** Serves until the MCP client closes stdin or a SIGINT/SIGTERM arrives. */
export async function serveMcpStdio(settings: ClientSettings): Promise<void> {
  const client = new AthenaClient({ baseUrl: settings.url, apiKey: settings.apiKey });
  const server = createMcpServer({ client, agent: settings.agent });
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = resolve;
  });
  const close = () => void server.close();
  process.stdin.once('end', close);
  process.once('SIGINT', close);
  process.once('SIGTERM', close);
  try {
    await server.connect(new StdioServerTransport());
    await closed;
  } finally {
    process.stdin.off('end', close);
    process.off('SIGINT', close);
    process.off('SIGTERM', close);
  }
}
