// `npm run bench:compare -- --base=<commit>`: one server's HTTP cycles/s of this tree against an earlier
// commit's, runs alternated (this, base, base, this, …) so a busy machine slows both alike; prints
// the ratio of each pair and their median, per store and protocol. `--replicas=3`: that many servers of
// each tree on one PostgreSQL schema, the agents spread over them. `--inproc`: both trees' cores in
// this one process instead, in short alternated slices. Writes nothing.
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import Database from 'better-sqlite3';
import { seedTasksSql, type openAthenaCore } from './athena-core.js';
import { CYCLE_NAMES, driveCycles, fmt, median, ratioText, type CycleMode } from './cycles.js';
import { createClient } from './http-client.js';
import { BENCH_KEY, BIN, servingUrl } from './server-process.js';
import { createBenchSchema } from './pg-schema.js';
import { benchArgs } from './args.js';

const args = benchArgs();
const BASE = args.get('base');
const ROUNDS = Number(args.get('rounds') ?? 5);
const SECONDS = Number(args.get('seconds') ?? 5);
const AGENTS = Number(args.get('agents') ?? 32);
const MODES = (args.get('modes') ?? 'claim-next,next-claim').split(',') as CycleMode[];
const STORES = (args.get('stores') ?? 'sqlite,postgres').split(',') as Array<'sqlite' | 'postgres'>;
const DATABASE_URL = args.get('pg') ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROOT = resolve(import.meta.dirname, '..');
const INPROC = args.has('inproc');
/** Servers of each tree per run (PostgreSQL only: they share one schema, as replicas do). */
const REPLICAS = Number(args.get('replicas') ?? 1);
/** --inproc: agents at once, and the length of one slice of cycles. */
const INPROC_AGENTS = 16;
const SLICE_MS = 500;

/** The base commit's tree, built, in a temporary directory (this tree's node_modules linked in). */
function buildBase(commit: string): { dir: string; bin: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'athena-base-'));
  execSync(`git archive ${commit} | tar -x -C ${dir}`, { cwd: ROOT, stdio: 'inherit' });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  execSync('node scripts/build.mjs', { cwd: dir, stdio: 'ignore' });
  return { dir, bin: join(dir, 'dist/athena.mjs'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One run of one build on a fresh store: seeded before the server starts, then agents cycle for SECONDS. */
async function run(bin: string, store: 'sqlite' | 'postgres', mode: CycleMode): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'athena-compare-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '', API_HOST: '127.0.0.1', API_PORT: '0', API_KEY: BENCH_KEY, DB_PATH: join(dir, 'athena.db'), LOG_LEVEL: 'warn', WIP_LIMIT: '1',
  };
  const seedCount = SECONDS * 10_000;
  let cleanup = async () => {};
  if (store === 'postgres') {
    const schema = await createBenchSchema(DATABASE_URL, 'athena_compare');
    cleanup = () => schema.drop();
    Object.assign(env, { DATABASE_URL: schema.url, PG_POOL_SIZE: '10' });
  }
  const procs: ChildProcess[] = [];
  const start = async () => {
    const proc = spawn(process.execPath, [bin, 'serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(proc);
    return servingUrl(proc);
  };
  try {
    const urls = [await start()];
    // Seeded once the first server has migrated its store (each build with its own migrations).
    if (store === 'postgres') {
      const admin = new pg.Client({ connectionString: env.DATABASE_URL });
      await admin.connect();
      await admin.query(seedTasksSql(seedCount, Date.now()));
      await admin.query('ANALYZE tasks');
      await admin.end();
      while (urls.length < REPLICAS) urls.push(await start());
    } else {
      const db = new Database(env.DB_PATH!);
      db.pragma('busy_timeout = 5000');
      db.exec(seedTasksSql(seedCount, Date.now()));
      db.close();
    }
    const clients = urls.map((url) => createClient(url, BENCH_KEY, AGENTS * 2));
    try {
      return (await driveCycles(clients, { agents: AGENTS, seconds: SECONDS, mode })).perSecond;
    } finally {
      for (const client of clients) client.close();
    }
  } finally {
    await Promise.all(
      procs.map(
        (proc) =>
          new Promise<void>((ok) => {
            if (proc.exitCode !== null) return ok();
            proc.once('exit', () => ok());
            proc.kill('SIGTERM');
          }),
      ),
    );
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

type Core = Awaited<ReturnType<typeof openAthenaCore>>;

/** A tree's in-process core (its own bench/athena-core.ts) on a fresh store, seeded. */
async function openCore(tree: string, store: 'sqlite' | 'postgres', dir: string, name: string): Promise<{ core: Core; drop(): Promise<void> }> {
  const { openAthenaCore: open } = (await import(join(tree, 'bench/athena-core.ts'))) as { openAthenaCore: typeof openAthenaCore };
  const env = { LEASE_SECONDS: '600', WIP_LIMIT: '1' };
  if (store === 'sqlite') {
    const core = await open({ sqlitePath: join(dir, `${name}.db`) }, env);
    await core.seed(200_000);
    return { core, drop: async () => {} };
  }
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const schema = `athena_compare_${name}_${Date.now().toString(36)}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const core = await open({ databaseUrl: url.toString() }, env);
  await core.seed(100_000);
  return { core, drop: async () => (await admin.query(`DROP SCHEMA ${schema} CASCADE`), await admin.end()) };
}

/** Cycles/s of INPROC_AGENTS agents at once for one slice. */
async function slice(core: Core, mode: CycleMode): Promise<number> {
  const { queue } = core;
  let cycles = 0;
  const end = performance.now() + SLICE_MS;
  await Promise.all(
    Array.from({ length: INPROC_AGENTS }, async (_, agent) => {
      while (performance.now() < end) {
        const instanceId = `agent-${agent}`;
        let task;
        if (mode === 'claim-next') task = await queue.claimNext({ instanceId });
        else task = await queue.claim((await queue.offerNext(null))!.id, { instanceId }).catch(() => null);
        if (!task) continue; // a claim race lost (original protocol): peek again
        await queue.complete(task.id, { leaseToken: task.leaseToken });
        cycles++;
      }
    }),
  );
  return cycles / (SLICE_MS / 1000);
}

async function compareInProcess(baseTree: string): Promise<void> {
  const slices = ROUNDS < 10 ? 20 : ROUNDS;
  console.log(`in-process, this tree against ${BASE}: ${INPROC_AGENTS} agents, ${slices} pairs of ${SLICE_MS} ms slices; load average at the start ${fmt(loadavg()[0]!, 1)}`);
  console.log('| store | protocol | cycles/s, this tree (median) | cycles/s, base (median) | this ÷ base, median of pairs (range) |');
  console.log('|---|---|---|---|---|');
  const dir = mkdtempSync(join(tmpdir(), 'athena-compare-'));
  try {
    for (const store of STORES) {
      for (const mode of MODES) {
        const mine = await openCore(ROOT, store, dir, `this_${mode.replace('-', '_')}`);
        const theirs = await openCore(baseTree, store, dir, `base_${mode.replace('-', '_')}`);
        try {
          await slice(mine.core, mode);
          await slice(theirs.core, mode);
          const a: number[] = [];
          const b: number[] = [];
          for (let i = 0; i < slices; i++) {
            const order = i % 2 === 0 ? [mine.core, theirs.core] : [theirs.core, mine.core];
            for (const core of order) (core === mine.core ? a : b).push(await slice(core, mode));
          }
          const protocol = CYCLE_NAMES[mode];
          console.log(`| ${store === 'sqlite' ? 'SQLite' : 'PostgreSQL'} | ${protocol} | ${fmt(median(a))} | ${fmt(median(b))} | ${ratioText(a.map((v, i) => v / b[i]!))} |`);
        } finally {
          await mine.core.close();
          await theirs.core.close();
          await mine.drop();
          await theirs.drop();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`load average at the end ${fmt(loadavg()[0]!, 1)}`);
}

async function main(): Promise<void> {
  if (!BASE) throw new Error('usage: npm run bench:compare -- --base=<commit> [--rounds=5 --seconds=5 --agents=32 --stores=sqlite,postgres --modes=claim-next,next-claim --replicas=1]');
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: npm run build`);
  const base = buildBase(BASE);
  if (INPROC) {
    try {
      return await compareInProcess(base.dir);
    } finally {
      base.cleanup();
    }
  }
  try {
    if (REPLICAS > 1 && STORES.includes('sqlite')) throw new Error('--replicas needs --stores=postgres (SQLite serves from one process)');
    console.log(`this tree against ${BASE}: ${AGENTS} agents${REPLICAS > 1 ? ` over ${REPLICAS} servers` : ''}, ${SECONDS} s a run, ${ROUNDS} rounds; load average at the start ${fmt(loadavg()[0]!, 1)}`);
    console.log('| store | protocol | cycles/s, this tree (each round) | cycles/s, base | this ÷ base, median (range) |');
    console.log('|---|---|---|---|---|');
    for (const store of STORES) {
      for (const mode of MODES) {
        const mine: number[] = [];
        const theirs: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          // Alternate which goes first, so neither always meets the machine's warmer or busier moment.
          const order = round % 2 === 0 ? [BIN, base.bin] : [base.bin, BIN];
          for (const bin of order) (bin === BIN ? mine : theirs).push(await run(bin, store, mode));
        }
        const ratios = mine.map((m, i) => m / theirs[i]!);
        const protocol = CYCLE_NAMES[mode];
        console.log(`| ${store === 'sqlite' ? 'SQLite' : 'PostgreSQL'} | ${protocol} | ${mine.map((v) => fmt(v)).join(' / ')} | ${theirs.map((v) => fmt(v)).join(' / ')} | ${ratioText(ratios)} |`);
      }
    }
    console.log(`load average at the end ${fmt(loadavg()[0]!, 1)}`);
  } finally {
    base.cleanup();
  }
}

await main();
