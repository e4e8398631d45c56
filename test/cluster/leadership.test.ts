// Leader election: exactly one replica leads; when it stops or loses its session another takes over.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { runWhileLeader, type Leadership } from '../../src/cluster/leadership.js';
import { silentLogger } from '../../src/logger.js';
import { openPostgres } from '../../src/store/open.js';
import type { PostgresDb } from '../../src/store/postgres/driver.js';
import { waitFor } from '../helpers/replicas.js';
import { createTestSchema, sqliteBackend, TEST_DATABASE_URL } from '../helpers/stores.js';

type Contender = { db: PostgresDb; stop: AbortController; leadership: Leadership; terms: Array<{ signal: AbortSignal }> };

async function contender(url: string): Promise<Contender> {
  const db = await openPostgres(url, { poolSize: 1, startupRetryMs: 0 });
  const stop = new AbortController();
  const terms: Contender['terms'] = [];
  const leadership = runWhileLeader(db, stop.signal, (signal) => void terms.push({ signal }), { log: silentLogger, retryMs: 100, checkMs: 300 });
  return { db, stop, leadership, terms };
}

const leaders = (cs: Contender[]) => cs.filter((c) => c.leadership.isLeader());

describe('leadership on sqlite', () => {
  it('the only process is always the leader, until it stops', async () => {
    const opened = await sqliteBackend.open();
    const stop = new AbortController();
    const terms: AbortSignal[] = [];
    const leadership = runWhileLeader(opened.db, stop.signal, (signal) => void terms.push(signal), { log: silentLogger });
    await waitFor(() => terms.length === 1, 1000, 'election');
    expect(leadership.isLeader()).toBe(true);
    stop.abort();
    await leadership.stopped;
    expect(leadership.isLeader()).toBe(false);
    expect(terms[0]!.aborted).toBe(true);
    await opened.cleanup();
  });
});

describe('leadership on postgres', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function field(count: number): Promise<{ schema: string; contenders: Contender[] }> {
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    const contenders: Contender[] = [];
    for (let i = 0; i < count; i++) {
      const c = await contender(schema.url);
      contenders.push(c);
      cleanups.push(async () => {
        c.stop.abort();
        await c.leadership.stopped;
        await c.db.close();
      });
    }
    return { schema: schema.schema, contenders };
  }

  it('exactly one of three replicas leads; when it stops, another takes over within seconds', async () => {
    const { contenders } = await field(3);
    await waitFor(() => leaders(contenders).length === 1, 5000, 'a leader');
    // A fixed wait on purpose: it checks that nothing more happens (no second leader appears).
    await new Promise((r) => setTimeout(r, 500));
    expect(leaders(contenders)).toHaveLength(1);
    const first = leaders(contenders)[0]!;
    expect(first.terms).toHaveLength(1);

    first.stop.abort();
    await first.leadership.stopped;
    expect(first.terms[0]!.signal.aborted).toBe(true);
    const took = await waitFor(() => leaders(contenders).length === 1, 5000, 'a new leader');
    expect(took).toBeLessThan(3000);
    expect(leaders(contenders)[0]).not.toBe(first);
    // A fixed wait on purpose: it checks that nothing more happens (no second leader appears).
    await new Promise((r) => setTimeout(r, 400));
    expect(leaders(contenders)).toHaveLength(1);
  });

  it('a leader whose database session is killed steps down, and one leader is elected again', async () => {
    const { schema, contenders } = await field(2);
    await waitFor(() => leaders(contenders).length === 1, 5000, 'a leader');
    const first = leaders(contenders)[0]!;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      // The session holding this schema's leader lock (two-key advisory lock: classid, objid).
      const killed = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND objsubid = 2
           AND classid = ((hashtext('athena_leader:loops')::bigint + 4294967296) % 4294967296)::oid
           AND objid = ((hashtext($1)::bigint + 4294967296) % 4294967296)::oid`,
        [schema],
      );
      expect(killed.rowCount).toBe(1);
    } finally {
      await admin.end();
    }
    await waitFor(() => first.terms[0]!.signal.aborted, 3000, 'the old leader to stop its work');
    await waitFor(() => leaders(contenders).length === 1, 5000, 'a leader again');
    const all = contenders.flatMap((c) => c.terms);
    expect(all.filter((t) => !t.signal.aborted)).toHaveLength(1);
  });

  it('each role has its own leader: the Discord gateway is elected apart from the loops', async () => {
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    const stop = new AbortController();
    const dbs = await Promise.all([1, 2].map(() => openPostgres(schema.url, { poolSize: 1, startupRetryMs: 0 })));
    const loops = runWhileLeader(dbs[0]!, stop.signal, () => {}, { log: silentLogger, retryMs: 100, role: 'loops' });
    const gateway = runWhileLeader(dbs[1]!, stop.signal, () => {}, { log: silentLogger, retryMs: 100, role: 'discord' });
    cleanups.push(async () => {
      stop.abort();
      await Promise.all([loops.stopped, gateway.stopped]);
      await Promise.all(dbs.map((d) => d.close()));
    });
    await waitFor(() => loops.isLeader() && gateway.isLeader(), 5000, 'both roles');
  });

  it('queues in different schemas elect their leaders independently', async () => {
    const one = await field(1);
    const two = await field(1);
    await waitFor(() => leaders([...one.contenders, ...two.contenders]).length === 2, 5000, 'two leaders');
  });
});
