// Statements per lease cycle (both protocols), in-process, one agent in sequence: how many each kind,
// and the share of the time spent in statements each takes; then claim-next with 16 agents at once,
// where writes arriving together share statements and transactions (PostgreSQL's batches, SQLite's
// group commit). `npm run bench -- --only=statements`.
import { join } from 'node:path';
import pg from 'pg';
import { openAthenaCore, type AthenaStoreTarget } from './athena-core.js';
import { fmt } from './cycles.js';

export type StatementKind = { statement: string; perCycle: number; msPerCycle: number };
export type StatementCounts = {
  mode: 'claim-next' | 'next-claim';
  agents: number;
  cyclesPerSecond: number;
  perCycle: number;
  transactionsPerCycle: number;
  /** Waits for the database a cycle (see OpenOptions.onRoundTrip); meaningful where the database is a server. */
  roundTripsPerCycle: number;
  /** Bytes of task log payload each cycle wrote (its claimed and completed events). */
  logBytesPerCycle: number;
  kinds: StatementKind[];
};

/** Agents of the concurrent run. */
const AGENTS_AT_ONCE = 16;

/** A statement's first words, enough to tell the kinds apart (`UPDATE tasks SET status`, `INSERT INTO task_logs`). */
const kindOf = (sql: string): string => {
  const text = sql.replace(/\s+/g, ' ').trim();
  if (text.startsWith('WITH agents')) return 'claims together: UPDATE tasks … FROM agents';
  if (text.startsWith('SELECT COUNT(pg_advisory_xact_lock')) return 'SELECT pg_advisory_xact_lock (several)';
  const words = text.startsWith('WITH') || text.startsWith('SELECT id, pref') ? 'peek: pick a task and hold it' : text.split(' ').slice(0, 4).join(' ');
  return words.replace(/\(.*$/, '').trim();
};

async function measure(target: AthenaStoreTarget, cycles: number): Promise<StatementCounts[]> {
  const seen = new Map<string, { n: number; ms: number }>();
  let counting = false;
  let transactions = 0;
  let roundTrips = 0;
  const core = await openAthenaCore(target, { LEASE_SECONDS: '600', WIP_LIMIT: '1' }, {
    onTransaction: () => {
      if (counting) transactions++;
    },
    onRoundTrip: () => {
      if (counting) roundTrips++;
    },
    onStatement: (sql, ms) => {
      if (!counting) return;
      const kind = kindOf(sql);
      const entry = seen.get(kind) ?? { n: 0, ms: 0 };
      entry.n++;
      entry.ms += ms;
      seen.set(kind, entry);
    },
  });
  try {
    await core.seed(cycles * 6);
    const { queue } = core;
    const run = async (mode: StatementCounts['mode'], agents = 1): Promise<StatementCounts> => {
      // A few cycles first, so prepared statements and caches are as in a running server.
      for (let i = 0; i < 20; i++) {
        const task = await queue.claimNext({ instanceId: 'warm-up' });
        await queue.complete(task!.id, { leaseToken: task!.leaseToken });
      }
      seen.clear();
      transactions = 0;
      roundTrips = 0;
      const logBytesBefore = await core.logBytes();
      counting = true;
      const started = performance.now();
      let begun = 0;
      const agent = async (instanceId: string) => {
        while (begun < cycles) {
          begun++;
          let task = null;
          // A claim race lost (original protocol, several agents): peek again.
          while (!task) {
            if (mode === 'claim-next') task = await queue.claimNext({ instanceId });
            else {
              const offered = await queue.offerNext(null);
              if (!offered) throw new Error('the queue ran dry: seed more tasks');
              task = await queue.claim(offered.id, { instanceId }).catch(() => null);
            }
          }
          await queue.complete(task.id, { leaseToken: task.leaseToken });
        }
      };
      await Promise.all(Array.from({ length: agents }, (_, n) => agent(`agent-${n}`)));
      const seconds = (performance.now() - started) / 1000;
      counting = false;
      const logBytesPerCycle = ((await core.logBytes()) - logBytesBefore) / cycles;
      const kinds = [...seen.entries()]
        .map(([statement, { n, ms }]) => ({ statement, perCycle: n / cycles, msPerCycle: ms / cycles }))
        .sort((a, b) => b.msPerCycle - a.msPerCycle);
      return { mode, agents, cyclesPerSecond: cycles / seconds, perCycle: kinds.reduce((sum, k) => sum + k.perCycle, 0), transactionsPerCycle: transactions / cycles, roundTripsPerCycle: roundTrips / cycles, logBytesPerCycle, kinds };
    };
    return [await run('claim-next'), await run('next-claim'), await run('claim-next', AGENTS_AT_ONCE), await run('next-claim', AGENTS_AT_ONCE)];
  } finally {
    await core.close();
  }
}

/** SQLite in `dir`, and PostgreSQL on a schema of its own when `databaseUrl` is given. */
export async function statementCounts(dir: string, databaseUrl: string | undefined, cycles = 1000): Promise<Array<{ backend: string; counts: StatementCounts[] }>> {
  const results = [{ backend: 'SQLite', counts: await measure({ sqlitePath: join(dir, 'statements.db') }, cycles) }];
  if (databaseUrl) {
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    const schema = `athena_statements_${Date.now().toString(36)}`;
    await admin.query(`CREATE SCHEMA ${schema}`);
    try {
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      results.push({ backend: 'PostgreSQL', counts: await measure({ databaseUrl: url.toString() }, cycles) });
    } finally {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    }
  }
  return results;
}

/** Markdown lines: one row per backend and protocol, then each statement kind. */
export function statementLines(results: Awaited<ReturnType<typeof statementCounts>>): string[] {
  const lines = ['| store | cycle | agents | statements per cycle | transactions per cycle | round trips per cycle | cycles/s | task log bytes per cycle | statements (per cycle, share of statement time) |', '|---|---|---|---|---|---|---|---|---|'];
  for (const { backend, counts } of results) {
    for (const c of counts) {
      const total = c.kinds.reduce((sum, k) => sum + k.msPerCycle, 0);
      const kinds = c.kinds.map((k) => `${k.statement} (${fmt(k.perCycle, 2)}, ${fmt((100 * k.msPerCycle) / total)} %)`).join('; ');
      const cycle = c.mode === 'claim-next' ? 'claim-next → complete' : 'next → claim → complete';
      const agents = c.agents === 1 ? '1, in sequence' : `${c.agents} at once`;
      lines.push(`| ${backend} | ${cycle} | ${agents} | ${fmt(c.perCycle, 2)} | ${fmt(c.transactionsPerCycle, 2)} | ${backend === 'SQLite' ? '–' : fmt(c.roundTripsPerCycle, 2)} | ${fmt(c.cyclesPerSecond)} | ${fmt(c.logBytesPerCycle)} | ${kinds} |`);
    }
  }
  return lines;
}
