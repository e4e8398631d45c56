// A task acknowledged with 201 survives the server being killed with SIGKILL and restarted.
import { afterAll, describe, expect, it } from 'vitest';
import { api, startServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/stores.js';

describe('durability under SIGKILL', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('every acknowledged create is there after kill -9 and restart', async () => {
    const server = await startServerProcess({ dataDir: dir.path });
    const acknowledged: number[] = [];
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await api(server, 'POST', '/api/tasks', { description: `writer ${w} task ${i}` });
          if (res.status === 201) acknowledged.push(res.json.task_id);
        } catch {
          return; // connection refused/reset once the server is gone
        }
      }
    });
    // Kill mid-stream: once enough creates were acknowledged, at a random moment shortly after.
    for (let waited = 0; acknowledged.length < 100 && waited < 30_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, Math.random() * 100));
    server.proc.kill('SIGKILL');
    await server.exited;
    stop = true;
    await Promise.all(writers);
    expect(acknowledged.length).toBeGreaterThanOrEqual(100);

    const again = await startServerProcess({ dataDir: dir.path });
    try {
      const ids = new Set<number>();
      let cursor: string | null = null;
      do {
        const page: { json: { tasks: Array<{ id: number }>; next_cursor: string | null } } = await api(again, 'GET', `/api/tasks?status=all&limit=500${cursor ? `&cursor=${cursor}` : ''}`);
        for (const t of page.json.tasks) ids.add(t.id);
        cursor = page.json.next_cursor;
      } while (cursor);
      const lost = acknowledged.filter((id) => !ids.has(id));
      expect(lost).toEqual([]);
      const integrity = await api(again, 'GET', '/health');
      expect(integrity.json.status).toBe('healthy');
    } finally {
      await again.stop();
    }
  }, 60_000);
});
