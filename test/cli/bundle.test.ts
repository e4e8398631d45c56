// The one-file client dist/athena-cli.mjs, copied alone into a directory with no node_modules anywhere above it.
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/stores.js';
import { BUNDLE_BIN, cliEnv, json, runCli, startTestServer, type TestServer } from './harness.js';

let t: TestServer;
const dir = tempDir('athena-bundle-');
let bin: string;

beforeAll(async () => {
  t = await startTestServer();
  bin = join(dir.path, 'athena-cli.mjs');
  copyFileSync(BUNDLE_BIN, bin);
});
afterAll(async () => {
  await t?.close();
  dir.cleanup();
});

describe('dist/athena-cli.mjs', () => {
  it('sits where no node_modules can be found', () => {
    for (let d = dir.path; ; d = dirname(d)) {
      expect(existsSync(join(d, 'node_modules')), `${d}/node_modules`).toBe(false);
      if (dirname(d) === d) break;
    }
  });

  it('imports only Node built-ins', () => {
    const code = readFileSync(bin, 'utf8');
    const specifiers = [...code.matchAll(/^\s*import\s[^'"]*from\s+["']([^"']+)["']/gm), ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((s) => !s.startsWith('node:'))).toEqual([]);
    expect(code).not.toMatch(/better-sqlite3|fastify|discord\.js/);
  });

  it('runs the agent flow: add, check, claim, complete, status', async () => {
    const env = cliEnv(t.url, { CLAUDE_INSTANCE: 'remote-host' });
    const o = { bin, cwd: dir.path };
    const added = json(await runCli(['add', 'from the one-file client', '-p', 'high', '--json'], env, o));
    const id = added.task_id as number;
    const check = await runCli(['check'], env, o);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('📋 1 task(s) pending');
    const claim = await runCli(['claim', String(id)], env, o);
    expect(claim.stdout.split('\n')[0]).toBe(`✅ Task #${id} claimed`);
    const done = await runCli(['complete', String(id), '-n', 'shipped'], env, o);
    expect(done.code).toBe(0);
    expect(done.stdout.split('\n')[0]).toBe(`✅ Task #${id} completed`);
    expect(await t.server.queue.get(id)).toMatchObject({ status: 'completed', notes: 'shipped', instanceId: 'remote-host' });
    expect(json(await runCli(['status', '--json'], env, o))).toMatchObject({ completed: 1 });
  });

  it('runs the worker loop', async () => {
    const env = cliEnv(t.url, { CLAUDE_INSTANCE: 'remote-worker' });
    const id = (await t.server.queue.create({ description: 'work from the bundle', submittedBy: 'test' } as never)).task.id;
    const r = await runCli(['work', '--once', '--poll', '5', '-x', 'echo "did $ATHENA_TASK_ID"'], env, { bin, cwd: dir.path });
    expect(r.code).toBe(0);
    expect(await t.server.queue.get(id)).toMatchObject({ status: 'completed', notes: `did ${id}` });
  });

  it('reports errors like the full CLI and explains that it cannot serve', async () => {
    const wrongKey = await runCli(['list'], cliEnv(t.url, { ATHENA_API_KEY: 'nope' }), { bin, cwd: dir.path });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('Error: Invalid API key (UNAUTHORIZED)');
    const serve = await runCli(['serve'], cliEnv(t.url), { bin, cwd: dir.path });
    expect(serve.code).toBe(1);
    expect(serve.stderr).toContain('cannot run the server');
  });
});
