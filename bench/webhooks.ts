// Claim latency while a webhook receiver is down or hangs, against none configured (`npm run bench -- --only=webhooks`):
// deliveries run off the request path, so claims should not notice. Writes its section of bench/RESULTS.md.
import { createServer, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { driveCycles, fmt, type CycleResult } from './cycles.js';
import { createClient } from './http-client.js';
import { createBenchSchema } from './pg-schema.js';
import { BENCH_KEY, startBenchServer } from './server-process.js';

type Receiver = { url: string; close(): Promise<void> };

/** A port nothing listens on: every delivery is refused at once. */
async function downReceiver(): Promise<Receiver> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return { url: `http://127.0.0.1:${port}/hook`, close: async () => {} };
}

/** Accepts connections and never answers: every delivery waits for its timeout. */
async function hangingReceiver(): Promise<Receiver> {
  const sockets = new Set<Socket>();
  const srv = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

type Case = { name: string; receiver: (() => Promise<Receiver>) | null };

export async function webhookBench(dir: string, options: { agents: number; seconds: number; rounds: number; databaseUrl?: string }): Promise<string[]> {
  const { agents, seconds } = options;
  const cases: Case[] = [
    { name: 'no webhook', receiver: null },
    { name: 'webhook (all events) to a receiver that is down (connection refused)', receiver: downReceiver },
    { name: 'webhook (all events) to a receiver that never answers (2 s timeout)', receiver: hangingReceiver },
  ];
  const rows: string[] = [];
  const loadBefore = loadavg()[0]!;
  // Rounds interleave the cases, so a machine whose load changes during the run weighs on each alike.
  const runs = Array.from({ length: options.rounds }, (_, round) => cases.map((c) => ({ c, round }))).flat();
  for (const [i, { c, round }] of runs.entries()) {
    // On PostgreSQL each run gets a schema of its own, as each SQLite run gets its own file.
    const schema = options.databaseUrl ? await createBenchSchema(options.databaseUrl, 'athena_webhooks') : undefined;
    const server = await startBenchServer(join(dir, `webhooks-${i}`, 'athena.db'), {
      ...(schema ? { DATABASE_URL: schema.url } : {}),
      WEBHOOK_TIMEOUT_SECONDS: '2',
    });
    const receiver = c.receiver ? await c.receiver() : null;
    const client = createClient(server.url, BENCH_KEY, agents * 2);
    try {
      if (receiver) {
        const res = await client.call('POST', '/api/webhooks', { url: receiver.url, events: ['*'] });
        if (res.status !== 201) throw new Error(`webhook not added: ${res.status} ${JSON.stringify(res.json)}`);
      }
      // The server's loop finds the webhook at its next run (every second) and is woken by events from then on.
      await new Promise((r) => setTimeout(r, 1500));
      await seed(client, seconds * 4000);
      const r: CycleResult = await driveCycles([client], { agents, seconds, mode: 'claim-next' });
      const pending = receiver ? await outbox(client) : null;
      rows.push(
        `| ${round + 1} | ${c.name} | ${fmt(r.perSecond)} | ${fmt(r.claimP50, 2)} ms / ${fmt(r.claimP99, 2)} ms | ${pending === null ? '—' : `${pending >= 500 ? '≥ 500' : fmt(pending)} deliveries pending`} |`,
      );
      console.log(rows.at(-1));
    } finally {
      client.close();
      await receiver?.close();
      await server.stop();
      await schema?.drop();
    }
  }
  return [
    `## Claim latency with a failing webhook receiver`,
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${process.platform}`,
    `- ${options.databaseUrl ? 'PostgreSQL' : 'SQLite'}; claim-next → complete, ${agents} agents, ${seconds} s each; every create, claim and completion queues a delivery when the webhook is set (\`npm run bench -- --only=webhooks\`).`,
    `- Load average (1 min) at the start / the end: ${fmt(loadBefore, 1)} / ${fmt(loadavg()[0]!, 1)} (other work on the machine makes absolute numbers vary; compare the rows of one run).`,
    '',
    '| round | receiver | cycles/s | claim latency p50 / p99 | outbox after the run |',
    '|---|---|---|---|---|',
    ...rows,
  ];
}

async function seed(client: ReturnType<typeof createClient>, count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < count) {
        next++;
        const res = await client.call('POST', '/api/tasks', { description: `bench task ${next}` });
        if (res.status !== 201) throw new Error(`create failed: ${res.status}`);
      }
    }),
  );
}

/** Pending deliveries, counted up to 500 (what one page lists). */
async function outbox(client: ReturnType<typeof createClient>): Promise<number> {
  const hooks = await client.call('GET', '/api/webhooks');
  const id = hooks.json.webhooks[0].id;
  const pending = await client.call('GET', `/api/webhooks/${id}/deliveries?status=pending&limit=500`);
  return (pending.json.deliveries as unknown[]).length;
}

/** Replaces (or appends) this section of RESULTS.md. */
export function writeWebhookSection(lines: string[]): string {
  const path = resolve(import.meta.dirname, 'RESULTS.md');
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf('## Claim latency with a failing webhook receiver');
  const before = start >= 0 ? text.slice(0, start) : `${text.trimEnd()}\n\n`;
  writeFileSync(path, `${before}${lines.join('\n')}\n`);
  return path;
}
