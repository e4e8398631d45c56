// Crash durability: kill -9 the server 20 times at random moments during mixed load. After each kill,
// every create that got a 2xx exists, every acknowledged completion or failure stayed final, no task row
// lacks its log, and the SQLite file passes PRAGMA integrity_check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../bench/http-client.js';
import { SERVER_BACKENDS, serverHome, type ServerHome } from './helpers/servers.js';
import { seededRandom } from './helpers/random.js';

const KILLS = 20;
const WRITERS = 6;
const AGENTS = 6;

type Ledger = {
  created: Set<number>;
  /** Acknowledged final states: they must never change afterwards. */
  final: Map<number, 'completed' | 'failed'>;
  /** Idempotency keys whose create was acknowledged, with the task id and the request sent. */
  idempotent: Map<string, { id: number; body: Record<string, unknown> }>;
};

async function mixedLoad(url: string, key: string, round: number, ledger: Ledger, random: () => number): Promise<{ requests: number; errors: number }> {
  const client = createClient(url, key, 64);
  let requests = 0;
  let alive = true;
  let unexpected = 0;
  const call = async (method: string, path: string, body?: unknown) => {
    requests++;
    const res = await client.call(method, path, body);
    if (res.status >= 500) unexpected++;
    return res;
  };
  const writer = async (w: number) => {
    for (let i = 0; alive; i++) {
      const idem = random() < 0.3 ? `r${round}-w${w}-${i}` : undefined;
      const body = {
        description: `round ${round} writer ${w} task ${i}`,
        priority: (['high', 'medium', 'low'] as const)[Math.floor(random() * 3)],
        ...(idem ? { idempotency_key: idem } : {}),
        ...(random() < 0.2 ? { labels: ['gpu'] } : {}),
      };
      const res = await call('POST', '/api/tasks', body);
      if (res.status === 201 || res.status === 200) {
        ledger.created.add(res.json.task_id);
        if (idem) ledger.idempotent.set(idem, { id: res.json.task_id, body });
      }
    }
  };
  const agent = async (a: number) => {
    const me = { instance_id: `round-${round}-agent-${a}`, labels: '*' };
    while (alive) {
      const res = await call('POST', '/api/tasks/claim-next', me);
      const task = res.json?.task;
      if (!task) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const fence = { lease_token: task.lease_token };
      const roll = random();
      if (roll < 0.5) {
        const done = await call('POST', `/api/tasks/${task.id}/complete`, { ...fence, notes: 'done', result: { round } });
        if (done.status === 200) ledger.final.set(task.id, 'completed');
      } else if (roll < 0.65) {
        const failed = await call('POST', `/api/tasks/${task.id}/fail`, { ...fence, error: 'broken' });
        if (failed.status === 200 && failed.json.status === 'failed') ledger.final.set(task.id, 'failed');
      } else if (roll < 0.8) {
        await call('POST', `/api/tasks/${task.id}/heartbeat`, { ...fence, progress: 'working' });
        const done = await call('POST', `/api/tasks/${task.id}/complete`, fence);
        if (done.status === 200) ledger.final.set(task.id, 'completed');
      } else if (roll < 0.9) {
        await call('POST', `/api/tasks/${task.id}/release`, { ...fence, reason: 'later' });
      } // else: keep it (a held task across the crash)
    }
  };
  const reader = async () => {
    while (alive) {
      await call('GET', '/api/tasks?status=all&limit=20');
      await call('GET', '/api/stats');
    }
  };
  const stopped = (p: Promise<void>) =>
    p.catch(() => {
      alive = false; // the server is gone: connection refused or reset
    });
  await Promise.all([
    ...Array.from({ length: WRITERS }, (_, w) => stopped(writer(w))),
    ...Array.from({ length: AGENTS }, (_, a) => stopped(agent(a))),
    stopped(reader()),
  ]);
  client.close();
  return { requests, errors: unexpected };
}

describe.each(SERVER_BACKENDS)('crash durability on %s', (backend) => {
  let home: ServerHome;
  beforeAll(async () => {
    home = await serverHome(backend);
  });
  afterAll(async () => home?.cleanup());

  it(`kill -9 ${KILLS} times during mixed load: nothing acknowledged is lost or reverted`, async () => {
    const seed = Number(process.env.ATHENA_RELIABILITY_SEED ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    const ledger: Ledger = { created: new Set(), final: new Map(), idempotent: new Map() };
    let requests = 0;
    let serverErrors = 0;
    for (let round = 1; round <= KILLS; round++) {
      const server = await home.start({ LEASE_SECONDS: '600', WIP_LIMIT: '0' });
      const load = mixedLoad(server.url, server.key, round, ledger, random);
      await new Promise((r) => setTimeout(r, 250 + random() * 1250));
      server.proc.kill('SIGKILL');
      await server.exited;
      const stats = await load;
      requests += stats.requests;
      serverErrors += stats.errors;

      const context = `seed ${seed}, round ${round}`;
      expect(await home.integrity(), context).toBe('ok');
      const rows = await home.query<{ id: number; status: string }>('SELECT id, status FROM tasks');
      const status = new Map(rows.map((r) => [Number(r.id), r.status]));
      const lost = [...ledger.created].filter((id) => !status.has(id));
      expect(lost, context).toEqual([]);
      const reverted = [...ledger.final].filter(([id, s]) => status.get(id) !== s);
      expect(reverted, context).toEqual([]);
      // A task and its 'created' log row are written in one transaction: never one without the other.
      const orphans = await home.query('SELECT t.id FROM tasks t WHERE NOT EXISTS (SELECT 1 FROM task_logs l WHERE l.task_id = t.id AND l.action = ?)', ['created']);
      expect(orphans, context).toEqual([]);
      const unfenced = await home.query(`SELECT id FROM tasks WHERE status = 'in_progress' AND (lease_token IS NULL OR instance_id IS NULL)`);
      expect(unfenced, context).toEqual([]);
    }
    expect(ledger.created.size).toBeGreaterThan(KILLS * 20);
    expect(ledger.final.size).toBeGreaterThan(KILLS * 5);
    expect(serverErrors).toBe(0);

    // After the last crash: the server starts, idempotent creates still answer with the first task.
    const server = await home.start();
    try {
      const client = createClient(server.url, server.key, 4);
      for (const { id, body } of [...ledger.idempotent.values()].slice(0, 50)) {
        const again = await client.call('POST', '/api/tasks', body);
        expect(again.status).toBe(200);
        expect(again.json.task_id).toBe(id);
      }
      // The same key with another request is refused (Stripe's rule), after a crash as before it.
      const [first] = [...ledger.idempotent.values()];
      const other = await client.call('POST', '/api/tasks', { ...first!.body, description: 'retried after the crash' });
      expect(other.json).toMatchObject({ code: 'IDEMPOTENCY_MISMATCH', details: { field: 'description', taskId: first!.id } });
      expect((await client.call('GET', '/health')).json.status).toBe('healthy');
      client.close();
    } finally {
      await server.stop();
    }
    console.log(
      `[crash ${backend}] seed ${seed}: ${KILLS} kills, ${requests} requests, ${ledger.created.size} acknowledged creates, ` +
        `${ledger.final.size} acknowledged completions/failures, all present after restart`,
    );
  });
});
