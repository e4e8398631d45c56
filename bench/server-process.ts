// Starts `node dist/athena.mjs serve` for a benchmark on a loopback port and stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const BIN = resolve(import.meta.dirname, '../dist/athena.mjs');
export const BENCH_KEY = 'bench-key-0123456789abcdefgh';

/** CPU a process has used so far: utime + stime from /proc, in clock ticks (100 a second). */
export function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU used so far by every PostgreSQL process of the machine (its server and each session), in clock ticks. */
export function postgresTicks(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') ticks += cpuTicks(Number(pid));
    } catch {
      // The process ended meanwhile.
    }
  }
  return ticks;
}

export type BenchServer = {
  url: string;
  proc: ChildProcess;
  pid: number;
  /** Everything the server printed so far (its logs are JSON lines on stdout). */
  output(): string;
  stop(): Promise<void>;
};

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

/**
 * `prefix` runs the server through another command, e.g. `ip netns exec <ns>` to start it in a
 * network namespace (that command execs the server, so the pid is the server's).
 */
export async function startBenchServer(dbPath: string, env: Record<string, string> = {}, options: { prefix?: string[] } = {}): Promise<BenchServer> {
  // BENCH_SERVER_NODE_ARGS: node's own options for the servers alone, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`
  // to profile them under the bench's load (NODE_OPTIONS does not take --cpu-prof).
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const [cmd, ...args] = [...(options.prefix ?? []), process.execPath, ...nodeArgs, BIN, 'serve'];
  const proc = spawn(cmd!, args, {
    env: {
      PATH: process.env.PATH ?? '', API_HOST: '127.0.0.1', API_PORT: '0', API_KEY: BENCH_KEY, DB_PATH: dbPath, LOG_LEVEL: 'warn', WIP_LIMIT: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  proc.stdout!.on('data', (d) => (output += d));
  const url = await servingUrl(proc);
  return {
    url,
    proc,
    pid: proc.pid!,
    output: () => output,
    stop: () =>
      new Promise((ok) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return ok();
        // A server cut off from its database may wait long for its drain; a benchmark does not.
        const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        proc.once('exit', () => {
          clearTimeout(kill);
          ok();
        });
        proc.kill('SIGTERM');
      }),
  };
}
