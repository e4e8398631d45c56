// Statements per lease cycle (both protocols), in-process, one agent in sequence: how many each kind,
// and the share of the time spent in statements each takes. `npm run bench -- --only=statements`.
import { join } from 'node:path';
import pg from 'pg';
import { openAthenaCore, type AthenaStoreTarget } from './athena-core.js';
import { fmt } from './cycles.js';

export type StatementKind = { statement: string; perCycle: number; msPerCycle: number };
export type StatementCounts = { mode: 'claim-next' | 'next-claim'; cyclesPerSecond: number; perCycle: number; kinds: StatementKind[] };

/** A statement's first words, enough to tell the kinds apart (`UPDATE tasks SET status`, `INSERT INTO task_logs`). */
const kindOf = (sql: string): string => {
  const text = sql.replace(/\s+/g, ' ').trim();
  const words = text.startsWith('WITH') || text.startsWith('SELECT id, pref') ? 'peek: pick a task and hold it' : text.split(' ').slice(0, 4).join(' ');
  return words.replace(/\(.*$/, '').trim();
};

async function measure(target: AthenaStoreTarget, cycles: number): Promise<StatementCounts[]> {
  const seen = new Map<string, { n: number; ms: number }>();
  let counting = false;
  const core = await openAthenaCore(target, { LEASE_SECONDS: '600', WIP_LIMIT: '1' }, {
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
    await core.seed(cycles * 3);
    const { queue } = core;
    const run = async (mode: StatementCounts['mode']): Promise<StatementCounts> => {
      // A few cycles first, so prepared statements and caches are as in a running server.
      for (let i = 0; i < 20; i++) {
        const task = await queue.claimNext({ instanceId: 'warm-up' });
        await queue.complete(task!.id, { leaseToken: task!.leaseToken });
      }
      seen.clear();
      counting = true;
      const started = performance.now();
      for (let i = 0; i < cycles; i++) {
        const task = mode === 'claim-next' ? await queue.claimNext({ instanceId: 'agent' }) : await queue.claim((await queue.offerNext(null))!.id, { instanceId: 'agent' });
        await queue.complete(task!.id, { leaseToken: task!.leaseToken });
      }
      const seconds = (performance.now() - started) / 1000;
      counting = false;
      const kinds = [...seen.entries()]
        .map(([statement, { n, ms }]) => ({ statement, perCycle: n / cycles, msPerCycle: ms / cycles }))
        .sort((a, b) => b.msPerCycle - a.msPerCycle);
      return { mode, cyclesPerSecond: cycles / seconds, perCycle: kinds.reduce((sum, k) => sum + k.perCycle, 0), kinds };
    };
    return [await run('claim-next'), await run('next-claim')];
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
  const lines = ['| store | cycle | statements per cycle | cycles/s, one agent in sequence | statements (per cycle, share of statement time) |', '|---|---|---|---|---|'];
  for (const { backend, counts } of results) {
    for (const c of counts) {
      const total = c.kinds.reduce((sum, k) => sum + k.msPerCycle, 0);
      const kinds = c.kinds.map((k) => `${k.statement} (${fmt(k.perCycle, 2)}, ${fmt((100 * k.msPerCycle) / total)} %)`).join('; ');
      const cycle = c.mode === 'claim-next' ? 'claim-next → complete' : 'next → claim → complete';
      lines.push(`| ${backend} | ${cycle} | ${fmt(c.perCycle, 2)} | ${fmt(c.cyclesPerSecond)} | ${kinds} |`);
    }
  }
  return lines;
}
