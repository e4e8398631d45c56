// Runs the built server (`node dist/athena.mjs serve`) as a child process on a loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ATHENA_BIN = resolve(import.meta.dirname, '../../dist/athena.mjs');

export type ServerProcess = {
  url: string;
  key: string;
  proc: ChildProcess;
  output: () => string;
  /** Sends a signal and resolves with the exit code (or signal name) once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
  exited: Promise<number | string | null>;
};

export async function startServerProcess(options: { dataDir: string; env?: Record<string, string>; key?: string; timeoutMs?: number }): Promise<ServerProcess> {
  const key = options.key ?? 'e2e-test-key-0123456789abcdef';
  const proc = spawn(process.execPath, [ATHENA_BIN, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      API_HOST: '127.0.0.1',
      API_PORT: '0',
      API_KEY: key,
      DB_PATH: join(options.dataDir, 'athena.db'),
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    // In its data directory: a developer's ./.env in the checkout must not reach the server under test.
    cwd: existsSync(options.dataDir) ? options.dataDir : tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string | null>((resolveExit) => proc.once('exit', (code, signal) => resolveExit(code ?? signal)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${out}`)), options.timeoutMs ?? 20_000);
    const check = () => {
      const match = out.match(/serving at (http:\/\/[^\s]+)/);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    };
    proc.stdout!.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before serving:\n${out}`));
    });
  });
  return {
    url,
    key,
    proc,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** fetch with the API key and JSON. */
export async function api(server: { url: string; key: string }, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'x-api-key': server.key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}
