// What `athena serve` loads at start: the packages of surfaces nobody has asked for (the API docs, the
// Discord bot) stay out of its memory until they are used.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/stores.js';
import { api, startServerProcess } from '../helpers/server-process.js';

const HOOK = resolve(import.meta.dirname, '../helpers/loaded-packages.cjs');

describe('athena serve at start', () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

  /** Starts the built server, runs `use` against it, stops it and returns the packages it had loaded. */
  async function packagesLoaded(use: (server: Awaited<ReturnType<typeof startServerProcess>>) => Promise<void>): Promise<string[]> {
    const dir = tempDir('athena-lean-');
    dirs.push(dir);
    const file = join(dir.path, 'packages.txt');
    const server = await startServerProcess({ dataDir: dir.path, env: { NODE_OPTIONS: `--require "${HOOK}"`, LOADED_PACKAGES_FILE: file } });
    try {
      await use(server);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    return readFileSync(file, 'utf8').split('\n');
  }

  it('loads neither the OpenAPI builder nor discord.js until they are used', async () => {
    const idle = await packagesLoaded(async (server) => {
      expect((await api(server, 'POST', '/api/tasks', { description: 'served without the docs' })).status).toBe(201);
    });
    expect(idle).toEqual(expect.arrayContaining(['fastify', 'better-sqlite3', 'prom-client']));
    expect(idle.filter((p) => /^(@fastify\/swagger|yaml$|json-schema-resolver|discord\.js|@discordjs\/)/.test(p))).toEqual([]);

    // Asked for its document, the server loads the builder and answers with every route.
    const asked = await packagesLoaded(async (server) => {
      const doc = await fetch(`${server.url}/docs/json`);
      expect(doc.status).toBe(200);
      expect(Object.keys(((await doc.json()) as { paths: object }).paths)).toContain('/api/tasks/claim-next');
    });
    expect(asked).toEqual(expect.arrayContaining(['@fastify/swagger', 'yaml']));
  });
});
