// `npm run bench:peers`: Athena's in-process core (SQLite and PostgreSQL) beside graphile-worker,
// pg-boss and BullMQ (defaults and documented fast paths) and `pgbench -N`, on this machine's
// PostgreSQL and Redis, in interleaved rounds. Writes bench/RESULTS-peers.md as ratios against
// Athena on PostgreSQL measured in the same run.
//
//   --jobs=20000 --workers=16 --rounds=3 --cap=120 (seconds per run at most) --pgbench-seconds=10
//   --quick (2,000 jobs, 1 round) --only=athena-pg,graphile-fast,pgbench (these two print, not write)
//   --pg=postgres://postgres@127.0.0.1:5432/test --redis=127.0.0.1:6379
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { fmt, median, ratioText } from '../cycles.js';
import { PEER_SYSTEMS, type PeerContext, type PeerResult } from './systems.js';
import { benchArgs } from '../args.js';

const args = benchArgs();
const QUICK = args.has('quick');
const JOBS = Number(args.get('jobs') ?? (QUICK ? 2_000 : 20_000));
const WORKERS = Number(args.get('workers') ?? 16);
const ROUNDS = Number(args.get('rounds') ?? (QUICK ? 1 : 3));
const CAP_SECONDS = Number(args.get('cap') ?? (QUICK ? 10 : 120));
const PGBENCH_SECONDS = Number(args.get('pgbench-seconds') ?? (QUICK ? 3 : 10));
const DATABASE_URL = args.get('pg') ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const [REDIS_HOST, REDIS_PORT] = (args.get('redis') ?? '127.0.0.1:6379').split(':') as [string, string];
const ONLY = args.get('only')?.split(',');
const REDIS_PREFIX = `athena-peers-${process.pid}`;
const HERE = import.meta.dirname;

type Entry = { id: string; name: string; mode: string; settings: string };
type Outcome = (PeerResult & { ok: true }) | { ok: false; error: string };

const PGBENCH: Entry = {
  id: 'pgbench',
  name: '`pgbench -N` (PostgreSQL alone)',
  mode: `${WORKERS} clients, transactions/s`,
  settings: `\`pgbench -i -s 1\` then \`pgbench -n -N -c ${WORKERS} -j 2 -T ${PGBENCH_SECONDS}\` (the simple-update script: an UPDATE, a SELECT and an INSERT per transaction)`,
};

const context = (dir: string, databaseUrl: string, capSeconds = CAP_SECONDS): PeerContext => ({
  jobs: JOBS,
  workers: WORKERS,
  capSeconds: Math.min(CAP_SECONDS, capSeconds),
  databaseUrl,
  redis: { host: REDIS_HOST, port: Number(REDIS_PORT) },
  redisPrefix: REDIS_PREFIX,
  dir,
});

const entries: Entry[] = [
  ...PEER_SYSTEMS.map((s) => ({ id: s.id, name: s.name, mode: s.mode, settings: s.settings(context('', '')) })),
  PGBENCH,
].filter((e) => !ONLY || ONLY.includes(e.id));


/** What a run must undo if the bench is interrupted while it runs. */
let interruptCleanup: (() => Promise<void>) | null = null;
let child: ChildProcess | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    child?.kill('SIGKILL');
    void (interruptCleanup?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

function databaseUrlFor(name: string): string {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh database for one run, dropped afterwards (also on Ctrl-C). */
async function withDatabase<T>(name: string, fn: (url: string) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const drop = async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };
  try {
    await drop();
    await admin.query(`CREATE DATABASE ${name}`);
    interruptCleanup = drop;
    return await fn(databaseUrlFor(name));
  } finally {
    interruptCleanup = null;
    await drop();
    await admin.end();
  }
}

/** Runs one system in a child process (run-one.ts) and reads its RESULT line. */
function runChild(id: string, ctx: PeerContext): Promise<PeerResult> {
  return new Promise((resolveRun, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, join(HERE, 'run-one.ts'), id, JSON.stringify(ctx)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = proc;
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), (CAP_SECONDS + 180) * 1000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      child = null;
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolveRun(JSON.parse(line.slice('RESULT '.length)) as PeerResult);
      else reject(new Error(`${id} exited ${code ?? signal}: ${out.trim().split('\n').slice(-3).join(' / ')}`));
    });
  });
}

function pgbenchBinary(): string {
  const dirs = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of dirs) if (existsSync(`/usr/lib/postgresql/${v}/bin/pgbench`)) return `/usr/lib/postgresql/${v}/bin/pgbench`;
  return 'pgbench';
}

function pgbench(url: string): PeerResult {
  const u = new URL(url);
  const conn = ['-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres')];
  const db = u.pathname.slice(1);
  const env = { ...process.env, ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}) };
  execFileSync(pgbenchBinary(), ['-i', '-q', '-s', '1', ...conn, db], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const out = execFileSync(pgbenchBinary(), ['-n', '-N', '-c', String(WORKERS), '-j', '2', '-T', String(PGBENCH_SECONDS), ...conn, db], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const tps = Number(out.match(/tps = ([\d.]+)/)?.[1]);
  const transactions = Number(out.match(/number of transactions actually processed: (\d+)/)?.[1]);
  if (!Number.isFinite(tps)) throw new Error(`pgbench printed no tps: ${out}`);
  return { done: transactions, seconds: PGBENCH_SECONDS, perSecond: tps, duplicates: 0, missing: 0, capped: false };
}

/** Deletes the keys a BullMQ run left (it obliterates its queue itself, unless it was killed). */
async function dropRedisKeys(): Promise<void> {
  const redis = new Redis({ host: REDIS_HOST, port: Number(REDIS_PORT), lazyConnect: true });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function runOnce(entry: Entry): Promise<PeerResult> {
  const system = PEER_SYSTEMS.find((s) => s.id === entry.id);
  const dbName = `athena_peers_${entry.id.replace(/-/g, '_')}_${process.pid}`;
  if (!system) return withDatabase(dbName, async (url) => pgbench(url));
  if (system.store === 'postgres') return withDatabase(dbName, (url) => runChild(entry.id, context('', url, system.capSeconds)));
  const dir = mkdtempSync(join(tmpdir(), `athena-peers-${entry.id}-`));
  const cleanup = async () => {
    rmSync(dir, { recursive: true, force: true });
    if (system.store === 'redis') await dropRedisKeys();
  };
  interruptCleanup = cleanup;
  try {
    return await runChild(entry.id, context(dir, '', system.capSeconds));
  } finally {
    interruptCleanup = null;
    await cleanup();
  }
}

async function machine(): Promise<string[]> {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const pgVersion = (await admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
  const settings = (await admin.query<{ name: string; value: string }>(
    `SELECT name, current_setting(name) AS value FROM pg_settings WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', 'max_connections') ORDER BY name`,
  )).rows.map((r) => `${r.name}=${r.value}`);
  await admin.end();
  const redis = new Redis({ host: REDIS_HOST, port: Number(REDIS_PORT), lazyConnect: true });
  await redis.connect();
  const info = await redis.info('server');
  const persistence = await redis.config('GET', 'appendonly');
  redis.disconnect();
  const redisVersion = info.match(/redis_version:(\S+)/)?.[1] ?? 'unknown';
  const version = (pkg: string) => JSON.parse(readFileSync(join(HERE, 'node_modules', pkg, 'package.json'), 'utf8')).version as string;
  const athena = JSON.parse(readFileSync(resolve(HERE, '../../package.json'), 'utf8')).version as string;
  let pgbenchVersion = 'unknown';
  try {
    pgbenchVersion = execFileSync(pgbenchBinary(), ['--version'], { encoding: 'utf8' }).trim();
  } catch {}
  return [
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${process.platform}`,
    `- PostgreSQL ${pgVersion} on 127.0.0.1 (${settings.join(', ')}); Redis ${redisVersion} on ${REDIS_HOST}:${REDIS_PORT} (appendonly ${(persistence as string[])[1] ?? '?'}); ${pgbenchVersion}`,
    `- Versions: Athena ${athena}, graphile-worker ${version('graphile-worker')}, pg-boss ${version('pg-boss')}, BullMQ ${version('bullmq')} with ioredis ${version('ioredis')}, pg ${version('pg')}`,
  ];
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const log = (line: string) => {
    console.log(line);
    lines.push(line);
  };
  const header = await machine();
  log('# Benchmark results: Athena beside other job queues');
  log('');
  for (const line of header) log(line);
  log(
    `- Work: ${fmt(JOBS)} jobs that do nothing, seeded before the clock starts; ${WORKERS} concurrent workers in one process; the clock runs from the first job ` +
      `handed to a worker until the store holds all of them as done (a run stops after ${CAP_SECONDS} s at most, pg-boss's defaults after ${Math.min(CAP_SECONDS, 20)} s: ` +
      'then the jobs done by then count). ' +
      `Each system runs in a fresh process on a fresh database (or Redis key prefix, or SQLite file), dropped afterwards.`,
  );
  log(`- ${ROUNDS} round(s), interleaved: each round runs every system once, in an order rotated from round to round, so noise spreads over all of them.`);
  log(
    '- The machine is shared: other developers use its 2 cores at the same time, so absolute figures move from run to run; ' +
      'compare the ratios, which are taken within one round (against Athena on PostgreSQL of the same round), then the median of the rounds.',
  );
  log('');

  const results = new Map<string, Outcome[]>(entries.map((e) => [e.id, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = entries.map((_, i) => entries[(i + round) % entries.length]!);
    for (const entry of order) {
      process.stdout.write(`round ${round + 1}/${ROUNDS}: ${entry.id} … `);
      try {
        const r = await runOnce(entry);
        results.get(entry.id)![round] = { ok: true, ...r };
        console.log(`${fmt(r.perSecond)}/s (${fmt(r.done)} in ${fmt(r.seconds, 2)} s${r.capped ? ', capped' : ''}${r.duplicates ? `, ${r.duplicates} ran twice` : ''})`);
      } catch (err) {
        results.get(entry.id)![round] = { ok: false, error: (err as Error).message };
        console.log(`failed: ${(err as Error).message}`);
      }
    }
  }

  const reference = results.get('athena-pg');
  const ratioOf = (id: string, round: number): number | null => {
    const r = results.get(id)![round];
    const ref = reference?.[round];
    return r?.ok && ref?.ok && ref.perSecond > 0 ? r.perSecond / ref.perSecond : null;
  };
  log('| system | mode | jobs/s per round | median | vs Athena PG (median of rounds; range) | every job exactly once |');
  log('|---|---|---|---|---|---|');
  for (const entry of entries) {
    const outcomes = results.get(entry.id)!;
    const ok = outcomes.filter((o): o is PeerResult & { ok: true } => o?.ok === true);
    const perRound = outcomes.map((o) => (o?.ok ? `${fmt(o.perSecond)}${o.capped ? '*' : ''}` : 'failed')).join(' / ');
    const ratios = outcomes.map((_, round) => ratioOf(entry.id, round)).filter((r): r is number => r !== null);
    const ratio = entry.id === 'athena-pg' ? '1 (reference)' : ratioText(ratios);
    const once =
      entry.id === 'pgbench'
        ? 'n/a'
        : ok.length === 0
          ? '—'
          : ok.every((o) => o.duplicates === 0 && o.missing === 0 && (o.capped || o.done === JOBS))
            ? `yes (${ok.map((o) => fmt(o.done)).join(' + ')} jobs)`
            : `**no**: ${ok.map((o) => `${o.duplicates} twice, ${o.missing} never, ${fmt(o.done)} done`).join('; ')}`;
    log(`| ${entry.name} | ${entry.mode} | ${perRound} | ${ok.length ? fmt(median(ok.map((o) => o.perSecond))) : '—'} | ${ratio} | ${once} |`);
  }
  const failures = [...results.entries()].flatMap(([id, outcomes]) => outcomes.flatMap((o, round) => (o && !o.ok ? [`${id}, round ${round + 1}: ${o.error}`] : [])));
  if ([...results.values()].some((outcomes) => outcomes.some((o) => o?.ok && o.capped))) {
    log('');
    log(`\\* stopped by its cap before all ${fmt(JOBS)} jobs were done: the rate counts the jobs done by then.`);
  }
  log('');
  log('## Settings');
  log('');
  for (const entry of entries) log(`- ${entry.name}, ${entry.mode}: ${entry.settings}.`);
  if (failures.length) {
    log('');
    log('## Failed runs');
    log('');
    for (const f of failures) log(`- ${f}`);
  }
  // A partial run (--quick, --only) only prints.
  if (QUICK || ONLY) return;
  const out = resolve(HERE, '../RESULTS-peers.md');
  writeFileSync(out, `${lines.join('\n')}\n`);
  console.log(`\nwritten to ${out}`);
  if (failures.length) process.exitCode = 1;
}

await main();
