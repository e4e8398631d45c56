// Clients that try to hold connections for free, over real sockets: bodies trickled after a refusal,
// bodies that never finish, prototype keys in JSON, and addresses behind a proxy (TRUST_PROXY).
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_KEY, openKeyedApp, type KeyedApp } from '../reliability/helpers/keyed-app.js';
import { backends, sqliteBackend } from '../helpers/stores.js';

type RawConnection = { socket: Socket; response: () => string; closed: Promise<number>; openedAt: number };

/** Sends the head of a request (and the start of its body) on a fresh socket; `closed` resolves with when the server closed it. */
function rawRequest(port: number, head: string): RawConnection {
  const socket = connect(port, '127.0.0.1');
  let response = '';
  socket.on('data', (d) => (response += d.toString()));
  socket.on('error', () => {});
  const openedAt = Date.now();
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  socket.write(head);
  return { socket, response: () => response, closed, openedAt };
}

const post = (path: string, headers: Record<string, string>, length = 100_000) =>
  `POST ${path} HTTP/1.1\r\nhost: test\r\ncontent-length: ${length}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n{"desc`;

/** Resolves with the close time, or rejects when the socket is still open after `ms`. */
function closedWithin(c: RawConnection, ms: number): Promise<number> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still open after ${ms} ms; got: ${c.response().slice(0, 200)}`)), ms)));
  return Promise.race([c.closed, late]).finally(() => clearTimeout(timer));
}

const apps: KeyedApp[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const a of apps.splice(0)) await a.close();
});

async function listening(options: Parameters<typeof openKeyedApp>[1] = {}): Promise<KeyedApp & { port: number }> {
  const t = await openKeyedApp(sqliteBackend, options);
  apps.push(t);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const address = t.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return Object.assign(t, { port: address.port });
}

describe('refused requests with a body still coming', () => {
  it('401, 403, 413, 415 and 429 answer at once and close the connection instead of reading the rest', async () => {
    const t = await listening({ bodyLimitBytes: 64 * 1024 });
    const reader = await t.issue('reader', 'viewer');
    const cases: Array<[number, string]> = [
      [401, post('/api/tasks', { 'content-type': 'application/json' })],
      [401, post('/api/tasks', { 'content-type': 'application/json', 'x-api-key': 'wrong' })],
      [403, post('/api/tasks', { 'content-type': 'application/json', 'x-api-key': reader })],
      [413, post('/api/tasks', { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY }, 10_000_000)],
      [415, post('/api/tasks', { 'content-type': 'text/plain', 'x-api-key': ADMIN_KEY })],
    ];
    for (const [status, head] of cases) {
      const c = rawRequest(t.port, head);
      sockets.push(c.socket);
      // Keep trickling: a server that read on would never close.
      const trickle = setInterval(() => c.socket.write(' '), 50);
      await closedWithin(c, 5000).finally(() => clearInterval(trickle));
      expect(c.response(), head.split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      expect(c.response().toLowerCase()).toContain('connection: close');
    }
    // A blocked address (20 wrong keys) is answered 429 the same way.
    for (let i = 0; i < 20; i++) await t.call(`guess-${i}`, 'GET', '/api/stats', undefined, { from: '127.0.0.1' });
    const limited = rawRequest(t.port, post('/api/tasks', { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY }));
    sockets.push(limited.socket);
    await closedWithin(limited, 5000);
    expect(limited.response()).toMatch(/^HTTP\/1.1 429 /);
  });

  it('a request whose whole body came keeps its connection (keep-alive) after a 401', async () => {
    const t = await listening();
    const body = '{"description":"x"}';
    const c = rawRequest(t.port, `POST /api/tasks HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    sockets.push(c.socket);
    await expect.poll(() => c.response()).toMatch(/^HTTP\/1.1 401 /);
    c.socket.write('GET /health HTTP/1.1\r\nhost: test\r\n\r\n');
    await expect.poll(() => c.response()).toMatch(/"service":"athena-bot"/);
  });

  it('50 unauthenticated slow bodies: each closed at once, /health answers meanwhile', async () => {
    const t = await listening();
    const conns = Array.from({ length: 50 }, (_, i) => rawRequest(t.port, post('/api/tasks', { 'content-type': 'application/json', ...(i % 2 ? { 'x-api-key': 'wrong' } : {}) })));
    sockets.push(...conns.map((c) => c.socket));
    const trickle = setInterval(() => conns.forEach((c) => c.socket.writable && c.socket.write(' ')), 100);
    try {
      const health = await fetch(`http://127.0.0.1:${t.port}/health`);
      expect(health.status).toBe(200);
      const closedAt = await Promise.all(conns.map((c) => closedWithin(c, 10_000)));
      expect(closedAt).toHaveLength(50);
    } finally {
      clearInterval(trickle);
    }
  });
});

describe('bodies that never finish', () => {
  it('even with a valid key, a body not complete within REQUEST_TIMEOUT_SECONDS loses its connection', async () => {
    const t = await listening({ config: { REQUEST_TIMEOUT_SECONDS: 1 } });
    const c = rawRequest(t.port, post('/api/tasks', { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY }));
    sockets.push(c.socket);
    const trickle = setInterval(() => c.socket.writable && c.socket.write(' '), 100);
    try {
      const closedAt = await closedWithin(c, 10_000);
      // Node checks the deadline every quarter of it: closed after 1 s, well before 2 s.
      expect(closedAt - c.openedAt).toBeGreaterThanOrEqual(900);
      expect(closedAt - c.openedAt).toBeLessThan(5000);
    } finally {
      clearInterval(trickle);
    }
    expect(await t.queue.stats()).toMatchObject({ total: 0 });
  });
});

describe.each(backends)('JSON bodies on $name', (backend) => {
  it('refuse __proto__ and constructor.prototype keys, as fastify does, and create nothing', async () => {
    const t = await openKeyedApp(backend);
    apps.push(t);
    for (const body of ['{"description":"x","__proto__":{"admin":true}}', '{"description":"x","constructor":{"prototype":{"admin":true}}}', '{"description":"x","labels":[{"__proto__":{}}]}']) {
      const res = await t.call(ADMIN_KEY, 'POST', '/api/tasks', body);
      expect(res.status, body).toBe(400);
      expect(res.json).toMatchObject({ code: 'INVALID_JSON' });
    }
    expect((await t.call(ADMIN_KEY, 'POST', '/api/tasks', '{"description":"a constructor is fine","notes":"constructor"}')).status).toBe(201);
    expect((await t.queue.stats()).total).toBe(1);
  });
});

describe('the wrong-key limit behind a proxy', () => {
  const guess = (t: KeyedApp, key: string, forwardedFor: string) =>
    t.call(key, 'GET', '/api/stats', undefined, { from: '127.0.0.1', headers: { 'x-forwarded-for': forwardedFor } });

  it('without TRUST_PROXY, X-Forwarded-For is ignored: the proxy\'s address is the one limited', async () => {
    const t = await openKeyedApp(sqliteBackend);
    apps.push(t);
    for (let i = 0; i < 20; i++) await guess(t, `wrong-${i}`, `198.51.100.${i}`);
    expect((await guess(t, ADMIN_KEY, '198.51.100.200')).status).toBe(429);
  });

  it('with TRUST_PROXY naming the proxy, each client behind it is limited on its own', async () => {
    const t = await openKeyedApp(sqliteBackend, { config: { TRUST_PROXY: '127.0.0.1' } });
    apps.push(t);
    for (let i = 0; i < 20; i++) expect((await guess(t, `wrong-${i}`, '198.51.100.7')).status).toBe(401);
    expect((await guess(t, ADMIN_KEY, '198.51.100.7')).status).toBe(429);
    expect((await guess(t, ADMIN_KEY, '198.51.100.8')).status).toBe(200);
  });
});
