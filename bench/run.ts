// `npm run bench`: HTTP cycles with N agents, in-process core rate, long-poll hand-off and idle CPU.
// Writes bench/RESULTS.md with the machine and date.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { openAthenaCore } from './athena-core.js';
import { CYCLE_NAMES, driveCycles, fmt, type CycleMode, type CycleResult } from './cycles.js';
import { createClient, percentile } from './http-client.js';
import { createBenchSchema } from './pg-schema.js';
import { BENCH_KEY, cpuTicks, servingUrl, startBenchServer, type BenchServer } from './server-process.js';
import { webhookBench, writeWebhookSection } from './webhooks.js';
import { labelsBench } from './labels.js';
import { idleWaitersBench } from './idle-waiters.js';
import { plannerStatsBench } from './planner-stats.js';
import { memoryBench, writeSection } from './memory.js';
import { statementCounts, statementLines } from './statements.js';
import { benchArgs } from './args.js';

const KEY = BENCH_KEY;
// `--name=value` (the value may hold '=' itself) or `--flag`.
const args = benchArgs();
const AGENTS = Number(args.get('agents') ?? 16);
const SECONDS = Number(args.get('seconds') ?? 8);
const DATABASE_URL = args.get('pg') ?? process.env.BENCH_DATABASE_URL;
/**
 * `--only=inproc`, `--only=http` (claim-next), `--only=http-original` (next → claim) or `--only=http-chained` (complete with claim_next)
 *   runs just that measurement (quick, for profiling); nothing is written.
 *   `--cpu-prof=DIR` makes the server write a CPU profile (`.cpuprofile`, open in Chrome's DevTools) there when it stops.
 * `--only=statements`: statements per lease cycle on SQLite (and PostgreSQL with --pg=URL), printed.
 * `--only=webhooks`: claim latency with a down or hanging webhook receiver against none; writes its own section of RESULTS.md.
 * `--only=labels`: claim latency of agents whose labels cover none of `--tasks` (100,000) pending tasks, or only a few queued
 *   behind them, against one whose labels cover them; writes its own section of RESULTS.md (RESULTS-postgres.md with --pg).
 * `--only=idle-waiters`: claim-next cycles/s while `--idle` (20) agents of as many scopes long-poll idle, against none, in `--rounds`
 *   (3) alternated pairs; writes its own section of RESULTS.md (RESULTS-postgres.md with --pg).
 * `--only=planner-stats --pg=URL`: the ANALYZEs a burst of `--creates` (40,000) creates over HTTP runs, and labelled claims after another
 *   writer's burst of `--burst` (10,000) tasks on `--history` (200,000) finished ones, against fresh statistics; `--rounds` (2).
 *   Writes its own section of RESULTS-postgres.md.
 * `--only=memory`: the server's RSS (on PostgreSQL with --pg=URL) at idle, with `--tasks` (1,000,000) stored and through a `--load-minutes` (10) mixed
 * load; `--quick` is 100,000 tasks and 1 minute. Writes the Memory section of RESULTS.md (not with `--quick`).
 */
const ONLY = args.get('only');
/** `--node-options='…'`: NODE_OPTIONS for every server the benchmark starts (e.g. V8 heap flags to compare). */
const NODE_OPTIONS = args.get('node-options');

/** `--cpu-prof=DIR`: the server writes a V8 CPU profile there when it stops (node --cpu-prof; NODE_OPTIONS may not carry it). */
const CPU_PROF = args.get('cpu-prof');

/** A server on a fresh store: a SQLite file in `dir`, or with --pg a schema of its own, dropped when the server stops. */
async function startServer(dir: string, env: Record<string, string> = {}): Promise<BenchServer> {
  const prefix = CPU_PROF ? ['sh', '-c', `shift; exec node --cpu-prof --cpu-prof-dir='${resolve(CPU_PROF).replace(/'/g, '')}' "$@"`, 'sh'] : undefined;
  const schema = DATABASE_URL ? await createBenchSchema(DATABASE_URL, 'athena_bench') : undefined;
  try {
    const server = await startBenchServer(join(dir, 'athena.db'), { ...(schema ? { DATABASE_URL: schema.url } : {}), ...(NODE_OPTIONS ? { NODE_OPTIONS } : {}), ...env }, { prefix });
    if (!schema) return server;
    return { ...server, stop: async () => (await server.stop(), await schema.drop()) };
  } catch (err) {
    await schema?.drop().catch(() => {});
    throw err;
  }
}

async function seed(client: ReturnType<typeof createClient>, count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < count) {
        next++;
        const res = await client.call('POST', '/api/tasks', { description: `bench task ${next}`, priority: (['high', 'medium', 'low'] as const)[next % 3] });
        if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.json)}`);
      }
    }),
  );
}

/**
 * The machine's HTTP floor: the same client and agents against a bare fastify route in its own
 * process. Two such requests per cycle bound what any server can do here; it tells results taken
 * on different machines (or moments of a shared one) apart.
 */
async function httpFloor(): Promise<number> {
  const source = `const app = require('fastify')(); app.post('/echo', async (req) => ({ ok: true, body: req.body }));
    app.listen({ host: '127.0.0.1', port: 0 }).then((address) => console.log('serving at ' + address));`;
  const proc = spawn(process.execPath, ['-e', source], { cwd: resolve(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await servingUrl(proc, 'floor server');
    const client = createClient(url, KEY, AGENTS * 2);
    let requests = 0;
    const seconds = 4;
    const deadline = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: AGENTS }, async (_, agent) => {
        while (performance.now() < deadline) {
          await client.call('POST', '/echo', { instance_id: `bench-${agent}` });
          requests++;
        }
      }),
    );
    client.close();
    return requests / seconds;
  } finally {
    proc.kill();
  }
}

/** Seeds the server over HTTP (creates, as agents' submitters would), then runs the agents' cycles. */
async function runCycles(url: string, mode: CycleMode): Promise<CycleResult> {
  const client = createClient(url, KEY, AGENTS * 2);
  // Enough tasks that the agents run out of time, not of tasks (10,000 cycles/s would use them all).
  await seed(client, SECONDS * 10_000);
  try {
    return await driveCycles([client], { agents: AGENTS, seconds: SECONDS, mode });
  } finally {
    client.close();
  }
}

async function inProcessRate(dir: string): Promise<{ sequential: number; concurrent: number; createPerSecond: number }> {
  const { queue, close } = await openAthenaCore({ sqlitePath: join(dir, 'inproc.db') }, { LEASE_SECONDS: '600', RETRY_BASE_SECONDS: '1' });
  const count = 40_000;
  const c0 = performance.now();
  for (let i = 0; i < count; i++) await queue.create({ description: `task ${i}` });
  const createPerSecond = count / ((performance.now() - c0) / 1000);
  const half = count / 2;
  const t0 = performance.now();
  for (let i = 0; i < half; i++) {
    const task = await queue.claimNext({ instanceId: 'inproc' });
    await queue.complete(task!.id, { leaseToken: task!.leaseToken });
  }
  const sequential = half / ((performance.now() - t0) / 1000);
  // The server's shape: many agents at once, so transactions share commits.
  const t1 = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: AGENTS * 2 }, async (_, agent) => {
      for (;;) {
        const task = await queue.claimNext({ instanceId: `inproc-${agent}` });
        if (!task) return;
        await queue.complete(task.id, { leaseToken: task.leaseToken });
        done++;
      }
    }),
  );
  const concurrent = done / ((performance.now() - t1) / 1000);
  await close();
  return { sequential, concurrent, createPerSecond };
}

async function longPoll(url: string, pid: number): Promise<{ p50: number; p99: number; handed: number; idleCpuPercent: number }> {
  // Idle: 100 agents waiting, nothing to do.
  const idleClient = createClient(url, KEY, 256);
  const idle = Array.from({ length: 100 }, (_, i) => idleClient.call('POST', '/api/tasks/claim-next', { instance_id: `idle-${i}`, wait: 8, labels: ['never'] }).catch(() => null));
  await new Promise((r) => setTimeout(r, 1000));
  const before = cpuTicks(pid);
  const window = 5;
  await new Promise((r) => setTimeout(r, window * 1000));
  const idleCpuPercent = ((cpuTicks(pid) - before) / 100 / window) * 100;
  await Promise.all(idle);
  idleClient.close();

  // Hand-off: 50 agents waiting; tasks created one at a time.
  const client = createClient(url, KEY, 256);
  const latencies: number[] = [];
  let stop = false;
  const agents = Array.from({ length: 50 }, async (_, i) => {
    const me = { instance_id: `lp-${i}`, wait: 5 };
    while (!stop) {
      const res = await client.call('POST', '/api/tasks/claim-next', me);
      const task = res.json?.task;
      if (!task) continue;
      latencies.push(Date.now() - Date.parse(task.created_at));
      await client.call('POST', `/api/tasks/${task.id}/complete`, { lease_token: task.lease_token });
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < 500; i++) {
    await client.call('POST', '/api/tasks', { description: `handoff ${i}` });
    await new Promise((r) => setTimeout(r, 4));
  }
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await Promise.all(agents);
  client.close();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), handed: latencies.length, idleCpuPercent };
}

/** The lines of a results section under `heading`, each printed as it is logged. */
function section(heading: string): { lines: string[]; log: (line: string) => void } {
  const lines = [heading, ''];
  return {
    lines,
    log: (line) => {
      console.log(line);
      lines.push(line);
    },
  };
}

/** Runs fn with a fresh temporary directory, removed afterwards. */
async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'athena-bench-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (ONLY === 'http' || ONLY === 'http-original' || ONLY === 'http-chained') {
    const mode = ONLY === 'http' ? 'claim-next' : ONLY === 'http-chained' ? 'complete-claim' : 'next-claim';
    const r = await inTempDir(async (dir) => {
      const server = await startServer(dir);
      const cycles = await runCycles(server.url, mode);
      await server.stop();
      return cycles;
    });
    console.log(`HTTP ${mode}: ${fmt(r.perSecond)} cycles/s with ${AGENTS} agents (${fmt(r.conflicts)} lost claim races), claim p50 ${fmt(r.claimP50, 2)} ms / p99 ${fmt(r.claimP99, 2)} ms`);
    return;
  }
  if (ONLY === 'webhooks') {
    const lines = await inTempDir((dir) => webhookBench(dir, { agents: AGENTS, seconds: SECONDS, rounds: Number(args.get('rounds') ?? 2), databaseUrl: DATABASE_URL }));
    console.log(`\nwritten to ${writeWebhookSection(lines)}`);
    return;
  }
  if (ONLY === 'labels') {
    const heading = '## Claims by agents whose labels or projects cover no pending task, or few';
    const { lines, log } = section(heading);
    await inTempDir((dir) => labelsBench(dir, { tasks: Number(args.get('tasks') ?? 100_000), claims: Number(args.get('claims') ?? 200), waiting: Number(args.get('waiting') ?? 10_000), databaseUrl: DATABASE_URL }, log));
    console.log(`\nwritten to ${writeSection(resolve(import.meta.dirname, DATABASE_URL ? 'RESULTS-postgres.md' : 'RESULTS.md'), heading, lines)}`);
    return;
  }
  if (ONLY === 'idle-waiters') {
    const heading = '## The lease cycle while agents of many scopes wait idle';
    const { lines, log } = section(heading);
    const options = { idle: Number(args.get('idle') ?? 20), agents: AGENTS, seconds: Number(args.get('seconds') ?? 4), rounds: Number(args.get('rounds') ?? 3), databaseUrl: DATABASE_URL };
    await inTempDir((dir) => idleWaitersBench(dir, options, seed, log));
    console.log(`\nwritten to ${writeSection(resolve(import.meta.dirname, DATABASE_URL ? 'RESULTS-postgres.md' : 'RESULTS.md'), heading, lines)}`);
    return;
  }
  if (ONLY === 'planner-stats') {
    if (!DATABASE_URL) throw new Error('--only=planner-stats measures PostgreSQL: give --pg=<url>');
    const heading = '## Planner statistics: when the server refreshes them, and what that buys';
    const { lines, log } = section(heading);
    const options = {
      databaseUrl: DATABASE_URL, creates: Number(args.get('creates') ?? 40_000), history: Number(args.get('history') ?? 200_000),
      burst: Number(args.get('burst') ?? 10_000), rounds: Number(args.get('rounds') ?? 2),
    };
    await inTempDir((dir) => plannerStatsBench(dir, options, seed, log));
    console.log(`\nwritten to ${writeSection(resolve(import.meta.dirname, 'RESULTS-postgres.md'), heading, lines)}`);
    return;
  }
  if (ONLY === 'memory') {
    const quick = args.has('quick');
    const lines: string[] = [];
    const log = (line: string) => {
      console.log(line);
      lines.push(line);
    };
    log('## Memory');
    log('');
    log(`- Date: ${new Date().toISOString()}`);
    log(`- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${process.platform}`);
    const store = DATABASE_URL ? 'PostgreSQL on the same machine (each server on a fresh schema, pool of 10)' : 'SQLite';
    const cache = DATABASE_URL ? 'its connections' : "SQLite's page cache";
    const command = `npm run bench -- --only=memory${DATABASE_URL ? ' --pg=<url>' : ''}${NODE_OPTIONS ? ` --node-options='${NODE_OPTIONS}'` : ''}`;
    log(`- Server: \`node dist/athena.mjs serve\` on 127.0.0.1, ${store}, no DISCORD_TOKEN${NODE_OPTIONS ? `, NODE_OPTIONS=\`${NODE_OPTIONS}\`` : ''}; RSS is VmRSS of its process (anon: heap, stacks, ${cache}; file: the node binary and libraries it maps). \`${command}\`.`);
    log('');
    log('| reading | RSS | target |');
    log('|---|---|---|');
    await inTempDir((dir) =>
      memoryBench(
        dir,
        {
          tasks: Number(args.get('tasks') ?? (quick ? 100_000 : 1_000_000)),
          loadSeconds: Number(args.get('load-minutes') ?? (quick ? 1 : 10)) * 60,
          agents: Number(args.get('load-agents') ?? 100),
          streams: Number(args.get('streams') ?? 20),
          createsPerSecond: Number(args.get('creates') ?? 20),
          sampleEverySeconds: 10,
          idleStarts: Number(args.get('idle-starts') ?? (quick ? 1 : 3)),
          nodeOptions: NODE_OPTIONS,
          databaseUrl: DATABASE_URL,
        },
        log,
      ),
    );
    const heading = `## Memory${DATABASE_URL ? ' (PostgreSQL)' : ''}${NODE_OPTIONS ? ` with NODE_OPTIONS=${NODE_OPTIONS}` : ''}`;
    lines[0] = heading;
    if (!quick) console.log(`\nwritten to ${writeSection(resolve(import.meta.dirname, 'RESULTS.md'), heading, lines)}`);
    return;
  }
  if (ONLY === 'statements') {
    const results = await inTempDir((dir) => statementCounts(dir, DATABASE_URL));
    for (const line of statementLines(results)) console.log(line);
    return;
  }
  if (ONLY === 'inproc') {
    const r = await inTempDir(inProcessRate);
    console.log(`in-process claim+complete/s: ${fmt(r.concurrent)} with ${AGENTS * 2} agents, ${fmt(r.sequential)} in sequence; creates/s ${fmt(r.createPerSecond)}`);
    return;
  }
  const lines = await inTempDir(fullRun);
  const out = resolve(import.meta.dirname, DATABASE_URL ? 'RESULTS-postgres.md' : 'RESULTS.md');
  // The sections other modes write (`## …`: webhooks, memory) stay; the run replaces what comes before them.
  const previous = existsSync(out) ? readFileSync(out, 'utf8') : '';
  const sections = previous.indexOf('\n## ');
  writeFileSync(out, `${lines.join('\n')}\n${sections < 0 ? '' : previous.slice(sections)}`);
  console.log(`\nwritten to ${out}`);
}

/** Every measurement, printed and returned as the lines of RESULTS.md. */
async function fullRun(dir: string): Promise<string[]> {
  const backend = DATABASE_URL ? 'PostgreSQL' : 'SQLite';
  const lines: string[] = [];
  const log = (line: string) => {
    console.log(line);
    lines.push(line);
  };
  log(`# Benchmark results (${backend})`);
  log('');
  log(`- Date: ${new Date().toISOString()}`);
  log(`- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${process.platform}`);
  log(`- Server: \`node dist/athena.mjs serve\` in its own process on 127.0.0.1, ${backend}${DATABASE_URL ? '' : ' (WAL, synchronous=NORMAL)'}; load from a second process on the same machine.`);
  log(`- Agents: ${AGENTS}, ${SECONDS} s per HTTP run.`);
  log('');
  log('| measurement | result | target |');
  log('|---|---|---|');
  const floor = await httpFloor();
  log(`| machine floor: bare fastify route, same client, ${AGENTS} agents | ${fmt(floor)} requests/s (= ${fmt(floor / 2)} two-request cycles/s) | |`);

  const labels: Record<CycleMode, string> = {
    'claim-next': CYCLE_NAMES['claim-next'],
    'next-claim': `${CYCLE_NAMES['next-claim']} (original protocol)`,
    'complete-claim': `${CYCLE_NAMES['complete-claim']} (one request a cycle)`,
  };
  for (const mode of ['claim-next', 'next-claim', 'complete-claim'] as const) {
    const server = await startServer(join(dir, mode));
    const r = await runCycles(server.url, mode);
    await server.stop();
    const races = mode === 'next-claim' ? `, ${fmt(r.conflicts)} lost claim races answered 409` : '';
    log(`| HTTP cycles/s, ${labels[mode]}, ${AGENTS} agents | ${fmt(r.perSecond)} (${fmt(r.cycles)} cycles${races}; ${fmt(r.perSecond / (floor / 2), 2)} of the floor's two-request cycles) | ≥ 3,000 |`);
    log(`| claim latency p50 / p99, ${mode} | ${fmt(r.claimP50, 2)} ms / ${fmt(r.claimP99, 2)} ms | |`);
    log(`| double claims, ${mode} | ${r.doubleClaims} | 0 |`);
  }

  if (!DATABASE_URL) {
    const inproc = await inProcessRate(dir);
    log(`| in-process claim+complete/s, ${AGENTS * 2} concurrent agents (core + SQLite, one connection) | ${fmt(inproc.concurrent)} | ≥ 20,000 |`);
    log(`| in-process claim+complete/s, one agent in sequence | ${fmt(inproc.sequential)} | |`);
    log(`| in-process creates/s | ${fmt(inproc.createPerSecond)} | |`);
  }

  log('');
  log('Statements per lease cycle, in-process, one agent in sequence and 16 at once (`--only=statements`):');
  log('');
  for (const line of statementLines(await statementCounts(dir, DATABASE_URL))) log(line);
  log('');
  log('| measurement | result | target |');
  log('|---|---|---|');
  const server = await startServer(join(dir, 'longpoll'));
  const lp = await longPoll(server.url, server.pid);
  await server.stop();
  log(`| long-poll hand-off latency p50 / p99, 50 waiting agents (${lp.handed} tasks) | ${fmt(lp.p50, 1)} ms / ${fmt(lp.p99, 1)} ms | |`);
  log(`| server CPU with 100 idle long-poll waiters | ${fmt(lp.idleCpuPercent, 2)} % of a core | < 3 % |`);
  log('');
  log('PostgreSQL and several replicas: `bench/RESULTS-replicas.md` (`npm run bench:replicas`).');
  return lines;
}

await main();
