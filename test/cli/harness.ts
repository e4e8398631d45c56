// A real Athena server on a loopback port, and the built CLI run as a child process against it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { tempDir } from '../helpers/stores.js';

export const KEY = 'cli-test-key-0123456789abcdef';
export const ATHENA_BIN = resolve('dist/athena.mjs');
export const BUNDLE_BIN = resolve('dist/athena-cli.mjs');

export type TestServer = { url: string; server: RunningServer; close(): Promise<void> };

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dir = tempDir('athena-cli-');
  const config = loadConfig({ API_PORT: '0', API_HOST: '127.0.0.1', DB_PATH: join(dir.path, 'athena.db'), API_KEY: KEY, LOG_LEVEL: 'silent', ...env });
  const server = await startServer(config, silentLogger);
  return {
    url: server.url,
    server,
    async close() {
      await server.close();
      dir.cleanup();
    },
  };
}

/** A clean environment: nothing from the developer's shell leaks into the CLI under test. */
export function cliEnv(url: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TZ: 'UTC',
    ATHENA_API_URL: url,
    ATHENA_API_KEY: KEY,
    CLAUDE_INSTANCE: 'agent-a',
    CLAUDE_INSTANCE_NAME: 'Agent A',
    ...extra,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

export type CliResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

export type CliChild = { child: ChildProcess; stdout(): string; stderr(): string; done: Promise<CliResult> };

export function spawnCli(args: string[], env: NodeJS.ProcessEnv, o: { bin?: string; cwd?: string; input?: string } = {}): CliChild {
  const child = spawn(process.execPath, [o.bin ?? ATHENA_BIN, ...args], { env, cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  child.stdin!.end(o.input ?? '');
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Runs the CLI to the end; kills it if it runs longer than `timeoutMs`. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv, o: { bin?: string; cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const c = spawnCli(args, env, o);
  const timer = setTimeout(() => c.child.kill('SIGKILL'), o.timeoutMs ?? 20_000);
  try {
    return await c.done;
  } finally {
    clearTimeout(timer);
  }
}

export const json = (r: CliResult): any => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
};

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
