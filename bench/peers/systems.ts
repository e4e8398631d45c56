// The job queues `npm run bench:peers` measures, each run the same way: seed N jobs that do
// nothing, start 16 concurrent workers, clock from the first job handed to a worker until the
// store holds all N as done, and count how often each job ran (every one exactly once).
import PgBoss from 'pg-boss';
import pg from 'pg';
import { Queue, Worker } from 'bullmq';
import { Logger, makeWorkerUtils, run as runGraphileWorker } from 'graphile-worker';
import { openAthenaCore, seededIndex, type AthenaStoreTarget } from '../athena-core.js';

export type PeerContext = {
  jobs: number;
  workers: number;
  /** A run stops here even if jobs are left (then the jobs done by then count). */
  capSeconds: number;
  /** A fresh database of its own (PostgreSQL systems). */
  databaseUrl: string;
  redis: { host: string; port: number };
  /** The Redis key prefix of this run (BullMQ), removed by the orchestrator afterwards. */
  redisPrefix: string;
  /** A fresh directory of its own (SQLite). */
  dir: string;
};

export type PeerResult = {
  /** Jobs the store holds as done when the clock stopped. */
  done: number;
  seconds: number;
  perSecond: number;
  /** Jobs that ran more than once, and (when not capped) jobs that never ran. */
  duplicates: number;
  missing: number;
  capped: boolean;
};

export type PeerSystem = {
  id: string;
  name: string;
  mode: string;
  /** What the run configures, for the results file. */
  settings(ctx: PeerContext): string;
  store: 'postgres' | 'redis' | 'sqlite';
  /** A shorter cap for a system whose rate is set by a timer, not by its work (seconds). */
  capSeconds?: number;
  run(ctx: PeerContext): Promise<PeerResult>;
};

/** Which job ran how often, and when the first one started. */
class Tally {
  readonly runs: Uint8Array;
  handled = 0;
  firstAt = 0;
  private allHandled!: () => void;
  readonly finished = new Promise<void>((resolve) => (this.allHandled = resolve));

  constructor(readonly jobs: number) {
    this.runs = new Uint8Array(jobs + 1);
  }

  ran(index: number): void {
    if (this.firstAt === 0) this.firstAt = performance.now();
    if (!(index >= 1 && index <= this.jobs)) throw new Error(`a job this run did not create ran: ${index}`);
    this.runs[index] = Math.min(255, this.runs[index]! + 1);
    if (this.runs[index] === 1 && ++this.handled === this.jobs) this.allHandled();
  }

  /**
   * Waits until every job ran (or the cap), then until the store holds them as done; returns the
   * result. `persisted` reads the store's count of done jobs.
   */
  async measure(capSeconds: number, persisted: () => Promise<number>): Promise<PeerResult> {
    const capAt = performance.now() + capSeconds * 1000;
    let capTimer: NodeJS.Timeout | undefined;
    const capped = await Promise.race([
      this.finished.then(() => false),
      new Promise<boolean>((resolve) => (capTimer = setTimeout(() => resolve(true), capSeconds * 1000))),
    ]);
    clearTimeout(capTimer);
    let done = await persisted();
    if (!capped) {
      // Some queues finish a job (or a batch of them) after its handler returned.
      while (done < this.jobs && performance.now() < capAt + 30_000) {
        await new Promise((r) => setTimeout(r, 5));
        done = await persisted();
      }
    }
    const endAt = capped ? capAt : performance.now();
    const seconds = (endAt - (this.firstAt || endAt)) / 1000;
    let duplicates = 0;
    let missing = 0;
    for (let i = 1; i <= this.jobs; i++) {
      if (this.runs[i]! > 1) duplicates++;
      if (this.runs[i] === 0) missing++;
    }
    return { done, seconds, perSecond: seconds > 0 ? done / seconds : 0, duplicates, missing: capped ? 0 : missing, capped };
  }
}

const chunks = (count: number, size: number): number[][] =>
  Array.from({ length: Math.ceil(count / size) }, (_, c) => Array.from({ length: Math.min(size, count - c * size) }, (_, k) => c * size + k + 1));

/** A count read by SQL on a connection of its own (`end` closes it). */
async function countRows(url: string, sql: string): Promise<(() => Promise<number>) & { end(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const count = async () => Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
  return Object.assign(count, { end: () => client.end() });
}

function athena(store: 'postgres' | 'sqlite'): PeerSystem {
  return {
    id: `athena-${store === 'postgres' ? 'pg' : 'sqlite'}`,
    name: `Athena core, ${store === 'postgres' ? 'PostgreSQL' : 'SQLite'} (claim-next + complete, in-process)`,
    mode: 'defaults',
    store,
    settings: (ctx) =>
      `${ctx.workers} workers, each \`claimNext\` then \`complete\` with its own instance id; ` +
      (store === 'postgres' ? 'pool of 10 (PG_POOL_SIZE default)' : 'one connection, WAL, synchronous=NORMAL (defaults)'),
    async run(ctx) {
      const target: AthenaStoreTarget = store === 'postgres' ? { databaseUrl: ctx.databaseUrl } : { sqlitePath: `${ctx.dir}/athena.db` };
      const core = await openAthenaCore(target);
      try {
        await core.seed(ctx.jobs);
        const tally = new Tally(ctx.jobs);
        let stop = false;
        const workers = Array.from({ length: ctx.workers }, async (_, w) => {
          while (!stop) {
            const task = await core.queue.claimNext({ instanceId: `peer-bench-${w}` });
            if (!task) return;
            tally.ran(seededIndex(task.description));
            await core.queue.complete(task.id, { leaseToken: task.leaseToken });
          }
        });
        const result = await tally.measure(ctx.capSeconds, core.countCompleted);
        stop = true;
        await Promise.all(workers);
        return result;
      } finally {
        await core.close();
      }
    },
  };
}

const quietGraphileLogger = new Logger(() => (level, message) => {
  if (level === 'error') console.error(`graphile-worker: ${message}`);
});

function graphile(fast: boolean): PeerSystem {
  const preset = fast ? { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } : undefined;
  return {
    id: fast ? 'graphile-fast' : 'graphile-defaults',
    name: 'graphile-worker',
    mode: fast ? 'local queue, batched completes (its documented fast path)' : 'defaults',
    store: 'postgres',
    settings: (ctx) =>
      fast
        ? `concurrency ${ctx.workers}, maxPoolSize ${ctx.workers + 1}, localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0 (the configuration of its performance page, with ${ctx.workers} workers)`
        : `concurrency ${ctx.workers}, everything else default (maxPoolSize 10, pollInterval 2000 ms, LISTEN/NOTIFY)`,
    async run(ctx) {
      const utils = await makeWorkerUtils({ connectionString: ctx.databaseUrl, logger: quietGraphileLogger });
      try {
        await utils.migrate();
        for (const chunk of chunks(ctx.jobs, 5000)) await utils.addJobs(chunk.map((i) => ({ identifier: 'noop', payload: { i } })));
      } finally {
        await utils.release();
      }
      const tally = new Tally(ctx.jobs);
      const persisted = await countRows(ctx.databaseUrl, 'SELECT COUNT(*) AS n FROM graphile_worker._private_jobs');
      const runner = await runGraphileWorker({
        connectionString: ctx.databaseUrl,
        concurrency: ctx.workers,
        ...(fast ? { maxPoolSize: ctx.workers + 1 } : {}),
        noHandleSignals: true,
        logger: quietGraphileLogger,
        preset,
        taskList: {
          noop: async (payload) => {
            tally.ran((payload as { i: number }).i);
          },
        },
      });
      try {
        // A completed job is deleted: done = seeded − rows left.
        return await tally.measure(ctx.capSeconds, async () => ctx.jobs - (await persisted()));
      } finally {
        await runner.stop();
        await persisted.end();
      }
    },
  };
}

function pgBoss(batchSize: number | null): PeerSystem {
  const options = batchSize ? { batchSize, pollingIntervalSeconds: 0.5 } : {};
  return {
    id: batchSize ? 'pgboss-batch' : 'pgboss-defaults',
    name: 'pg-boss',
    // Its defaults run at 16 workers × 1 job per 2 s, whatever the machine: 20 s show that.
    capSeconds: batchSize ? undefined : 20,
    mode: batchSize ? `batchSize ${batchSize}, polling every 0.5 s (its minimum)` : 'defaults',
    store: 'postgres',
    settings: (ctx) =>
      batchSize
        ? `${ctx.workers} \`work()\` workers, batchSize ${batchSize}, pollingIntervalSeconds 0.5; pool of 10 (default)`
        : `${ctx.workers} \`work()\` workers, everything else default (batchSize 1, pollingIntervalSeconds 2: "1 job every 2 seconds" per worker), pool of 10`,
    async run(ctx) {
      const boss = new PgBoss({ connectionString: ctx.databaseUrl });
      const errors: unknown[] = [];
      boss.on('error', (err) => errors.push(err));
      await boss.start();
      const persisted = await countRows(ctx.databaseUrl, `SELECT COUNT(*) AS n FROM pgboss.job WHERE name = 'noop' AND state = 'completed'`);
      try {
        await boss.createQueue('noop');
        for (const chunk of chunks(ctx.jobs, 5000)) await boss.insert(chunk.map((i) => ({ name: 'noop', data: { i } })));
        const tally = new Tally(ctx.jobs);
        for (let w = 0; w < ctx.workers; w++) {
          await boss.work<{ i: number }>('noop', options, async (jobs) => {
            for (const job of jobs) tally.ran(job.data.i);
          });
        }
        const result = await tally.measure(ctx.capSeconds, persisted);
        if (errors.length > 0) throw new Error(`pg-boss reported errors: ${String(errors[0])}`);
        return result;
      } finally {
        await boss.stop({ graceful: false, wait: true });
        await persisted.end();
      }
    },
  };
}

const bullmq: PeerSystem = {
  id: 'bullmq-defaults',
  name: 'BullMQ (Redis)',
  mode: 'defaults',
  store: 'redis',
  settings: (ctx) => `one Worker with concurrency ${ctx.workers}, everything else default (completed jobs kept); the open-source package has no batched fast path (batches are BullMQ Pro)`,
  async run(ctx) {
    const prefix = ctx.redisPrefix;
    const connection = ctx.redis;
    const queue = new Queue('noop', { connection, prefix });
    let worker: Worker | undefined;
    try {
      for (const chunk of chunks(ctx.jobs, 1000)) await queue.addBulk(chunk.map((i) => ({ name: 'noop', data: { i } })));
      const tally = new Tally(ctx.jobs);
      worker = new Worker(
        'noop',
        async (job) => {
          tally.ran((job.data as { i: number }).i);
        },
        { connection, prefix, concurrency: ctx.workers },
      );
      worker.on('error', (err) => console.error(`BullMQ worker: ${err.message}`));
      return await tally.measure(ctx.capSeconds, () => queue.getCompletedCount());
    } finally {
      await worker?.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  },
};

/** In the order of the results table; rounds rotate it so no system always runs first. */
export const PEER_SYSTEMS: PeerSystem[] = [athena('postgres'), athena('sqlite'), graphile(false), graphile(true), pgBoss(null), pgBoss(100), bullmq];
