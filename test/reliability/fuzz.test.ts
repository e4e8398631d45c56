// Fuzzing every route in-process (app.inject): generated methods, paths, ids, query strings, headers, keys,
// content types, bodies (structured, raw, oversized, deeply nested, unicode, null bytes). The server must
// answer only 2xx or a 4xx JSON error with a code, never a 5xx, and a refused request must leave the
// database exactly as it was.
import fc from 'fast-check';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { backends, testClock } from '../helpers/stores.js';
import { ADMIN_KEY, openKeyedApp, type KeyedApp } from './helpers/keyed-app.js';
import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino from 'pino';
import { bodyArb, headerArb, idArb, methodArb, queryArb, rawPayloadArb, routeBodyArb, type FuzzRequest, type RouteShape } from './helpers/fuzz-arbitraries.js';

const BODY_LIMIT = 64 * 1024;
/** Cases per backend and property; PostgreSQL round trips are slower, so it gets fewer. */
const RUNS = { sqlite: Number(process.env.ATHENA_FUZZ_RUNS ?? 20_000), postgres: Math.round(Number(process.env.ATHENA_FUZZ_RUNS ?? 20_000) / 5) };
/** A fresh database every this many cases keeps snapshots small and fast. */
const CHUNK = 250;

type Keys = { admin: string; agent: string; reader: string };

/**
 * Everything a request could change: tasks, logs, instances, cursors (via export) and the keys. A key's
 * last_used_at is left out: presenting a valid key is a use of it even when the request is then refused.
 */
async function snapshot(t: KeyedApp): Promise<string> {
  const data = await t.queue.exportAll();
  const cursors = await t.db.all('SELECT name, position FROM cursors ORDER BY name');
  const keys = (await t.keys.list()).map((k) => ({ ...k, lastUsedAt: null }));
  return JSON.stringify({ ...data, exportedAt: null, cursors, keys });
}

/** A handful of tasks in every state, so ids 1..9 hit real rows; returns the lease tokens handed out. */
async function seed(t: KeyedApp): Promise<string[]> {
  const q = t.queue;
  const ids: number[] = [];
  for (let i = 0; i < 8; i++) ids.push((await q.create({ description: `seed ${i}`, labels: i % 3 === 0 ? ['gpu'] : [], idempotencyKey: i === 0 ? 'seed-key' : null })).task.id);
  const claimed = await q.claim(ids[1]!, { instanceId: 'fuzz-agent' });
  await q.complete(claimed.id, { leaseToken: claimed.leaseToken, notes: 'done' });
  const asking = await q.claim(ids[2]!, { instanceId: 'fuzz-agent' });
  await q.askForInput(asking.id, { leaseToken: asking.leaseToken, question: 'which?' });
  const failing = await q.claim(ids[3]!, { instanceId: 'other-agent' });
  await q.fail(failing.id, { leaseToken: failing.leaseToken, error: 'boom' });
  await q.cancel(ids[4]!, { user: 'fuzz' });
  const held = await q.claim(ids[5]!, { instanceId: 'fuzz-agent-2' });
  const mine = await q.claim(ids[6]!, { instanceId: 'fuzz-agent' });
  await q.create({ description: 'depends', dependsOn: [ids[3]!] });
  return [claimed.leaseToken, asking.leaseToken, failing.leaseToken, held.leaseToken, mine.leaseToken];
}

async function documentedRoutes(t: KeyedApp): Promise<RouteShape[]> {
  type Op = { requestBody?: { content?: Record<string, { schema?: { properties?: object; required?: string[] } }> }; parameters?: Array<{ in: string; name: string }> };
  const spec = (await t.app.openApiDocument()) as { paths: Record<string, Record<string, Op>> };
  const routes = Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([m, op]): RouteShape => {
      const schema = op.requestBody?.content?.['application/json']?.schema;
      return {
        method: m.toUpperCase(),
        path,
        fields: Object.keys(schema?.properties ?? {}),
        required: schema?.required ?? [],
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      };
    }),
  );
  // Hidden routes: the dashboard page and files, the docs.
  const bare = (method: string, path: string): RouteShape => ({ method, path, fields: [], required: [], query: [] });
  return [...routes, bare('GET', '/'), bare('GET', '/assets/{id}'), bare('GET', '/docs/json'), bare('GET', '/metrics')];
}

/** A logger that keeps every error-level line, so failures behind a 200 (inner MCP calls) are seen too. */
function errorCollector(errors: string[]) {
  const sink = new Writable({
    write(chunk, _enc, done) {
      const line = JSON.parse(String(chunk)) as { level: number; msg?: string; err?: { message?: string } };
      if (line.level >= 50) errors.push(`${line.msg}: ${line.err?.message ?? ''}`);
      done();
    },
  });
  return pino({ level: 'error' }, sink) as never;
}

const STACK_TRACE = /\bat .+:\d+:\d+|node_modules|\.ts:\d+/;

/** The oracle: what any answer to any request must look like. Returns a description of the violation, or null. */
function violation(req: FuzzRequest, res: { statusCode: number; headers: Record<string, unknown>; body: string }): string | null {
  if (res.statusCode >= 500) return `server error ${res.statusCode}: ${res.body.slice(0, 300)}`;
  if (res.statusCode < 400 || req.method === 'HEAD') return null;
  let json: any;
  try {
    json = JSON.parse(res.body);
  } catch {
    return `${res.statusCode} without a JSON body: ${res.body.slice(0, 200)}`;
  }
  if (STACK_TRACE.test(res.body)) return `error body leaks a stack trace: ${res.body.slice(0, 300)}`;
  // MCP speaks JSON-RPC: its errors are {"jsonrpc":"2.0","error":{"code":<number>,"message"}}.
  const jsonRpc = req.url.startsWith('/mcp') && json?.jsonrpc === '2.0' && typeof json?.error?.code === 'number';
  if (!jsonRpc && (typeof json?.code !== 'string' || !/^[A-Z_]+$/.test(json.code) || typeof json?.error !== 'string')) {
    return `${res.statusCode} without {error, code}: ${res.body.slice(0, 200)}`;
  }
  if (!String(res.headers['content-type'] ?? '').startsWith('application/json')) return `${res.statusCode} error with content-type ${res.headers['content-type']}`;
  return null;
}

function requestArb(routes: RouteShape[], keys: Keys, leaseTokens: string[]): fc.Arbitrary<FuzzRequest> {
  const keyArb = fc.oneof(
    { weight: 8, arbitrary: fc.constant(keys.admin) },
    { weight: 2, arbitrary: fc.constant(keys.agent) },
    { weight: 2, arbitrary: fc.constant(keys.reader) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x21-\x7e]/g, '')) },
  );
  const one = (route: RouteShape) =>
    fc.record({
      route: fc.constant(route),
      id: idArb,
      suffix: fc.oneof({ weight: 12, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((j) => `/${encodeURIComponent(j)}`) }),
      // Another method than the route's on one request in nine.
      otherMethod: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: methodArb }),
      query: route.query.length > 0 ? fc.oneof(queryArb, fc.array(fc.tuple(fc.constantFrom(...route.query), fc.string({ maxLength: 25 })), { minLength: 1, maxLength: 3 }).map((pairs) => `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`)) : queryArb,
      key: keyArb,
      bearer: fc.boolean(),
      // Odd headers on one request in four: the rest reach the handlers.
      headers: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: headerArb }),
      body: fc.oneof(
        { weight: 7, arbitrary: routeBodyArb(route, leaseTokens).map((b) => ({ kind: 'json' as const, value: b as unknown })) },
        { weight: 2, arbitrary: bodyArb.map((b) => ({ kind: 'json' as const, value: b })) },
        { weight: 1, arbitrary: rawPayloadArb.map((p) => ({ kind: 'raw' as const, value: p })) },
      ),
    });
  // Routes that take a body have more to get wrong: they get more of the cases.
  const requests = fc.oneof(...routes.map((r) => ({ weight: r.fields.length > 0 ? 3 : 1, arbitrary: one(r) })));
  const junkPaths = fc.record({ path: fc.webPath(), key: keyArb, method: methodArb }).map(({ path, key, method }): FuzzRequest => ({ method, url: path || '/', headers: key ? { 'x-api-key': key } : {} }));
  return fc.oneof(
    { weight: 20, arbitrary: requests.map(({ route, id, suffix, otherMethod, query, key, bearer, headers, body }): FuzzRequest => {
      const method = otherMethod ?? route.method;
      const auth: Record<string, string> = key === null ? {} : bearer ? { authorization: `Bearer ${key}` } : { 'x-api-key': key };
      const payload = body.kind === 'json' ? (body.value === undefined ? undefined : JSON.stringify(body.value)) : body.value;
      const sendsBody = payload !== undefined && method !== 'GET' && method !== 'HEAD';
      const mcp: Record<string, string> = route.path === '/mcp' ? { accept: 'application/json, text/event-stream' } : {};
      return {
        method,
        url: `${route.path.replace(/\{[^}]+\}/g, id)}${suffix}${query}`,
        headers: { ...(sendsBody ? { 'content-type': 'application/json' } : {}), ...mcp, ...auth, ...headers },
        payload: sendsBody ? payload : undefined,
      };
    }) },
    { weight: 1, arbitrary: junkPaths },
  );
}

/** Longer than any request may take here (long-polls wait at most 50 ms): past it, the request hung. */
const HUNG_MS = 10_000;

async function send(t: KeyedApp, req: FuzzRequest) {
  // A well-formed request to the event stream opens a stream that never ends: stop it after a moment.
  const stream = req.url.startsWith('/api/events');
  const signal = AbortSignal.timeout(stream ? 300 : HUNG_MS);
  try {
    return await t.app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, payload: req.payload, signal });
  } catch (err) {
    const aborted = (err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError';
    if (aborted && stream) return null;
    if (aborted) throw new Error(`${req.method} ${req.url.slice(0, 200)} got no answer within ${HUNG_MS} ms`);
    throw err;
  }
}

describe.each(backends)('fuzzing the API on $name', (backend) => {
  const counted = { cases: 0, refused: 0, accepted: 0, streams: 0 };
  const histogram = new Map<string, number>();
  afterAll(() => {
    if (process.env.ATHENA_FUZZ_DEBUG) writeFileSync(`${process.env.ATHENA_FUZZ_DEBUG}.${backend.name}`, [...histogram].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n}\t${k.replace(/\n/g, ' ')}`).join('\n'));
    console.log(`[fuzz ${backend.name}] ${counted.cases} cases: ${counted.accepted} accepted, ${counted.refused} refused with 4xx, ${counted.streams} event streams opened; 0 server errors`);
  });

  it('every route: only 2xx or 4xx JSON with a code, and refused requests change nothing', async () => {
    // A timer past 24.8 days fires at once and spins (found by this test): Node warns, and so do we.
    const overflow: string[] = [];
    const onWarning = (w: Error) => {
      if (w.name === 'TimeoutOverflowWarning') overflow.push(w.message);
    };
    process.on('warning', onWarning);
    onTestFinished(() => {
      process.off('warning', onWarning);
    });
    const seedBase = Number(process.env.ATHENA_RELIABILITY_SEED ?? Date.now() % 1_000_000);
    const total = RUNS[backend.name];
    for (let chunk = 0; chunk * CHUNK < total; chunk++) {
      const errors: string[] = [];
      const t = await openKeyedApp(backend, { clock: testClock(), bodyLimitBytes: BODY_LIMIT, longPollMaxSeconds: 0.05 as never, queue: { wipLimit: 0 }, logger: errorCollector(errors) });
      // Listening too: MCP tools call the REST routes over loopback.
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      try {
        const leaseTokens = await seed(t);
        const keys: Keys = { admin: ADMIN_KEY, agent: await t.issue('agent', 'fuzz agent', 'fuzz-agent'), reader: await t.issue('reader', 'fuzz reader') };
        let current = await snapshot(t);
        const routes = await documentedRoutes(t);
        expect(routes.length).toBeGreaterThan(25);
        await fc.assert(
          fc.asyncProperty(requestArb(routes, keys, leaseTokens), async (req) => {
            counted.cases++;
            const res = await send(t, req);
            if (res === null) {
              counted.streams++;
              return;
            }
            if (overflow.length > 0) throw new Error(`${req.method} ${req.url.slice(0, 200)} -> ${overflow[0]}`);
            // An error logged by the server (a failed inner MCP call, a crashed listener) counts as a 5xx.
            if (errors.length > 0) throw new Error(`${req.method} ${req.url.slice(0, 200)} -> server logged: ${errors.splice(0).join(' | ').slice(0, 500)}`);
            if (process.env.ATHENA_FUZZ_DEBUG) {
              const k = `${req.method} ${req.url.split('?')[0]!.replace(/\/\d+/g, '/N').slice(0, 40)} ${res.statusCode} ${res.statusCode >= 400 ? JSON.stringify(JSON.parse(res.body || "{}").error ?? "").slice(0, 80) : ""}`;
              histogram.set(k, (histogram.get(k) ?? 0) + 1);
            }
            const problem = violation(req, res);
            if (problem) throw new Error(`${req.method} ${req.url.slice(0, 200)} -> ${problem}`);
            if (res.statusCode >= 400) {
              counted.refused++;
              const after = await snapshot(t);
              if (after !== current) throw new Error(`${req.method} ${req.url.slice(0, 200)} was refused with ${res.statusCode} but changed the database`);
            } else {
              counted.accepted++;
              current = await snapshot(t);
            }
          }),
          { numRuns: Math.min(CHUNK, total - chunk * CHUNK), seed: seedBase + chunk, endOnFailure: true, verbose: 1 },
        );
      } finally {
        await t.close();
      }
    }
    expect(counted.cases).toBeGreaterThanOrEqual(total);
    expect(counted.refused).toBeGreaterThan(total / 4);
    expect(counted.accepted).toBeGreaterThan(total / 50);
  });

  it('oversized bodies, deep nesting and raw bytes on every write route answer 4xx JSON', async () => {
    const t = await openKeyedApp(backend, { clock: testClock(), bodyLimitBytes: BODY_LIMIT, longPollMaxSeconds: 0.05 as never, queue: { wipLimit: 0 } });
    try {
      await seed(t);
      const writes = (await documentedRoutes(t)).filter((r) => r.method !== 'GET' && !r.path.startsWith('/mcp'));
      const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
      const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
      // Bodies no route may accept: too large, too deep, not JSON, not UTF-8, two documents.
      const mustRefuse = [
        JSON.stringify({ description: 'x'.repeat(BODY_LIMIT + 1) }),
        JSON.stringify({ description: 'big', notes: 'é'.repeat(BODY_LIMIT) }),
        deep(100_000),
        '\u0000'.repeat(100),
        Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22]).toString('latin1'),
        '{"description":"x"}{"description":"y"}',
      ];
      // Bodies a route may accept or refuse; either way the answer must be well-formed.
      const either = [
        `{"description":"deep","lease_token":"t","instance_id":"fuzz-agent","result":${deep(3_000)}}`,
        `{"description":"deep","lease_token":"t","instance_id":"fuzz-agent","result":${deepObject(20_000)}}`,
        `{"description":"deep","depends_on":${deep(50)}}`,
        '\ufeff{"description":"bom"}',
        `{"description":"${'\\ud800'.repeat(10)}"}`,
        `{"description":"many keys",${Array.from({ length: 5000 }, (_, i) => `"k${i}":${i}`).join(',')}}`,
        '{"__proto__":{"admin":true},"constructor":{"prototype":{"polluted":1}},"description":"proto"}',
      ];
      let cases = 0;
      for (const route of writes) {
        for (const payload of [...mustRefuse, ...either]) {
          const state = await snapshot(t);
          const res = await t.app.inject({ method: route.method as 'POST', url: route.path.replace('{id}', '6'), headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' }, payload });
          cases++;
          const what = `${route.method} ${route.path} with ${payload.slice(0, 40)}…`;
          expect(violation({ method: route.method, url: route.path, headers: {}, payload }, res), what).toBeNull();
          if (mustRefuse.includes(payload)) expect(res.statusCode, what).toBeGreaterThanOrEqual(400);
          if (res.statusCode >= 400) expect(await snapshot(t), what).toBe(state);
        }
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
      counted.cases += cases;
    } finally {
      await t.close();
    }
  });
});
