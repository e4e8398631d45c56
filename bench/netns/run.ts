// `npm run bench:netns`: replicas and PostgreSQL on different hosts of a simulated network
// (network.ts), 0 / 0.5 / 2 ms one-way delay on every hop: HTTP cycles/s and claim latency for 1
// and 3 `athena serve` replicas with both protocols, measured by agents on a host of their own;
// then a leader fail-over with the leader's link cut. Writes bench/RESULTS-network.md.
//
//   --seconds=8 --agents=32 --rounds=3 --delays=0,0.5,2 --link=auto|netem|wire --no-failover
//   --modes=claim-next,next-claim (add complete-claim: complete with claim_next)
//   --quick (3 s per run, one round, delays 0 and 0.5; prints only)
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { seedTasksSql } from '../athena-core.js';
import { CYCLE_NAMES, fmt, median, ratioText, type CycleMode, type CycleResult } from '../cycles.js';
import { KEEPALIVE_SETTINGS, runFailover } from './failover.js';
import { createNetwork, networkProblem, type LinkKind } from './network.js';
import { postgresProblem, startPrivatePostgres, type PrivatePostgres } from './postgres.js';
import { startRemoteHost, type RemoteHost } from './remote-host.js';
import { freshSchema, KEY, startNetReplicas } from './replicas.js';
import { benchArgs } from '../args.js';

const args = benchArgs();
const QUICK = args.has('quick');
const SECONDS = Number(args.get('seconds') ?? (QUICK ? 3 : 8));
const ROUNDS = Number(args.get('rounds') ?? (QUICK ? 1 : 3));
const AGENTS = Number(args.get('agents') ?? 32);
const DELAYS = (args.get('delays') ?? (QUICK ? '0,0.5' : '0,0.5,2')).split(',').map(Number);
const LINK = (args.get('link') ?? 'auto') as 'auto' | LinkKind;
const MODES = (args.get('modes') ?? 'claim-next,next-claim').split(',') as CycleMode[];
const REPLICA_HOSTS = ['r0', 'r1', 'r2'] as const;

/** One run: a fresh schema, `replicas` servers, seeded, then the agents on the load host. */
async function measure(pgServer: PrivatePostgres, load: RemoteHost, net: Awaited<ReturnType<typeof createNetwork>>, mode: CycleMode, replicas: number): Promise<CycleResult> {
  const schema = await freshSchema(pgServer, load, 'bench');
  try {
    const cluster = await startNetReplicas(net, REPLICA_HOSTS.slice(0, replicas), schema.url);
    try {
      // Enough that agents run out of time, not of tasks.
      await load.sql(pgServer.url(), seedTasksSql(Math.max(10_000, SECONDS * 5_000), Date.now(), `${schema.schema}.tasks`));
      await load.sql(pgServer.url(), `ANALYZE ${schema.schema}.tasks`);
      return await load.cycles(
        KEY,
        cluster.replicas.map((r) => r.url),
        { agents: AGENTS, seconds: SECONDS, mode },
      );
    } finally {
      await cluster.stop();
    }
  } finally {
    await schema.drop();
  }
}

async function main(): Promise<void> {
  const problem = networkProblem(LINK) ?? postgresProblem();
  if (problem) {
    console.log(`bench:netns skipped: ${problem}`);
    return;
  }
  const lines: string[] = [];
  const log = (line: string) => {
    console.log(line);
    lines.push(line);
  };
  const net = await createNetwork({ hosts: ['db', ...REPLICA_HOSTS, 'load'], link: LINK });
  try {
    const pgServer = await startPrivatePostgres(net, 'db', KEEPALIVE_SETTINGS);
    const load = await startRemoteHost(net, 'load');
    try {
      const roundTrips = new Map<number, number>();
      for (const delay of DELAYS) {
        await net.setDelay(delay);
        roundTrips.set(delay, await load.sqlRoundTrip(pgServer.url()));
      }
      log('# Benchmark results (replicas on a simulated network)');
      log('');
      log(`- Date: ${new Date().toISOString()}`);
      log(`- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${process.platform}; ${pgServer.version}`);
      log(
        `- Network: one namespace per host (PostgreSQL, 3 replica hosts, the agents' host), one segment, the same one-way delay on every hop; ` +
          (net.kind === 'netem'
            ? 'veth pairs into a bridge, `tc qdisc … netem delay` on each host\'s interface.'
            : 'this kernel has no netem (CONFIG_NET_SCH_NETEM is off), so the link is the user-space wire (bench/netns/wire.py): a tun device per host and a router that delays every packet; it costs CPU of its own, so the 0 ms runs go through it too.'),
      );
      log(`- Measured \`SELECT 1\` round trip from the agents' host to PostgreSQL (median of 50): ${DELAYS.map((d) => `${d} ms delay → ${fmt(roundTrips.get(d)!, 2)} ms`).join(', ')}.`);
      log(
        `- Servers: \`node dist/athena.mjs serve\`, one per replica host, pool of 10 each, on a fresh schema of a private PostgreSQL (initdb, defaults, TCP keepalives 2 s/1 s/3). ` +
          `${AGENTS} agents on their own host, spread round-robin over the replicas, ${SECONDS} s per run.`,
      );
      log(
        '- The machine is shared (2 cores; other developers run their work at the same time): compare the ratios, each taken against a reference measured in this run: ' +
          '"vs 0 ms" against the same protocol and replica count without delay, "3 vs 1" against one replica at the same delay and protocol.',
      );
      log('');
      log(`- ${ROUNDS} round(s), each running every case once (delays innermost, so a case and its 0 ms reference are minutes apart at most); ratios are taken within a round, then the median of the rounds (range in brackets).`);
      log('');
      log('| protocol | one-way delay | replicas | cycles/s per round | median | vs 0 ms | 3 vs 1 | claim p50 / p99 (median of rounds) | lost claim races (409) per cycle | double claims |');
      log('|---|---|---|---|---|---|---|---|---|---|');
      const cases = MODES.flatMap((mode) => [1, 3].flatMap((replicas) => DELAYS.map((delay) => ({ mode, replicas, delay }))));
      const key = (c: { mode: CycleMode; replicas: number; delay: number }) => `${c.mode}|${c.replicas}|${c.delay}`;
      const results = new Map<string, CycleResult[]>(cases.map((c) => [key(c), []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const c of cases) {
          await net.setDelay(c.delay);
          process.stdout.write(`round ${round + 1}/${ROUNDS}: ${c.mode}, ${c.replicas} replica(s), ${c.delay} ms … `);
          const result = await measure(pgServer, load, net, c.mode, c.replicas);
          console.log(`${fmt(result.perSecond)} cycles/s`);
          results.get(key(c))!.push(result);
        }
      }
      const ratios = (runs: CycleResult[], references: CycleResult[]) => runs.map((r, i) => r.perSecond / references[i]!.perSecond);
      for (const c of cases) {
        const runs = results.get(key(c))!;
        const zero = results.get(key({ ...c, delay: 0 }));
        const one = results.get(key({ ...c, replicas: 1 }));
        const vsZero = c.delay === 0 ? '1 (reference)' : zero ? ratioText(ratios(runs, zero)) : '—';
        const vsOne = c.replicas === 1 ? '' : one ? ratioText(ratios(runs, one)) : '—';
        const cycles = runs.reduce((n, r) => n + r.cycles, 0);
        const conflicts = runs.reduce((n, r) => n + r.conflicts, 0);
        log(
          `| ${CYCLE_NAMES[c.mode]} | ${c.delay} ms | ${c.replicas} | ` +
            `${runs.map((r) => fmt(r.perSecond)).join(' / ')} | ${fmt(median(runs.map((r) => r.perSecond)))} | ${vsZero} | ${vsOne} | ` +
            `${fmt(median(runs.map((r) => r.claimP50)), 2)} ms / ${fmt(median(runs.map((r) => r.claimP99)), 2)} ms | ` +
            `${c.mode !== 'next-claim' ? '—' : `${fmt(conflicts / Math.max(1, cycles), 2)} (${fmt(conflicts)} for ${fmt(cycles)} cycles)`} | ${runs.reduce((n, r) => n + r.doubleClaims, 0)} |`,
        );
      }
      if (!args.has('no-failover')) {
        await net.setDelay(0.5);
        const f = await runFailover(net, pgServer, { loadHost: 'load', replicaHosts: [...REPLICA_HOSTS] });
        const s = (ms: number | null) => (ms === null ? 'never (within 60 s)' : `${fmt(ms / 1000, 1)} s`);
        log('');
        log('## Leader fail-over, leader\'s link cut (0.5 ms delay)');
        log('');
        log(
          `Three replicas; the leader's link is cut at the switch (silently: no reset reaches anyone). ` +
            `Another replica holds the leader lock after ${s(f.takeoverMs)} (PostgreSQL ends the silent session by keepalive, then a follower's next try wins); ` +
            `its sweeper hands back a task whose agent vanished after ${s(f.ghostRequeuedMs)}. ` +
            `The old leader steps down (its lock ping failed: its loops are aborted and start nothing more) after ${s(f.stepDownMs)}` +
            (f.stepDownMs !== null && f.stepDownMs > f.cutForMs ? `, only once its link was back (it stayed cut ${s(f.cutForMs)})` : '') +
            `; its loops have stopped after ${s(f.workStoppedMs)}` +
            (f.workStoppedMs !== null && f.workStoppedMs > f.cutForMs ? `, once its link was back (it stayed cut ${s(f.cutForMs)}): a loop's statement in flight on the dead link held them up` : '') +
            `. With the link back: ${Object.entries(f.leadershipAfterHeal).map(([h, st]) => `${h} ${st}`).join(', ')}.`,
        );
      }
    } finally {
      await load.stop();
      await pgServer.stop();
    }
  } finally {
    await net.destroy();
  }
  if (QUICK) return;
  const out = resolve(import.meta.dirname, '../RESULTS-network.md');
  writeFileSync(out, `${lines.join('\n')}\n`);
  console.log(`\nwritten to ${out}`);
}

await main();
