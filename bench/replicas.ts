// `npm run bench:replicas`: HTTP lease cycles/s on PostgreSQL with 1 and with 3 `athena serve`
// replicas on one database (agents spread round-robin), beside one SQLite server run the same way,
// for each protocol (claim-next, the original next → claim, complete with claim_next), with what each
// cycle cost: the servers' CPU, PostgreSQL's CPU and its transactions, the load generator's CPU, and
// how busy the machine's cores were. Writes bench/RESULTS-replicas.md
// (earlier runs kept below the new one).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { openAthenaCore, seedTasksSql } from './athena-core.js';
import { CYCLE_NAMES, driveCycles, fmt, type CycleMode, type CycleResult } from './cycles.js';
import { createClient } from './http-client.js';
import { BENCH_KEY, cpuTicks, postgresTicks, startBenchServer, type BenchServer } from './server-process.js';
import { createBenchSchema } from './pg-schema.js';
import { benchArgs } from './args.js';

const KEY = BENCH_KEY;
const args = benchArgs();
const AGENTS = Number(args.get('agents') ?? 32);
const SECONDS = Number(args.get('seconds') ?? 10);
/** `--modes=next-claim` runs only the original protocol (quick before/after checks); the file is written only for a full run (no `--modes`). */
const MODES = (args.get('modes')?.split(',') ?? ['claim-next', 'next-claim', 'complete-claim']) as CycleMode[];
const DATABASE_URL = args.get('pg') ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

type Server = BenchServer;

const startServer = (dbPath: string, url: string | null): Promise<Server> =>
  startBenchServer(dbPath, url ? { DATABASE_URL: url, PG_POOL_SIZE: '10' } : {});

const stop = (server: Server) => server.stop();

/** The machine's CPU time so far, busy and in all (every core), in clock ticks, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal (guest time is counted in user already)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

/**
 * What one cycle cost: ms of CPU of the servers, of PostgreSQL and of the load generator (this
 * process: the agents' HTTP clients), PostgreSQL's transactions (commits and rollbacks), and the
 * share of the machine's cores busy meanwhile (everything running on it).
 */
type CycleCost = { serverMs: number; postgresMs: number | null; loadMs: number; transactions: number | null; busy: number };

/** One run on a fresh store (a new schema, or a new SQLite file): seed, then agents cycle for SECONDS. */
async function run(backend: 'sqlite' | 'postgres', replicas: number, mode: CycleMode, dir: string): Promise<CycleResult & CycleCost> {
  // Enough that agents run out of time, not of tasks (10,000 cycles/s would use them all).
  const seedCount = SECONDS * 10_000;
  const now = Date.now();
  const servers: Server[] = [];
  let cleanup = async () => {};
  let schema: Awaited<ReturnType<typeof createBenchSchema>> | null = null;
  try {
    if (backend === 'sqlite') {
      // Seeded in one statement before the server starts.
      const path = join(dir, `sqlite-${now}.db`);
      const core = await openAthenaCore({ sqlitePath: path });
      await core.seed(seedCount);
      await core.close();
      servers.push(await startServer(path, null));
    } else {
      const made = await createBenchSchema(DATABASE_URL, 'athena_bench');
      schema = made;
      cleanup = () => made.drop();
      for (let i = 0; i < replicas; i++) servers.push(await startServer(join(dir, 'unused.db'), made.url));
      await made.admin.query(seedTasksSql(seedCount, now, `${made.name}.tasks`));
      await made.admin.query(`ANALYZE ${made.name}.tasks`);
    }
    const clients = servers.map((server) => createClient(server.url, KEY, AGENTS * 2));
    let closed = false;
    const closeClients = () => {
      if (!closed) for (const c of clients) c.close();
      closed = true;
    };
    const ticks = () => servers.reduce((sum, server) => sum + cpuTicks(server.pid), 0);
    const transactions = async () =>
      schema ? Number((await schema.admin.query('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0].n) : null;
    try {
      const before = { server: ticks(), postgres: postgresTicks(), transactions: await transactions(), load: process.cpuUsage(), machine: machineTicks() };
      const result = await driveCycles(clients, { agents: AGENTS, seconds: SECONDS, mode });
      // Read before the servers stop: their sessions' processes end with them.
      const server = ticks() - before.server;
      const postgres = postgresTicks() - before.postgres;
      const load = process.cpuUsage(before.load);
      const machine = machineTicks();
      closeClients();
      // A session reports its transactions when it ends (or within seconds when idle): counted after the servers stopped.
      await Promise.all(servers.map(stop));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const after = await transactions();
      const perCycle = (n: number) => n / Math.max(1, result.cycles);
      return {
        ...result,
        serverMs: perCycle(server * 10),
        postgresMs: schema ? perCycle(postgres * 10) : null,
        loadMs: perCycle((load.user + load.system) / 1000),
        busy: (machine.busy - before.machine.busy) / Math.max(1, machine.total - before.machine.total),
        transactions: after !== null && before.transactions !== null ? perCycle(after - before.transactions) : null,
      };
    } finally {
      closeClients();
    }
  } finally {
    await Promise.all(servers.map(stop));
    await cleanup();
  }
}

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
    log(`- Agents: ${AGENTS} (spread round-robin over the replicas), ${SECONDS} s per run, over HTTP: ${MODES.map((m) => CYCLE_NAMES[m]).join(', ')}.`);
    log('- "vs 1 server" divides by the same store and protocol with one server, measured in this run. The machine is shared with other developers\' work at the same time: compare ratios rather than absolute figures.');
    log('- A cycle\'s cost: CPU of the servers, of every PostgreSQL process of the machine, and of the load generator (the agents\' HTTP clients, one process), per cycle (from /proc); PostgreSQL\'s transactions per cycle (`pg_stat_database`: each statement outside a transaction is one, and so is each listening session\'s read of a notification: a NOTIFY costs one more for every LISTEN session of the database, one a replica); the share of the machine\'s cores busy during the run (`/proc/stat`, everything on the machine).');
    log('');
    log('| store | protocol | servers | cycles/s | vs 1 server | claim latency p50 / p99 | lost claim races (409) | double claims | server CPU per cycle | PostgreSQL CPU per cycle | load generator CPU per cycle | transactions per cycle | cores busy |');
    log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const mode of MODES) {
      const single = new Map<string, number>();
      for (const [backend, replicas] of [['sqlite', 1], ['postgres', 1], ['postgres', 3]] as const) {
        const r = await run(backend, replicas, mode, dir);
        if (replicas === 1) single.set(backend, r.perSecond);
        const ratio = r.perSecond / single.get(backend)!;
        const protocol = CYCLE_NAMES[mode];
        log(
          `| ${backend === 'sqlite' ? 'SQLite' : 'PostgreSQL'} | ${protocol} | ${replicas} | ${fmt(r.perSecond)} (${fmt(r.cycles)} cycles) | ${fmt(ratio, 2)} | ` +
            `${fmt(r.claimP50, 2)} ms / ${fmt(r.claimP99, 2)} ms | ${fmt(r.conflicts)} | ${r.doubleClaims} | ` +
            `${fmt(r.serverMs, 2)} ms | ${r.postgresMs === null ? '–' : `${fmt(r.postgresMs, 2)} ms`} | ${fmt(r.loadMs, 2)} ms | ${r.transactions === null ? '–' : fmt(r.transactions, 2)} | ${fmt(r.busy * 100)} % |`,
        );
      }
    }
    log('');
    log('Replicas on a simulated network between hosts (0.5 ms and 2 ms one-way delay): `bench/RESULTS-network.md` (`npm run bench:netns`).');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (args.has('modes')) return;
  const out = resolve(import.meta.dirname, 'RESULTS-replicas.md');
  // The earlier runs stay below, the last one under a heading of its own.
  const title = lines[0]!;
  const earlier = existsSync(out) ? readFileSync(out, 'utf8') : '';
  const kept = earlier.startsWith(title)
    ? earlier.slice(title.length).replace(/^\s*- Date: (\S+)/, (_, date: string) => `## The run of ${date.slice(0, 16).replace('T', ' ')}\n\n- Date: ${date}`)
    : '';
  writeFileSync(out, `${lines.join('\n')}\n${kept ? `\n${kept.trimStart()}` : ''}`);
  console.log(`\nwritten to ${out}`);
}

await main();
