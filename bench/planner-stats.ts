// When the server refreshes PostgreSQL's planner statistics, and what it buys
// (`npm run bench -- --only=planner-stats --pg=URL`): how many ANALYZEs a burst of creates over HTTP
// runs and what PostgreSQL spends per create, and how long labelled claims take after another writer
// added a burst of labelled tasks to a queue with a long history, against the same claims once
// ANALYZE ran by hand (the statistics fresh). Writes its section of bench/RESULTS-postgres.md.
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { seedTasksSql } from './athena-core.js';
import { fmt, median } from './cycles.js';
import { createClient, percentile } from './http-client.js';
import { createBenchSchema, type BenchSchema } from './pg-schema.js';
import { BENCH_KEY, cpuTicks, postgresTicks, startBenchServer } from './server-process.js';

export type PlannerStatsOptions = { databaseUrl: string; creates: number; history: number; burst: number; rounds: number };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The manual ANALYZEs of the schema's tasks table so far (autovacuum's are counted apart). */
async function analyzeCount(admin: pg.Client, schema: BenchSchema): Promise<number> {
  const row = (await admin.query(`SELECT analyze_count AS n FROM pg_stat_user_tables WHERE relid = to_regclass('${schema.name}.tasks')`)).rows[0];
  return Number(row?.n ?? 0);
}

type Client = ReturnType<typeof createClient>;

/** `o.creates` creates over HTTP (`seed`: the bench's creates from 32 clients at once), on a fresh schema. */
async function createBurst(dir: string, o: PlannerStatsOptions, seed: (client: Client, count: number) => Promise<void>) {
  const schema = await createBenchSchema(o.databaseUrl, 'athena_bench_stats');
  const server = await startBenchServer(join(dir, 'unused.db'), { DATABASE_URL: schema.url });
  const client = createClient(server.url, BENCH_KEY, 64);
  try {
    const before = { server: cpuTicks(server.pid), postgres: postgresTicks(), analyzes: await analyzeCount(schema.admin, schema) };
    const started = performance.now();
    await seed(client, o.creates);
    const seconds = (performance.now() - started) / 1000;
    return {
      perSecond: o.creates / seconds,
      serverMs: ((cpuTicks(server.pid) - before.server) * 10) / o.creates,
      postgresMs: ((postgresTicks() - before.postgres) * 10) / o.creates,
      analyzes: (await analyzeCount(schema.admin, schema)) - before.analyzes,
    };
  } finally {
    client.close();
    await server.stop();
    await schema.drop();
  }
}

/**
 * A server (the leader) over `history` finished tasks; another writer adds `burst` pending tasks
 * labelled gpu in one transaction. After two of the leader's looks (5 s apart), 200 claims with
 * that label (each completed), then the same after ANALYZE by hand: claim latencies p50 / p90.
 */
async function labelledBurst(dir: string, o: PlannerStatsOptions) {
  const schema = await createBenchSchema(o.databaseUrl, 'athena_bench_stats');
  const server = await startBenchServer(join(dir, 'unused.db'), { DATABASE_URL: schema.url, WIP_LIMIT: '0' });
  const admin = new pg.Client({ connectionString: schema.url });
  await admin.connect();
  const client = createClient(server.url, BENCH_KEY, 4);
  const claims = async () => {
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      const res = await client.call('POST', '/api/tasks/claim-next', { instance_id: `bench-${i % 8}`, labels: ['gpu'] });
      times.push(performance.now() - t0);
      const task = res.json?.task;
      if (!task) throw new Error(`claim-next answered ${res.status} without a task`);
      await client.call('POST', `/api/tasks/${task.id}/complete`, { instance_id: `bench-${i % 8}`, lease_token: task.lease_token });
    }
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p90: percentile(times, 90) };
  };
  try {
    // Statistics reach pg_stat_user_tables when a session flushes them (forced here, PostgreSQL 15+).
    const flush = async () => {
      if (Number((await admin.query(`SELECT current_setting('server_version_num')::int AS v`)).rows[0].v) >= 150000) await admin.query('SELECT pg_stat_force_next_flush()');
    };
    await admin.query(seedTasksSql(o.history, Date.now()));
    await admin.query(`UPDATE tasks SET status = 'completed', completed_at = created_at`);
    await admin.query('VACUUM ANALYZE tasks');
    await flush();
    await sleep(6_000); // the leader's first look (it refreshes once when it takes over)
    const before = await analyzeCount(admin, schema);
    await admin.query('BEGIN');
    await admin.query(seedTasksSql(o.burst, Date.now()));
    await admin.query(`UPDATE tasks SET labels = '["gpu"]' WHERE status = 'pending'`);
    await admin.query('COMMIT');
    await flush();
    await sleep(11_000); // two more looks
    const analyzes = (await analyzeCount(admin, schema)) - before;
    const asLeft = await claims();
    await admin.query('ANALYZE tasks');
    const fresh = await claims();
    return { analyzes, asLeft, fresh };
  } finally {
    client.close();
    await admin.end();
    await server.stop();
    await schema.drop();
  }
}

export async function plannerStatsBench(dir: string, o: PlannerStatsOptions, seed: (client: Client, count: number) => Promise<void>, log: (line: string) => void): Promise<void> {
  const creates: Array<Awaited<ReturnType<typeof createBurst>>> = [];
  const bursts: Array<Awaited<ReturnType<typeof labelledBurst>>> = [];
  for (let round = 0; round < o.rounds; round++) {
    creates.push(await createBurst(dir, o, seed));
    bursts.push(await labelledBurst(dir, o));
    console.error(`round ${round + 1}: ${fmt(creates.at(-1)!.perSecond)} creates/s, labelled claims p50 ${fmt(bursts.at(-1)!.asLeft.p50, 2)} ms (${fmt(bursts.at(-1)!.fresh.p50, 2)} fresh)`);
  }
  const each = <T>(runs: T[], pick: (r: T) => number, digits = 0) => runs.map((r) => fmt(pick(r), digits)).join(' / ');
  log(`- Date: ${new Date().toISOString()}`);
  log(`- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${process.platform}`);
  log(
    `- Server: \`node dist/athena.mjs serve\` on PostgreSQL (a schema of its own each run), the leader. Creates: ${fmt(o.creates)} over HTTP from 32 clients at once, on an empty queue. ` +
      `Burst: ${fmt(o.history)} finished tasks, then another writer adds ${fmt(o.burst)} pending tasks labelled gpu in one transaction; after the leader's next looks, 200 claims with labels ["gpu"] one after another (each completed), then 200 more after \`ANALYZE\` by hand. ` +
      `${o.rounds} rounds. \`npm run bench -- --only=planner-stats --pg=<url>\`.`,
  );
  log('');
  log('| measurement | each round | median |');
  log('|---|---|---|');
  log(`| creates/s over HTTP | ${each(creates, (r) => r.perSecond)} | ${fmt(median(creates.map((r) => r.perSecond)))} |`);
  log(`| ANALYZEs the server ran for ${fmt(o.creates)} creates | ${each(creates, (r) => r.analyzes)} | ${fmt(median(creates.map((r) => r.analyzes)))} |`);
  log(`| CPU per create: server / PostgreSQL | ${creates.map((r) => `${fmt(r.serverMs, 3)} / ${fmt(r.postgresMs, 3)} ms`).join(', ')} | ${fmt(median(creates.map((r) => r.serverMs)), 3)} / ${fmt(median(creates.map((r) => r.postgresMs)), 3)} ms |`);
  log(`| ANALYZEs the leader ran after the burst | ${each(bursts, (r) => r.analyzes)} | ${fmt(median(bursts.map((r) => r.analyzes)))} |`);
  log(`| labelled claim p50 / p90, statistics as the server left them | ${bursts.map((r) => `${fmt(r.asLeft.p50, 2)} / ${fmt(r.asLeft.p90, 2)} ms`).join(', ')} | ${fmt(median(bursts.map((r) => r.asLeft.p50)), 2)} ms p50 |`);
  log(`| labelled claim p50 / p90, after ANALYZE by hand | ${bursts.map((r) => `${fmt(r.fresh.p50, 2)} / ${fmt(r.fresh.p90, 2)} ms`).join(', ')} | ${fmt(median(bursts.map((r) => r.fresh.p50)), 2)} ms p50 |`);
}
