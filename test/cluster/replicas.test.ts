// Three `athena serve` processes on one PostgreSQL schema, 32 agents over HTTP spread across them,
// 5,000 tasks: no task is claimed twice at once, none is lost, and when the leader is killed
// mid-run another replica takes over the loops (it requeues a task whose holder vanished).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { createTestSchema, tempDir } from '../helpers/stores.js';

const TASKS = 5000;
const AGENTS = 32;
const KILL_AFTER_COMPLETED = 1500;

type Replica = { server: ServerProcess; alive: boolean; name: string };

describe('three replicas on one PostgreSQL database', () => {
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let dir: ReturnType<typeof tempDir>;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    schema = await createTestSchema();
    dir = tempDir();
    // Started together: they race to migrate the empty schema and to become leader.
    const servers = await Promise.all(
      [0, 1, 2].map(() =>
        startServerProcess({
          dataDir: dir.path,
          env: {
            DATABASE_URL: schema.url,
            PG_POOL_SIZE: '8',
            LEASE_SECONDS: '5',
            SWEEP_INTERVAL_SECONDS: '0.5',
            RETRY_BASE_SECONDS: '0',
            MAX_ATTEMPTS: '20',
            WIP_LIMIT: '0',
            LOG_LEVEL: 'warn',
          },
        }),
      ),
    );
    servers.forEach((server, i) => replicas.push({ server, alive: true, name: `r${i}` }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.server.stop('SIGTERM')));
    await schema?.drop();
    dir?.cleanup();
  });

  async function leaderStates(): Promise<Array<string | null>> {
    return Promise.all(
      replicas.map(async (r) => {
        if (!r.alive) return null;
        const health = await api(r.server, 'GET', '/api/health').catch(() => null);
        return health?.json.checks.leadership.detail ?? null;
      }),
    );
  }

  it('5,000 tasks, 32 agents: 0 double claims, 0 lost; the leader is killed mid-run and another takes over', async () => {
    // Exactly one leader among the three.
    const deadline = Date.now() + 10_000;
    let states = await leaderStates();
    while (states.filter((s) => s === 'leader').length !== 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      states = await leaderStates();
    }
    expect(states.filter((s) => s === 'leader')).toHaveLength(1);
    expect(states.filter((s) => s === 'follower')).toHaveLength(2);

    const alive = () => replicas.filter((r) => r.alive);
    /** Calls a replica, moving on to the next live one when a replica does not answer. */
    async function call(prefer: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
      for (let attempt = 0; ; attempt++) {
        const live = alive();
        const replica = live[(prefer + attempt) % live.length]!;
        try {
          return await api(replica.server, method, path, body);
        } catch (err) {
          if (attempt > 20) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }

    const claims = new Map<number, number[]>(); // task id -> attempts numbers handed out
    const completedBy = new Map<number, string>();
    const stats = { claims: 0, completeConflicts: 0, networkErrors: 0 };
    let done = false;

    const started = Date.now();
    const producer = (async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 24 }, async (_, worker) => {
          for (;;) {
            const n = next++;
            if (n >= TASKS) return;
            // The key makes a retry after a lost response safe: still one task.
            const res = await call(worker + n, 'POST', '/api/tasks', { description: `task ${n}`, idempotency_key: `task-${n}` });
            if (res.status !== 201 && res.status !== 200) throw new Error(`create ${n}: ${res.status} ${JSON.stringify(res.json)}`);
          }
        }),
      );
    })();

    const agents = Array.from({ length: AGENTS }, async (_, i) => {
      const agent = `agent-${i}`;
      while (!done) {
        let res;
        try {
          res = await call(i, 'POST', '/api/tasks/claim-next', { instance_id: agent, wait: 1 });
        } catch {
          stats.networkErrors++;
          continue;
        }
        const task = res.json?.task;
        if (res.status !== 200) throw new Error(`claim-next: ${res.status} ${JSON.stringify(res.json)}`);
        if (!task) continue;
        stats.claims++;
        claims.set(task.id, [...(claims.get(task.id) ?? []), task.attempts]);
        const completed = await call(i, 'POST', `/api/tasks/${task.id}/complete`, { lease_token: task.lease_token }).catch(() => null);
        if (completed?.status === 200) {
          if (completedBy.has(task.id)) throw new Error(`task ${task.id} completed twice`);
          completedBy.set(task.id, agent);
        } else if (completed?.status === 409) stats.completeConflicts++;
        else if (completed) throw new Error(`complete: ${completed.status} ${JSON.stringify(completed.json)}`);
      }
    });

    // Kill the leader mid-run, right after a "ghost" agent claimed a task it will never finish:
    // only a live leader's sweeper can hand that task to someone else.
    let ghostTaskId = 0;
    let takeoverMs = -1;
    const killer = (async () => {
      while (completedBy.size < KILL_AFTER_COMPLETED) await new Promise((r) => setTimeout(r, 50));
      console.log(`replicas: ${completedBy.size} completed after ${((Date.now() - started) / 1000).toFixed(1)} s; killing the leader`);
      const leaderIndex = (await leaderStates()).indexOf('leader');
      const leader = replicas[leaderIndex]!;
      const ghost = await api(leader.server, 'POST', '/api/tasks/claim-next', { instance_id: 'ghost', lease_seconds: 5, wait: 10 });
      if (!ghost.json?.task) throw new Error(`the ghost claimed nothing: ${JSON.stringify(ghost.json)}`);
      ghostTaskId = ghost.json.task.id;
      leader.alive = false;
      leader.server.proc.kill('SIGKILL');
      await leader.server.exited;
      const killedAt = Date.now();
      for (;;) {
        const now = await leaderStates();
        if (now.filter((s) => s === 'leader').length === 1) break;
        if (Date.now() - killedAt > 15_000) throw new Error(`no new leader: ${JSON.stringify(now)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      takeoverMs = Date.now() - killedAt;
    })();

    // Done when the database says every task is completed.
    const monitor = (async () => {
      for (;;) {
        await new Promise((r) => setTimeout(r, 250));
        const res = await call(0, 'GET', '/api/stats').catch(() => null);
        if (res?.json?.completed === TASKS || Date.now() - started > 100_000) {
          done = true;
          return;
        }
      }
    })();

    await Promise.all([producer, killer, monitor, ...agents]);
    const seconds = (Date.now() - started) / 1000;

    const statsRes = await call(0, 'GET', '/api/stats');
    const doubleClaims = [...claims.values()].filter((attempts) => new Set(attempts).size !== attempts.length).length;
    const completed = statsRes.json.completed;
    console.log(
      `replicas: ${TASKS} tasks, ${AGENTS} agents, 3 replicas: ${seconds.toFixed(1)} s (${Math.round(TASKS / seconds)} tasks/s), ` +
        `${stats.claims} claims, ${stats.completeConflicts} complete conflicts, ${stats.networkErrors} network errors, leader takeover ${takeoverMs} ms`,
    );
    expect(doubleClaims).toBe(0);
    expect(completed).toBe(TASKS); // 0 lost
    expect(statsRes.json.total).toBe(TASKS);
    expect(takeoverMs).toBeGreaterThanOrEqual(0);
    expect(takeoverMs).toBeLessThan(5000);
    // The ghost's task was requeued by the new leader's sweeper and completed by a real agent.
    expect(completedBy.get(ghostTaskId)).toMatch(/^agent-/);
    expect(claims.get(ghostTaskId)?.length).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
