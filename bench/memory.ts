// `npm run bench -- --only=memory`: the server's resident memory at idle, with 1,000,000 tasks stored, and through a
// mixed load (long-polling agents, event streams, creates). Reads VmRSS of the server process from /proc.
import { readFileSync, writeFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fmt } from './cycles.js';
import { createClient } from './http-client.js';
import { createBenchSchema, type BenchSchema } from './pg-schema.js';
import { BENCH_KEY, startBenchServer, type BenchServer } from './server-process.js';

export type MemoryOptions = {
  /** Tasks stored before the idle-with-tasks reading. */
  tasks: number;
  /** Length of the mixed load, in seconds (600 by default). */
  loadSeconds: number;
  agents: number;
  streams: number;
  /** Tasks created per second during the mixed load. */
  createsPerSecond: number;
  sampleEverySeconds: number;
  /** Fresh starts whose idle RSS is read (the median is reported). */
  idleStarts: number;
  /** NODE_OPTIONS for the server (V8 flags to compare), none by default. */
  nodeOptions?: string;
  /** PostgreSQL to serve from (each server on a schema of its own), instead of a SQLite file. */
  databaseUrl?: string;
};

type Rss = { total: number; anon: number; file: number };

/** Resident memory of a process in MiB: all of it, its anonymous part (heap, stacks) and mapped files (node itself). */
export function readRss(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'))?.[1] ?? NaN);
  return { total: kib('VmRSS') / 1024, anon: kib('RssAnon') / 1024, file: kib('RssFile') / 1024 };
}

const mb = (rss: Rss) => `${fmt(rss.total, 1)} MB (anon ${fmt(rss.anon, 1)}, file ${fmt(rss.file, 1)})`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An idle reading: taken once nothing has been asked of the server for IDLE_AFTER_MS (its checkpoint worker stops after
 * 30 s without writes) and RSS then moves less than 0.5 MB over 3 s (at most 30 s more); returns the last reading.
 */
const IDLE_AFTER_MS = 35_000;
/** The second idle reading of each start, this long after it. */
const LATE_IDLE_MS = 90_000;

async function settled(pid: number): Promise<Rss> {
  await sleep(IDLE_AFTER_MS);
  const readings: Rss[] = [];
  const deadline = Date.now() + 30_000;
  for (;;) {
    readings.push(readRss(pid));
    const window = readings.slice(-7);
    if (window.length === 7 && Math.max(...window.map((r) => r.total)) - Math.min(...window.map((r) => r.total)) < 0.5) break;
    if (Date.now() > deadline) break;
    await sleep(500);
  }
  return readings.at(-1)!;
}

/** One real task through the API, completed (so every column holds what the server writes); the server is stopped after. */
async function seedTemplate(server: BenchServer): Promise<number> {
  const client = createClient(server.url, BENCH_KEY, 4);
  const created = await client.call('POST', '/api/tasks', { description: 'seed template' });
  const claimed = await client.call('POST', '/api/tasks/claim-next', { instance_id: 'seed' });
  const task = claimed.json?.task;
  if (created.status !== 201 || !task) throw new Error(`seed template failed: ${created.status} ${JSON.stringify(claimed.json)}`);
  await client.call('POST', `/api/tasks/${task.id}/complete`, { lease_token: task.lease_token, result: 'seeded' });
  client.close();
  await server.stop();
  return Number(task.id);
}

/** The SELECT list copying the template row's columns, each seeded task with a description of its own (counter `n`). */
const copiedValues = (columns: string[]) => columns.map((c) => (c === 'description' ? `'seeded task ' || n` : c === 'idempotency_key' ? 'NULL' : c));

/**
 * Stores `count` finished tasks in the stopped server's store at once: a template task goes through the API, then
 * one INSERT … SELECT copies its row from a counter in a single statement. Seconds, where creating them over HTTP
 * would take minutes.
 */
async function seedTasks(server: BenchServer, store: { sqlitePath: string } | { schema: BenchSchema }, count: number): Promise<void> {
  const template = await seedTemplate(server);
  if ('schema' in store) {
    const { admin, name } = store.schema;
    const columns = (await admin.query<{ name: string }>(
      `SELECT column_name AS name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'tasks' AND column_name <> 'id' ORDER BY ordinal_position`,
      [name],
    )).rows.map((r) => r.name);
    await admin.query(`INSERT INTO ${name}.tasks (${columns.join(', ')}) SELECT ${copiedValues(columns).join(', ')}
      FROM generate_series(1, ${count - 1}) AS counter(n), (SELECT * FROM ${name}.tasks WHERE id = ${template}) AS t`);
    await admin.query(`ANALYZE ${name}.tasks`);
    return;
  }
  const db = new Database(store.sqlitePath);
  const columns = (db.prepare('PRAGMA table_info(tasks)').all() as Array<{ name: string }>).map((c) => c.name).filter((c) => c !== 'id');
  db.exec(`WITH RECURSIVE counter(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM counter WHERE n < ${count - 1})
    INSERT INTO tasks (${columns.join(', ')}) SELECT ${copiedValues(columns).join(', ')} FROM counter, (SELECT * FROM tasks WHERE id = ${template})`);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** An open GET /api/events stream; counts the events it reads. */
function openEventStream(url: string, onEvent: () => void): ClientRequest {
  const u = new URL('/api/events', url);
  const req = request({ host: u.hostname, port: u.port, path: u.pathname, headers: { 'x-api-key': BENCH_KEY, accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) throw new Error(`event stream refused: ${res.statusCode}`);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.startsWith('event: task')) onEvent();
    });
    res.on('error', () => {});
  });
  req.on('error', () => {});
  req.end();
  return req;
}

type LoadResult = { samples: Array<{ at: number; rss: Rss }>; created: number; completed: number; events: number; errors: number };

/**
 * `agents` agents long-poll claim-next (wait 20 s) and complete what they get, `streams` event streams read
 * every event, and a submitter creates `createsPerSecond` tasks a second (with a list and the stats every 10 s, as a
 * dashboard would) for `seconds`; RSS is read every `sampleEverySeconds`. Everything stops on its own.
 */
export async function mixedLoad(server: BenchServer, o: MemoryOptions): Promise<LoadResult> {
  const client = createClient(server.url, BENCH_KEY, o.agents + 16);
  const result: LoadResult = { samples: [], created: 0, completed: 0, events: 0, errors: 0 };
  const streams = Array.from({ length: o.streams }, () => openEventStream(server.url, () => result.events++));
  const started = Date.now();
  const end = started + o.loadSeconds * 1000;
  const agents = Array.from({ length: o.agents }, async (_, i) => {
    while (Date.now() < end) {
      const wait = Math.max(1, Math.min(20, Math.floor((end - Date.now()) / 1000)));
      const res = await client.call('POST', '/api/tasks/claim-next', { instance_id: `mem-${i}`, wait });
      const task = res.json?.task;
      if (res.status !== 200) result.errors++;
      if (!task) continue;
      const done = await client.call('POST', `/api/tasks/${task.id}/complete`, { lease_token: task.lease_token, result: `done by mem-${i}` });
      if (done.status === 200) result.completed++;
      else result.errors++;
    }
  });
  const submitter = (async () => {
    let n = 0;
    while (Date.now() < end) {
      const due = started + (n * 1000) / o.createsPerSecond;
      if (due > Date.now()) await sleep(due - Date.now());
      n++;
      const res = await client.call('POST', '/api/tasks', { description: `mixed load ${n}`, priority: (['high', 'medium', 'low'] as const)[n % 3] });
      if (res.status === 201) result.created++;
      else result.errors++;
      if (n % (o.createsPerSecond * 10) === 0) {
        await client.call('GET', '/api/tasks?status=pending&limit=50');
        await client.call('GET', '/api/stats');
      }
    }
  })();
  const sampler = (async () => {
    while (Date.now() < end) {
      result.samples.push({ at: (Date.now() - started) / 1000, rss: readRss(server.pid) });
      await sleep(Math.min(o.sampleEverySeconds * 1000, Math.max(0, end - Date.now())));
    }
    result.samples.push({ at: (Date.now() - started) / 1000, rss: readRss(server.pid) });
  })();
  await Promise.all([...agents, submitter, sampler]);
  for (const stream of streams) stream.destroy();
  client.close();
  return result;
}

/** Least-squares slope of RSS against time, in MB per minute. */
function slopePerMinute(samples: Array<{ at: number; rss: Rss }>): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((s, p) => s + p.at, 0) / n;
  const my = samples.reduce((s, p) => s + p.rss.total, 0) / n;
  const num = samples.reduce((s, p) => s + (p.at - mx) * (p.rss.total - my), 0);
  const den = samples.reduce((s, p) => s + (p.at - mx) ** 2, 0);
  return (num / den) * 60;
}

/** Every reading, printed and returned as the lines of RESULTS.md's Memory section. */
export async function memoryBench(dir: string, o: MemoryOptions, log: (line: string) => void): Promise<void> {
  const dbPath = join(dir, 'memory.db');
  const env = { EVENT_STREAMS_PER_KEY: String(Math.max(20, o.streams)), ...(o.nodeOptions ? { NODE_OPTIONS: o.nodeOptions } : {}) };
  const schemas: BenchSchema[] = [];
  /** A server on a store of its own: a SQLite file in `dir`, or a fresh schema of the PostgreSQL. */
  const start = async (file: string, schema?: BenchSchema): Promise<BenchServer> =>
    startBenchServer(join(dir, file), schema ? { ...env, DATABASE_URL: schema.url } : env);
  const newSchema = async (): Promise<BenchSchema | undefined> => {
    if (!o.databaseUrl) return undefined;
    const schema = await createBenchSchema(o.databaseUrl, 'athena_memory');
    schemas.push(schema);
    return schema;
  };
  try {
    await measureMemory(o, log, start, newSchema, dbPath);
  } finally {
    for (const schema of schemas) await schema.drop().catch(() => {});
  }
}

async function measureMemory(
  o: MemoryOptions,
  log: (line: string) => void,
  start: (file: string, schema?: BenchSchema) => Promise<BenchServer>,
  newSchema: () => Promise<BenchSchema | undefined>,
  dbPath: string,
): Promise<void> {
  // When V8 gives back the young generation an idle server grew at start-up varies from start to start: several
  // fresh starts, each on its own empty store, and their median.
  // Each start is read twice: settled after 35 s, and at 90 s, by when V8 has usually given back the young
  // generation (its memory reducer runs once the server has been idle for a while).
  const idles: Rss[] = [];
  const lateIdles: Rss[] = [];
  const readIdle = async (pid: number) => {
    const startedAt = Date.now();
    idles.push(await settled(pid));
    await sleep(Math.max(0, startedAt + LATE_IDLE_MS - Date.now()));
    lateIdles.push(readRss(pid));
  };
  for (let run = 1; run < o.idleStarts; run++) {
    const fresh = await start(`idle-${run}.db`, await newSchema());
    await readIdle(fresh.pid);
    await fresh.stop();
  }
  const schema = await newSchema();
  let server = await start('memory.db', schema);
  await readIdle(server.pid);
  const medianOf = (readings: Rss[]) => [...readings].sort((a, b) => a.total - b.total)[Math.floor((readings.length - 1) / 2)]!;
  const startsOf = (readings: Rss[]) => `median of ${readings.length} starts${readings.length > 1 ? `: ${readings.map((r) => fmt(r.total, 1)).join(', ')} MB` : ''}`;
  log(`| idle, empty store (35 s after start-up; ${startsOf(idles)}) | ${mb(medianOf(idles))} | ≤ 80 MB |`);
  log(`| idle, empty store (90 s after start-up, the same starts; ${startsOf(lateIdles)}) | ${mb(medianOf(lateIdles))} | ≤ 80 MB |`);

  const t0 = performance.now();
  await seedTasks(server, schema ? { schema } : { sqlitePath: dbPath }, o.tasks);
  const seedSeconds = (performance.now() - t0) / 1000;
  server = await start('memory.db', schema);
  try {
    const stored = await settled(server.pid);
    log(`| idle, ${fmt(o.tasks)} tasks stored (seeded in ${fmt(seedSeconds, 1)} s, then a fresh start) | ${mb(stored)} | ≤ 150 MB |`);
    const client = createClient(server.url, BENCH_KEY, 4);
    for (const path of ['/api/stats', '/api/tasks?status=all&limit=100', '/api/tasks?status=completed&limit=100', '/api/tasks?status=all&q=seeded&limit=50', '/api/stats']) {
      const res = await client.call('GET', path);
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.json)}`);
    }
    client.close();
    const afterReads = await settled(server.pid);
    log(`| the same after stats and list calls | ${mb(afterReads)} | ≤ 150 MB |`);

    const load = await mixedLoad(server, o);
    const totals = load.samples.map((s) => s.rss.total);
    const peak = Math.max(...totals);
    const start = load.samples[0]!.rss;
    const endRss = load.samples.at(-1)!.rss;
    const secondHalf = load.samples.filter((s) => s.at >= o.loadSeconds / 2);
    log(
      `| mixed load, ${fmt(o.loadSeconds / 60, 1)} min: ${o.agents} long-polling agents, ${o.streams} event streams, ${fmt(o.createsPerSecond)} creates/s ` +
        `(${fmt(load.created)} created, ${fmt(load.completed)} completed, ${fmt(load.events)} events read, ${load.errors} errors) | ` +
        `start ${fmt(start.total, 1)} MB, peak ${fmt(peak, 1)} MB, end ${fmt(endRss.total, 1)} MB; trend over the second half ${fmt(slopePerMinute(secondHalf), 2)} MB/min | no growth |`,
    );
    const afterLoad = await settled(server.pid);
    log(`| idle again after the load | ${mb(afterLoad)} | |`);
    log('');
    log(`RSS every ${o.sampleEverySeconds} s during the load (MB): ${totals.map((t) => fmt(t, 0)).join(' ')}`);
  } finally {
    await server.stop();
  }
}

/** Replaces the section starting at `heading` (up to the next `## ` heading) in the file at `path`, or appends it. */
export function writeSection(path: string, heading: string, lines: string[]): string {
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(`${heading}\n`);
  const section = `${lines.join('\n')}\n`;
  if (start < 0) {
    writeFileSync(path, `${text.trimEnd()}\n\n${section}`);
    return path;
  }
  const next = text.indexOf('\n## ', start + heading.length);
  writeFileSync(path, `${text.slice(0, start)}${section}${next < 0 ? '' : text.slice(next)}`);
  return path;
}
