// The real binary: `athena backup` / `athena restore` around a running server, and SIGTERM under load losing nothing.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ATHENA_BIN, api, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/stores.js';

type CliResult = { code: number; stdout: string; stderr: string };

function athena(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ATHENA_BIN, ...args], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function taskIdsIn(dbPath: string): Set<number> {
  const db = new Database(dbPath, { readonly: true });
  try {
    return new Set((db.prepare('SELECT id FROM tasks').all() as Array<{ id: number }>).map((r) => r.id));
  } finally {
    db.close();
  }
}

describe('operations on a running server', () => {
  let dir: ReturnType<typeof tempDir>;
  const servers: ServerProcess[] = [];
  beforeEach(() => {
    dir = tempDir('athena-ops-');
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop('SIGKILL');
    dir.cleanup();
  });

  const start = async (env: Record<string, string> = {}) => {
    const server = await startServerProcess({ dataDir: dir.path, env });
    servers.push(server);
    return server;
  };

  it('athena backup works online; restore refuses while the server runs, then brings the backup back', async () => {
    const dbPath = join(dir.path, 'athena.db');
    const env = { DB_PATH: dbPath };
    const server = await start();
    for (let i = 0; i < 5; i++) expect((await api(server, 'POST', '/api/tasks', { description: `kept ${i}` })).status).toBe(201);

    const backupPath = join(dir.path, 'manual.db');
    const backup = await athena(['backup', '--out', backupPath], env);
    expect(backup).toMatchObject({ code: 0, stderr: '' });
    expect(backup.stdout).toContain(`Backup written to ${backupPath}`);
    expect(backup.stdout).toMatch(/5 task\(s\).*integrity_check ok/);

    expect((await api(server, 'POST', '/api/tasks', { description: 'after the backup' })).status).toBe(201);
    const refused = await athena(['restore', backupPath], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/in use by an Athena server \(pid \d+/);
    expect(taskIdsIn(dbPath).size).toBe(6);

    expect(await server.stop('SIGTERM')).toBe(0);
    servers.splice(servers.indexOf(server), 1);
    expect(existsSync(`${dbPath}.lock`)).toBe(false);

    const restored = await athena(['restore', backupPath], env);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain('(5 task(s), integrity_check ok)');
    expect(restored.stdout).toMatch(/kept as .*athena\.db\.before-restore-\d{8}T\d{6}Z/);

    const again = await start();
    const listed = await api(again, 'GET', '/api/tasks?status=all&limit=50');
    expect(listed.json.tasks.map((t: { description: string }) => t.description).sort()).toEqual(['kept 0', 'kept 1', 'kept 2', 'kept 3', 'kept 4']);
    const health = await api(again, 'GET', '/api/health');
    expect(health.json.checks).toMatchObject({ 'loop:sweeper': { ok: true }, 'loop:backup': { ok: true } });
  }, 60_000);

  it('athena backup on PostgreSQL points at pg_dump', async () => {
    const result = await athena(['backup'], { DATABASE_URL: 'postgres://athena@127.0.0.1:1/athena' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('pg_dump');
  });

  it('SIGTERM under load: long-polls are answered, the process exits within 5 s, every acknowledged create is stored', async () => {
    const dbPath = join(dir.path, 'athena.db');
    const server = await start({ LOG_LEVEL: 'info' });
    // Agents waiting for work that never comes (they only take unlabelled tasks; every create is labelled).
    const polls = ['poller-1', 'poller-2'].map((id) => api(server, 'POST', '/api/tasks/claim-next', { instance_id: id, wait: 30 }));

    const acknowledged: number[] = [];
    const refused: number[] = [];
    let stop = false;
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await api(server, 'POST', '/api/tasks', { description: `writer ${w} task ${i}`, labels: ['build'] });
          if (res.status === 201) acknowledged.push(res.json.task_id);
          else refused.push(res.status);
        } catch {
          return; // connection refused or closed: the server is going away
        }
      }
    });
    // Signal once the writers are well under way (a count, not a fixed time: a loaded machine is slower).
    await vi.waitFor(() => expect(acknowledged.length).toBeGreaterThan(20), { timeout: 30_000, interval: 20 });

    const signalledAt = Date.now();
    server.proc.kill('SIGTERM');
    const code = await server.exited;
    const exitMs = Date.now() - signalledAt;
    stop = true;
    await Promise.all(writers);
    servers.splice(servers.indexOf(server), 1);

    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(5000);
    for (const poll of await Promise.allSettled(polls)) {
      expect(poll).toEqual({ status: 'fulfilled', value: { status: 200, json: { task: null } } });
    }
    expect(refused.every((status) => status === 503)).toBe(true);
    expect(server.output()).toContain('shutting down');
    expect(existsSync(`${dbPath}.lock`)).toBe(false);

    const stored = taskIdsIn(dbPath);
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    console.log(`shutdown under load: ${acknowledged.length} creates acknowledged, ${refused.length} refused with 503, exit after ${exitMs} ms`);
  }, 60_000);
});
