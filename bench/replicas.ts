// `npm run bench:replicas`: HTTP claim-next → complete cycles/s on PostgreSQL with 1 and with 3
// `athena serve` replicas on one database (agents spread round-robin), beside one SQLite server run
// the same way for reference. Writes bench/RESULTS-replicas.md.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { SqliteDb } from '../src/store/sqlite/driver.js';
import { createClient, percentile } from './http-client.js';
import { BENCH_KEY, startBenchServer, type BenchServer } from './server-process.js';

const KEY = BENCH_KEY;
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const AGENTS = Number(args.get('agents') ?? 32);
const SECONDS = Number(args.get('seconds') ?? 10);
const DATABASE_URL = args.get('pg') ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

type Server = BenchServer;

const startServer = (dbPath: string, url: string | null): Promise<Server> =>
  startBenchServer(dbPath, url ? { DATABASE_URL: url, PG_POOL_SIZE: '10' } : {});

const stop = (server: Server) => server.stop();

const SEED_SQL = (tasks: string, rows: string) =>
  `INSERT INTO ${tasks} (description, status, priority, priority_rank, created_at, updated_at, labels, depends_on, max_attempts, run_after)
   ${rows.replace('%ROW%', `'bench task ' || g, 'pending', 'medium', 1, ?, ?, '[]', '[]', 3, 0`)}`;

/** One run on a fresh store (a new schema, or a new SQLite file): seed, then agents cycle for SECONDS. */
async function run(backend: 'sqlite' | 'postgres', replicas: number, dir: string): Promise<{ perSecond: number; cycles: number; p50: number; p99: number; doubleClaims: number }> {
  // Enough that agents run out of time, not of tasks (10,000 cycles/s would use them all).
  const seedCount = SECONDS * 10_000;
  const now = Date.now();
  const servers: Server[] = [];
  let cleanup = async () => {};
  try {
    if (backend === 'sqlite') {
      // Seeded in one statement before the server starts (the same rows a create writes, minus its log row).
      const path = join(dir, `sqlite-${now}.db`);
      const db = new SqliteDb(path);
      await db.migrate();
      db.raw.prepare(SEED_SQL('tasks', 'WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < ?) SELECT %ROW% FROM s')).run(seedCount, now, now);
      await db.close();
      servers.push(await startServer(path, null));
    } else {
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      const schema = `athena_bench_${now.toString(36)}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      cleanup = async () => {
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      };
      const url = new URL(DATABASE_URL);
      url.searchParams.set('options', `-c search_path=${schema}`);
      for (let i = 0; i < replicas; i++) servers.push(await startServer(join(dir, 'unused.db'), url.toString()));
      await admin.query(SEED_SQL(`${schema}.tasks`, 'SELECT %ROW% FROM generate_series(1, $3::int) g').replace('?', '$1').replace('?', '$2'), [now, now, seedCount]);
      await admin.query(`ANALYZE ${schema}.tasks`);
    }
    const clients = servers.map((server) => createClient(server.url, KEY, AGENTS * 2));
    const latencies: number[] = [];
    const claimed = new Set<string>();
    let cycles = 0;
    let doubleClaims = 0;
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: AGENTS }, async (_, agent) => {
        const client = clients[agent % clients.length]!;
        while (performance.now() < deadline) {
          const t0 = performance.now();
          const res = await client.call('POST', '/api/tasks/claim-next', { instance_id: `bench-${agent}` });
          latencies.push(performance.now() - t0);
          const task = res.json?.task;
          if (!task) break;
          const key = `${task.id}:${task.attempts}`;
          if (claimed.has(key)) doubleClaims++;
          claimed.add(key);
          const done = await client.call('POST', `/api/tasks/${task.id}/complete`, { lease_token: task.lease_token });
          if (done.status === 200) cycles++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    for (const c of clients) c.close();
    latencies.sort((a, b) => a - b);
    return { perSecond: cycles / seconds, cycles, p50: percentile(latencies, 50), p99: percentile(latencies, 99), doubleClaims };
  } finally {
    await Promise.all(servers.map(stop));
    await cleanup();
  }
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'athena-bench-replicas-'));
  const lines: string[] = [];
  const log = (line: string) => {
    console.log(line);
    lines.push(line);
  };
  try {
    log('# Benchmark results (PostgreSQL replicas)');
    log('');
    log(`- Date: ${new Date().toISOString()}`);
    log(`- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${process.platform}`);
    log(`- Servers: \`node dist/athena.mjs serve\` processes on 127.0.0.1, one PostgreSQL on the same machine (pool of 10 each); load from another process. Everything shares the machine's cores.`);
    log(`- Agents: ${AGENTS} (spread round-robin over the replicas), ${SECONDS} s per run, claim-next → complete over HTTP.`);
    log('');
    log('| store | servers | cycles/s | claim latency p50 / p99 | double claims |');
    log('|---|---|---|---|---|');
    for (const [backend, replicas] of [['sqlite', 1], ['postgres', 1], ['postgres', 3]] as const) {
      const r = await run(backend, replicas, dir);
      log(`| ${backend === 'sqlite' ? 'SQLite' : 'PostgreSQL'} | ${replicas} | ${fmt(r.perSecond)} (${fmt(r.cycles)} cycles) | ${fmt(r.p50, 2)} ms / ${fmt(r.p99, 2)} ms | ${r.doubleClaims} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const out = resolve(import.meta.dirname, 'RESULTS-replicas.md');
  writeFileSync(out, `${lines.join('\n')}\n`);
  console.log(`\nwritten to ${out}`);
}

await main();
