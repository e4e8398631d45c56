// ./.env is read at start-up by `athena serve` and the agent CLI; the real environment wins over it.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dotEnvProblems } from '../src/dotenv.js';
import { BUNDLE_BIN, KEY, json, runCli, spawnCli, startTestServer, until, type TestServer } from './cli/harness.js';
import { tempDir } from './helpers/stores.js';

const bareEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC', ...extra });

describe('dotEnvProblems', () => {
  it('accepts assignments, comments, blank lines, export and quoted values over several lines', () => {
    expect(dotEnvProblems('# settings\n\nA=1\nexport B = two\nC="multi\nline value"\nD=\n')).toEqual([]);
  });

  it('names each line that is not NAME=value', () => {
    expect(dotEnvProblems('A=1\nAPI_PORT 5051\n  \n=x\n')).toEqual(['line 2: expected NAME=value, got "API_PORT 5051"', 'line 4: expected NAME=value, got "=x"']);
  });
});

describe('the agent CLI reads ./.env', () => {
  let t: TestServer;
  let dir: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    t = await startTestServer();
    dir = tempDir('athena-dotenv-');
  });
  afterAll(async () => {
    await t.close();
    dir.cleanup();
  });

  const project = (name: string, dotEnv?: string) => {
    const path = join(dir.path, name);
    mkdirSync(path);
    if (dotEnv !== undefined) writeFileSync(join(path, '.env'), dotEnv);
    return path;
  };

  it('takes its settings from .env, and a variable of the real environment over the file', async () => {
    const cwd = project('both', `ATHENA_API_URL=${t.url}\nATHENA_API_KEY=${KEY}\nCLAUDE_INSTANCE=from-file\n`);
    // `athena` and the one-file client alike.
    for (const bin of [undefined, BUNDLE_BIN]) {
      const fromFile = await runCli(['check', '--json'], bareEnv(), { cwd, bin });
      expect(fromFile.code, fromFile.stderr).toBe(0);
      expect(json(fromFile).instance_id).toBe('from-file');
    }
    const overridden = await runCli(['check', '--json'], bareEnv({ CLAUDE_INSTANCE: 'from-env' }), { cwd });
    expect(json(overridden).instance_id).toBe('from-env');
    const wrongKey = await runCli(['check'], bareEnv({ ATHENA_API_KEY: 'a-wrong-key-from-the-environment' }), { cwd });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('UNAUTHORIZED');
  });

  it('runs without a .env', async () => {
    const cwd = project('none');
    const res = await runCli(['check', '--json'], bareEnv({ ATHENA_API_URL: t.url, ATHENA_API_KEY: KEY, CLAUDE_INSTANCE: 'env-only' }), { cwd });
    expect(res.code, res.stderr).toBe(0);
    expect(json(res).instance_id).toBe('env-only');
  });

  it('refuses a malformed .env, naming the file and the line', async () => {
    const cwd = project('bad', `ATHENA_API_URL=${t.url}\nATHENA_API_KEY ${KEY}\n`);
    const res = await runCli(['check'], bareEnv(), { cwd });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${join(cwd, '.env')} line 2: expected NAME=value, got "ATHENA_API_KEY `);
  });
});

describe('athena serve reads ./.env', () => {
  it('uses the file\'s settings, with the real environment winning', async () => {
    const dir = tempDir('athena-dotenv-serve-');
    try {
      const fileKey = 'dotenv-file-key-0123456789abcdef';
      writeFileSync(join(dir.path, '.env'), `API_HOST=127.0.0.1\nAPI_PORT=0\nAPI_KEY=${fileKey}\nDB_PATH=from-file/athena.db\nLOG_LEVEL=warn\n`);
      const server = spawnCli(['serve'], bareEnv({ DB_PATH: join(dir.path, 'from-env', 'athena.db') }), { cwd: dir.path });
      try {
        await until(() => /serving at http/.test(server.stdout()) || server.child.exitCode !== null, 30_000, 'the server to serve');
        const url = /serving at (http:\/\/\S+)/.exec(server.stdout())?.[1];
        expect(url, server.stderr()).toBeDefined();
        expect(existsSync(join(dir.path, 'from-env', 'athena.db'))).toBe(true);
        expect(existsSync(join(dir.path, 'from-file'))).toBe(false);
        const stats = await fetch(`${url}/api/stats`, { headers: { 'x-api-key': fileKey } });
        expect(stats.status).toBe(200);
      } finally {
        server.child.kill('SIGTERM');
        await server.done;
      }
    } finally {
      dir.cleanup();
    }
  }, 60_000);
});
