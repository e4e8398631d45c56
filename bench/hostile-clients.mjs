// Measures what hostile clients can do to a running `athena serve`: slow bodies, many event streams,
// paused readers, a revoked key's stream, and the modes of the files a fresh server writes.
// Usage: node bench/hostile-clients.mjs [path/to/athena.mjs] [scenario ...]
//   scenarios: slowbody streams paused revoke modes (default: all). Prints one JSON line per scenario.
// It runs against any build, so the same figures can be taken on an older version of the code.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = resolve(process.argv[2] ?? 'dist/athena.mjs');
const wanted = process.argv.slice(3);
const ADMIN_KEY = 'hostile-bench-admin-key-0123456789abcdef';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function serve(env = {}, { withKey = true } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'athena-hostile-'));
  const proc = spawn(process.execPath, [bin, 'serve'], {
    env: {
      PATH: process.env.PATH,
      API_HOST: '127.0.0.1',
      API_PORT: '0',
      DB_PATH: join(dir, 'data', 'athena.db'),
      LOG_LEVEL: 'warn',
      BACKUP_INTERVAL_HOURS: '0',
      ...(withKey ? { API_KEY: ADMIN_KEY } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A scenario that throws must not leave its server running.
  process.once('exit', () => proc.kill('SIGKILL'));
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no start:\n${out}`)), 30_000);
    proc.stdout.on('data', () => {
      const m = out.match(/serving at (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1].replace('localhost', '127.0.0.1'));
      }
    });
    proc.once('exit', (code) => fail(new Error(`exited ${code}:\n${out}`)));
  });
  const { port } = new URL(url);
  return {
    url,
    port: Number(port),
    dir,
    proc,
    rssMb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))[1]) / 1024,
    async stop() {
      proc.kill('SIGKILL');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function call(server, method, path, body, key = ADMIN_KEY) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(key ? { 'x-api-key': key } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** A raw HTTP/1.1 connection; `closedAt` is set when the server closes it. */
function raw(port, head) {
  const socket = connect(port, '127.0.0.1');
  const c = { socket, openedAt: Date.now(), closedAt: null, data: '' };
  socket.on('data', (d) => (c.data.length < 4096 ? (c.data += d) : null));
  socket.on('close', () => (c.closedAt = Date.now()));
  socket.on('error', () => {});
  socket.write(head);
  return c;
}

async function healthProbe(server) {
  const t = Date.now();
  try {
    const res = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(5000) });
    await res.text();
    return res.ok ? Date.now() - t : null;
  } catch {
    return null;
  }
}

const percentile = (values, p) => (values.length ? [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))] : null);

/** 1,000 unauthenticated connections that send headers announcing 100 kB, then one byte a second. */
async function slowbody() {
  const server = await serve();
  const conns = [];
  for (let i = 0; i < 1000; i++) {
    const key = i % 2 === 0 ? 'x-api-key: wrong-key\r\n' : '';
    conns.push(raw(server.port, `POST /api/tasks HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n${key}\r\n{`));
    if (i % 100 === 99) await sleep(20);
  }
  const trickle = setInterval(() => conns.forEach((c) => c.closedAt === null && c.socket.write(' ')), 1000);
  const latencies = [];
  let failures = 0;
  const started = Date.now();
  while (Date.now() - started < 45_000) {
    const ms = await healthProbe(server);
    if (ms === null) failures++;
    else latencies.push(ms);
    if (conns.every((c) => c.closedAt !== null) && latencies.length >= 10) break;
    await sleep(500);
  }
  clearInterval(trickle);
  const closed = conns.filter((c) => c.closedAt !== null);
  const result = {
    scenario: 'slowbody',
    connections: conns.length,
    closedByServer: closed.length,
    secondsToCloseMax: closed.length ? Math.max(...closed.map((c) => c.closedAt - c.openedAt)) / 1000 : null,
    stillOpenAfterSeconds: closed.length === conns.length ? null : Math.round((Date.now() - started) / 1000),
    healthProbes: latencies.length + failures,
    healthFailures: failures,
    healthP50ms: percentile(latencies, 0.5),
    healthMaxMs: latencies.length ? Math.max(...latencies) : null,
  };
  conns.forEach((c) => c.socket.destroy());
  await server.stop();
  return result;
}

/** Opens `n` event streams with `key`; `read: false` leaves them unread after the headers were sent. */
function openStreams(server, n, key, { read = true } = {}) {
  const conns = [];
  for (let i = 0; i < n; i++) {
    const c = raw(server.port, `GET /api/events HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\nx-api-key: ${key}\r\n\r\n`);
    if (!read) c.socket.once('data', () => c.socket.pause());
    conns.push(c);
  }
  return conns;
}

async function statusOf(conns) {
  await sleep(1500);
  const status = (c) => /^HTTP\/1\.1 (\d{3})/.exec(c.data)?.[1] ?? (c.closedAt ? 'closed' : 'none');
  const counts = {};
  for (const c of conns) counts[status(c)] = (counts[status(c)] ?? 0) + 1;
  return counts;
}

async function timeCreates(server, n) {
  const t = Date.now();
  for (let i = 0; i < n; i++) await call(server, 'POST', '/api/tasks', { description: `create ${i} ${'x'.repeat(500)}` });
  return (Date.now() - t) / 1000;
}

/** 1,000 streams from one reader key; then 200 creates with no streams and with the streams open. */
async function streams(env = {}) {
  const server = await serve(env);
  const reader = (await call(server, 'POST', '/api/keys', { name: 'viewer', role: 'reader' })).json.key;
  const quiet = await timeCreates(server, 200);
  const conns = openStreams(server, 1000, reader);
  const answered = await statusOf(conns);
  const busy = await timeCreates(server, 200);
  conns.forEach((c) => c.socket.destroy());
  await server.stop();
  return { scenario: 'streams', env, answered, creates200NoStreamsS: quiet, creates200WithStreamsS: busy };
}

/** 1,000 streams that stop reading while 2,000 tasks (2 kB each) are created; the server's RSS. */
async function paused(env = {}) {
  const server = await serve(env);
  const reader = (await call(server, 'POST', '/api/keys', { name: 'viewer', role: 'reader' })).json.key;
  await sleep(500);
  const baseline = server.rssMb();
  const conns = openStreams(server, 1000, reader, { read: false });
  const answered = await statusOf(conns);
  const withStreams = server.rssMb();
  let peak = withStreams;
  const sampler = setInterval(() => (peak = Math.max(peak, server.rssMb())), 100);
  const t = Date.now();
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; i < 250; i++) await call(server, 'POST', '/api/tasks', { description: `paused ${w}-${i} ${'y'.repeat(2000)}` });
  });
  await Promise.all(writers);
  const createsS = (Date.now() - t) / 1000;
  await sleep(3000);
  clearInterval(sampler);
  const after = server.rssMb();
  const cut = conns.filter((c) => c.closedAt !== null).length;
  conns.forEach((c) => c.socket.destroy());
  await server.stop();
  return {
    scenario: 'paused',
    env,
    answered,
    rssBaselineMb: Math.round(baseline),
    rssWithStreamsMb: Math.round(withStreams),
    rssPeakMb: Math.round(peak),
    rssAfterMb: Math.round(after),
    streamsCutByServer: cut,
    creates2000S: createsS,
  };
}

/** A stream and a waiting long-poll under an agent key; the key is revoked over REST. */
async function revoke() {
  const server = await serve();
  const created = (await call(server, 'POST', '/api/keys', { name: 'doomed', role: 'agent', instance_id: 'doomed-agent' })).json;
  const [stream] = openStreams(server, 1, created.key);
  await sleep(500);
  const poll = call(server, 'POST', '/api/tasks/claim-next', { instance_id: 'doomed-agent', wait: 8 }, created.key).then(
    (r) => ({ at: Date.now(), status: r.status }),
    () => null,
  );
  await sleep(500);
  const revokedAt = Date.now();
  await call(server, 'DELETE', `/api/keys/${created.id}`);
  const deadline = revokedAt + 10_000;
  while (stream.closedAt === null && Date.now() < deadline) await sleep(20);
  const polled = await Promise.race([poll, sleep(10_000).then(() => null)]);
  await server.stop();
  return {
    scenario: 'revoke',
    streamClosedAfterMs: stream.closedAt === null ? null : stream.closedAt - revokedAt,
    longPollAnsweredAfterMs: polled ? polled.at - revokedAt : null,
    longPollStatus: polled?.status ?? null,
  };
}

/** A fresh data directory (no API_KEY: the key is generated), one write, one backup: file modes. */
async function modes() {
  const previous = process.umask(0o022);
  const server = await serve({}, { withKey: false });
  const key = readFileSync(join(server.dir, 'data', 'api-key'), 'utf8').trim();
  await call(server, 'POST', '/api/tasks', { description: 'one' }, key);
  execFileSync(process.execPath, [bin, 'backup'], { env: { PATH: process.env.PATH, DB_PATH: join(server.dir, 'data', 'athena.db'), LOG_LEVEL: 'warn' } });
  const mode = (p) => (statSync(p).mode & 0o777).toString(8).padStart(4, '0');
  const data = join(server.dir, 'data');
  const files = { 'data/': mode(data) };
  for (const name of readdirSync(data)) files[name] = mode(join(data, name));
  for (const name of readdirSync(join(data, 'backups'))) files[`backups/${name.replace(/\d{8}T\d+Z/, '<time>')}`] = mode(join(data, 'backups', name));
  await server.stop();
  process.umask(previous);
  return { scenario: 'modes', umask: '0022', files };
}

const SCENARIOS = {
  slowbody: () => slowbody(),
  streams: () => streams(),
  'streams-uncapped': () => streams({ EVENT_STREAMS_PER_KEY: '2000', EVENT_STREAMS_PER_ADDRESS: '2000', EVENT_STREAMS_MAX: '2000' }),
  paused: () => paused({ EVENT_STREAMS_PER_KEY: '2000', EVENT_STREAMS_PER_ADDRESS: '2000', EVENT_STREAMS_MAX: '2000' }),
  revoke: () => revoke(),
  modes: () => modes(),
};

for (const name of wanted.length ? wanted : Object.keys(SCENARIOS)) {
  const run = SCENARIOS[name];
  if (!run) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  process.stdout.write(`${JSON.stringify(await run())}\n`);
}
