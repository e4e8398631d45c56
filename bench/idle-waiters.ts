// The lease cycle over HTTP while long-polling agents of many different scopes wait idle, against the
// same cycle with none waiting, in alternated runs (`npm run bench -- --only=idle-waiters [--pg=URL]`).
// Each task's end used to wake an idle waiter to look for what it freed, and the look passed through
// every idle scope, and a claim for a project walked every pending task: with PostgreSQL, 20 idle
// scopes took the cycle to 0.39 of its rate. Now the ends of a turn read what they freed (nothing while
// no pending task has dependencies) and wake only the waiters that can take it.
// Writes its section of bench/RESULTS.md (RESULTS-postgres.md with --pg).
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { driveCycles, fmt, median, ratioText } from './cycles.js';
import { createClient } from './http-client.js';
import { BENCH_KEY, cpuTicks, startBenchServer } from './server-process.js';
import { createBenchSchema } from './pg-schema.js';

export type IdleWaitersOptions = { idle: number; agents: number; seconds: number; rounds: number; databaseUrl?: string };

type Client = ReturnType<typeof createClient>;

/** One run on a fresh store: `idle` agents long-poll, each for a project no task has, while `agents` cycle. */
async function run(dir: string, o: IdleWaitersOptions, idle: number, seed: (client: Client, count: number) => Promise<void>) {
  const schema = o.databaseUrl ? await createBenchSchema(o.databaseUrl, 'athena_bench_idle') : undefined;
  const server = await startBenchServer(join(dir, `idle-${idle}-${Date.now()}.db`), { WIP_LIMIT: '0', ...(schema ? { DATABASE_URL: schema.url } : {}) });
  const client = createClient(server.url, BENCH_KEY, o.agents + idle + 8);
  let stop = false;
  const waiting = Array.from({ length: idle }, async (_, i) => {
    while (!stop) {
      const res = await client.call('POST', '/api/tasks/claim-next', { instance_id: `idle-${i}`, project: `idle-${i}`, wait: 2 });
      if (res.json?.task) throw new Error(`an idle agent got task ${res.json.task.id}`);
    }
  });
  try {
    await seed(client, o.seconds * 4_000);
    const before = cpuTicks(server.pid);
    const result = await driveCycles([client], { agents: o.agents, seconds: o.seconds, mode: 'claim-next' });
    return { ...result, cpuMsPerCycle: ((cpuTicks(server.pid) - before) * 10) / result.cycles }; // a tick is 10 ms
  } finally {
    stop = true;
    await Promise.all(waiting);
    client.close();
    await server.stop();
    await schema?.drop();
  }
}

export async function idleWaitersBench(dir: string, o: IdleWaitersOptions, seed: (client: Client, count: number) => Promise<void>, log: (line: string) => void): Promise<void> {
  const none: Array<{ perSecond: number; cpuMsPerCycle: number }> = [];
  const some: typeof none = [];
  const ratios: number[] = [];
  for (let round = 0; round < o.rounds; round++) {
    // Alternated (none, some, some, none, …) so a busy machine slows both alike.
    const order = round % 2 === 0 ? [0, o.idle] : [o.idle, 0];
    const results = new Map<number, { perSecond: number; cpuMsPerCycle: number }>();
    for (const idle of order) results.set(idle, await run(dir, o, idle, seed));
    none.push(results.get(0)!);
    some.push(results.get(o.idle)!);
    ratios.push(results.get(o.idle)!.perSecond / results.get(0)!.perSecond);
    console.error(`round ${round + 1}: ${fmt(results.get(0)!.perSecond)} / ${fmt(results.get(o.idle)!.perSecond)} cycles/s`);
  }
  const row = (what: string, runs: typeof none, ratio: string) =>
    `| ${what} | ${runs.map((r) => fmt(r.perSecond)).join(' / ')} | ${fmt(median(runs.map((r) => r.cpuMsPerCycle)), 2)} ms | ${ratio} |`;
  log(`- Date: ${new Date().toISOString()}`);
  log(`- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${process.platform}`);
  log(
    `- Server: \`node dist/athena.mjs serve\` on ${o.databaseUrl ? 'PostgreSQL (a schema of its own)' : 'SQLite'}, a fresh store each run; ${o.agents} agents cycle claim-next → complete over HTTP for ${o.seconds} s while ${o.idle} others long-poll (\`wait\` 2 s, again when it ends), each for a project of its own that no task has. ${o.rounds} rounds, alternated. \`npm run bench -- --only=idle-waiters${o.databaseUrl ? ' --pg=<url>' : ''}\`.`,
  );
  log('');
  log('| agents waiting idle | cycles/s (each round) | server CPU per cycle (median) | vs none waiting (median of rounds) |');
  log('|---|---|---|---|');
  log(row('none', none, '1 (reference)'));
  log(row(`${o.idle}, of ${o.idle} different scopes`, some, ratioText(ratios)));
}
