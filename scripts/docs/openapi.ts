// The app's OpenAPI document, read from a server started on a temporary SQLite file (for docs/api.md).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startServer } from '../../src/server.js';

export type OpenApiDocument = {
  paths?: Record<string, Record<string, OpenApiOperation>>;
  components?: { securitySchemes?: Record<string, unknown>; schemas?: Record<string, JsonSchema> };
  security?: unknown[];
};
export type OpenApiOperation = {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: JsonSchema }[];
  requestBody?: { required?: boolean; description?: string; content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: JsonSchema }> }>;
};
export type JsonSchema = { [key: string]: unknown };

/** Starts the real server (all routes, as `athena serve` wires them) on a throwaway file and port. */
export async function readOpenApiDocument(): Promise<OpenApiDocument> {
  const dir = mkdtempSync(join(tmpdir(), 'athena-docs-'));
  try {
    const config = loadConfig({
      DB_PATH: join(dir, 'athena.db'),
      API_HOST: '127.0.0.1',
      API_PORT: '0',
      API_KEY: 'docs-generator-key-0123456789abcdef',
      LOG_LEVEL: 'silent',
      BACKUP_INTERVAL_HOURS: '0',
    });
    const server = await startServer(config, createLogger('silent'));
    try {
      return JSON.parse(JSON.stringify(await server.app.openApiDocument())) as OpenApiDocument;
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
