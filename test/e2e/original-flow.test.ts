// The original design's Part 8 verification, end to end over a real port against the built binary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/stores.js';

describe('Part 8 flow over HTTP', () => {
  const dir = tempDir();
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ dataDir: dir.path });
  });
  afterAll(async () => {
    await server?.stop();
    dir.cleanup();
  });

  it('health, stats, create, claim, double claim 409, complete', async () => {
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'healthy', service: 'athena-bot' });

    const headers = { 'X-API-Key': server.key, 'Content-Type': 'application/json' };
    const stats = await (await fetch(`${server.url}/api/stats`, { headers })).json();
    expect(stats).toMatchObject({ pending: 0, in_progress: 0, completed: 0 });

    const created = await fetch(`${server.url}/api/tasks`, { method: 'POST', headers, body: JSON.stringify({ description: 'Test task', priority: 'low' }) });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ task_id: 1, status: 'pending' });

    const claim = await fetch(`${server.url}/api/tasks/1/claim`, { method: 'POST', headers, body: JSON.stringify({ instance_id: 'host-a', instance_name: 'host-a' }) });
    expect(claim.status).toBe(200);
    expect(await claim.json()).toMatchObject({ status: 'claimed', task_id: 1 });

    const twice = await fetch(`${server.url}/api/tasks/1/claim`, { method: 'POST', headers, body: JSON.stringify({ instance_id: 'host-b', instance_name: 'host-b' }) });
    expect(twice.status).toBe(409);

    const done = await fetch(`${server.url}/api/tasks/1/complete`, { method: 'POST', headers, body: JSON.stringify({ instance_id: 'host-a', notes: 'Done!' }) });
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ status: 'completed', task_id: 1, next_task_id: null });

    const after = await (await fetch(`${server.url}/api/stats`, { headers })).json();
    expect(after).toMatchObject({ pending: 0, in_progress: 0, completed: 1 });
  });

  it('refuses a wrong key with the original message', async () => {
    const res = await fetch(`${server.url}/api/stats`, { headers: { 'X-API-Key': 'athena-homelab-key' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'Invalid API key' });
  });
});

describe('first start without API_KEY', () => {
  it('creates the data directory, generates a key into it (0600) and tells where it is', async () => {
    const dir = tempDir();
    const { startServerProcess: start } = await import('../helpers/server-process.js');
    const { readFileSync, statSync } = await import('node:fs');
    // The data directory does not exist yet, as on a fresh clone.
    const dataDir = `${dir.path}/fresh/data`;
    const server = await start({ dataDir, env: { API_KEY: '' } });
    try {
      const keyFile = `${dataDir}/api-key`;
      const key = readFileSync(keyFile, 'utf8').trim();
      expect(key.length).toBeGreaterThanOrEqual(40);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(server.output()).toContain(keyFile);
      expect(server.output()).not.toContain(key);
      const res = await fetch(`${server.url}/api/stats`, { headers: { 'X-API-Key': key } });
      expect(res.status).toBe(200);
    } finally {
      await server.stop();
      dir.cleanup();
    }
  });
});
