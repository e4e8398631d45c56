// The parent's side of host-agent.ts: starts it inside a host's namespace and calls it.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { CycleMode, CycleResult } from '../cycles.js';
import type { HostRequest } from './host-agent.js';
import type { SimulatedNetwork } from './network.js';

export type RemoteHost = {
  http(key: string, url: string, method: string, path: string, body?: unknown, timeoutMs?: number): Promise<{ status: number; json: any }>;
  cycles(key: string, urls: string[], options: { agents: number; seconds: number; mode: CycleMode }): Promise<CycleResult>;
  sql<T = Record<string, unknown>>(url: string, sql: string): Promise<T[]>;
  /** Median milliseconds of a `SELECT 1` from this host. */
  sqlRoundTrip(url: string, count?: number): Promise<number>;
  stop(): Promise<void>;
};

const ROOT = resolve(import.meta.dirname, '../..');

export async function startRemoteHost(net: SimulatedNetwork, host: string): Promise<RemoteHost> {
  const [cmd, ...args] = [...net.exec(host), process.execPath, '--import', 'tsx', join(import.meta.dirname, 'host-agent.ts')];
  // cwd at the repository's root, where `--import tsx` resolves.
  const proc = spawn(cmd!, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { ok(v: unknown): void; fail(e: Error): void }>();
  let nextId = 1;
  await new Promise<void>((ready, fail) => {
    proc.once('exit', (code) => fail(new Error(`the agent in ${host} exited ${code} before it was ready`)));
    proc.once('message', () => ready());
  });
  proc.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
    const waiter = pending.get(m.id);
    pending.delete(m.id);
    if (m.ok) waiter?.ok(m.result);
    else waiter?.fail(new Error(m.error));
  });
  proc.on('exit', () => {
    for (const w of pending.values()) w.fail(new Error(`the agent in ${host} exited`));
    pending.clear();
  });
  const call = <T>(request: HostRequest): Promise<T> =>
    new Promise((ok, fail) => {
      const id = nextId++;
      pending.set(id, { ok: ok as (v: unknown) => void, fail });
      proc.send({ id, request });
    });
  return {
    http: (key, url, method, path, body, timeoutMs = 2000) => call({ op: 'http', key, url, method, path, body, timeoutMs }),
    cycles: (key, urls, options) => call({ op: 'cycles', key, urls, ...options }),
    sql: (url, sql) => call({ op: 'sql', url, sql }),
    sqlRoundTrip: (url, count = 50) => call({ op: 'sqlRoundTrip', url, count }),
    stop: () =>
      new Promise((done) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return done();
        proc.once('exit', () => done());
        proc.disconnect();
      }),
  };
}
