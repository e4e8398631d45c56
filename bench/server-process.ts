// Starts `node dist/athena.mjs serve` for a benchmark on a loopback port and stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const BIN = resolve(import.meta.dirname, '../dist/athena.mjs');
export const BENCH_KEY = 'bench-key-0123456789abcdefgh';

export type BenchServer = { url: string; proc: ChildProcess; pid: number; stop(): Promise<void> };

/** The URL a server process prints as `serving at <url>`; fails if it exits first. */
export function servingUrl(proc: ChildProcess, what = 'server'): Promise<string> {
  return new Promise<string>((ok, fail) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(/serving at (http:\/\/\S+)/);
      if (m) ok(m[1]!);
    });
    proc.once('exit', (code) => fail(new Error(`${what} exited ${code}: ${out}`)));
  });
}

export async function startBenchServer(dbPath: string, env: Record<string, string> = {}): Promise<BenchServer> {
  const proc = spawn(process.execPath, [BIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', API_HOST: '127.0.0.1', API_PORT: '0', API_KEY: BENCH_KEY, DB_PATH: dbPath, LOG_LEVEL: 'warn', WIP_LIMIT: '1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await servingUrl(proc);
  return {
    url,
    proc,
    pid: proc.pid!,
    stop: () =>
      new Promise((ok) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return ok();
        proc.once('exit', () => ok());
        proc.kill('SIGTERM');
      }),
  };
}
