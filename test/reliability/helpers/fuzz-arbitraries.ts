// fast-check generators for HTTP requests against the API: ids, query strings, headers, bodies and raw payloads.
import fc from 'fast-check';

export type FuzzRequest = { method: string; url: string; headers: Record<string, string>; payload?: string };

export const methodArb = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS');

/** Path ids: real ones, edge numbers, non-numbers, encoded bytes and unicode. */
export const idArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 12 }).map(String) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '0', '-1', '1.5', '1e3', '0x10', '+1', '00001', ' 1', '1%20', 'NaN', 'Infinity', '-0',
      '9007199254740991', '9007199254740992', '18446744073709551616', '99999999999999999999999999',
      '%00', '1%00', '%ff', '%C0%AF', '%E2%80%AE', '..', '%2e%2e', '%2F', 'abc', '%EF%BC%91', '١', 'null', 'undefined', '[]', '{}',
    ),
  },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent) },
);

const QUERY_KEYS = ['status', 'priority', 'instance_id', 'label', 'project', 'q', 'order', 'limit', 'cursor', 'after', 'wait', 'key', '__proto__', 'constructor'];

const queryValueArb = fc.oneof(
  fc.constantFrom(
    'pending', 'all', 'pending,completed', 'pending,,all', ',', 'in_progress,needs_input', 'HIGH', 'high', 'queue', 'newest', 'random',
    '0', '-1', '1', '500', '501', '1e2', '1.5', '99999999999999999999999', '1.99999999999999999999', '2.5', 'NaN', '', '%00', '%ff', '%', '%E2%82%AC',
  ),
  fc.integer().map(String),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 10 }).map(encodeURIComponent),
  fc.constant('x'.repeat(2000)),
);

export const queryArb: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 8 }).map(encodeURIComponent)), queryValueArb), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));

const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'APPLICATION/JSON', 'application/json;',
  'application/json; boundary=x', 'text/plain', 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
  'application/octet-stream', 'application/vnd.api+json', 'application/merge-patch+json', '*/*', ';;;', 'application/json, text/plain', 'json',
];

/** Extra headers: content types, idempotency keys, SSE resume ids, odd accept and encoding headers. */
export const headerArb: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      'content-type': fc.constantFrom(...CONTENT_TYPES),
      'idempotency-key': fc.oneof(fc.string({ maxLength: 20 }), fc.constant('k'.repeat(300)), fc.constant('seed-key')),
      'last-event-id': fc.oneof(fc.constantFrom('0', '1', '-1', '999999999999999999999', 'abc', ''), fc.nat().map(String)),
      accept: fc.constantFrom('application/json', 'text/event-stream', '*/*', 'text/html', 'application/json, text/event-stream'),
      'content-encoding': fc.constantFrom('gzip', 'deflate', 'identity', 'br'),
      'x-athena-instance': fc.string({ maxLength: 30 }),
      'mcp-session-id': fc.string({ maxLength: 30 }),
    },
    { requiredKeys: [] },
  )
  // Header values are latin-1 without control characters on the wire.
  .map((h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.replace(/[^\x20-\x7e]/g, '')])));

export const FIELDS = [
  'description', 'priority', 'labels', 'depends_on', 'run_after', 'max_attempts', 'idempotency_key', 'submitted_by', 'notes', 'project',
  'instance_id', 'instance_name', 'lease_seconds', 'lease_token', 'wait', 'result', 'error', 'retry', 'reason', 'question', 'answer',
  'progress', 'by', 'older_than_days', 'label', 'q', 'name', 'role', 'version', 'exportedAt', 'tasks', 'logs', 'instances',
  'jsonrpc', 'method', 'params', 'id', '__proto__',
];

const NUMBER_EDGES = [
  0, -1, 1, 1.5, 4, 5, 60, 601, -0.0001, 1e308, -1e308, 9007199254740991, 9007199254740993, 8.64e15, 8.64e15 + 1, 253402300800000, 1e21, 2 ** 31, 2 ** 63, Number.MIN_VALUE,
];
const STRING_EDGES = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', '\udfff\ud800', '\u202e', '🚀', '*', 'has space', 'x'.repeat(201), 'x'.repeat(10_001), '9999-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', '2026-02-30T00:00:00Z', '2026-01-01T00:00:00+14:00', '<script>alert(1)</script>', "'; DROP TABLE tasks; --", '%s%n', '../../etc/passwd',
];
const ARRAY_EDGES: unknown[] = [[], [0], [-1], [9007199254740991], [9007199254740993], [1.5], ['gpu', 'gpu'], [''], ['\u0000'], Array.from({ length: 51 }, (_, i) => i + 1), Array.from({ length: 21 }, (_, i) => `l${i}`), [null], [[1]], [1, 1, 1]];

const EDGE_VALUES = [
  null, true, false, 0, -1, 1, 1.5, 2, 5, 60, 601, -0.0001, 1e308, -1e308, 9007199254740991, 9007199254740993, 8.64e15, 8.64e15 + 1, 1e21, 2 ** 31,
  '', ' ', '\u0000', 'a\u0000b', '\ud800', '\udfff\ud800', '\u202e', '🚀', 'é', 'high', 'MEDIUM', ' low ', 'urgent', '*', 'gpu', 'has space',
  'fuzz-agent', 'fuzz-agent-2', 'other-agent', 'admin', 'agent', 'reader', 'tools/call', 'initialize', '2.0',
  '2026-01-01T00:00:00Z', '2026-01-01T00:00:00+14:00', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00.000Z', '2026-02-30T00:00:00Z', 'yesterday',
  'x'.repeat(201), 'x'.repeat(10_001),
];

export const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...EDGE_VALUES) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.array(fc.oneof(fc.integer({ min: -2, max: 12 }), fc.constantFrom('gpu', 'python', '', 'a b', 9007199254740993, null)), { maxLength: 6 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) },
);

/** Bodies: objects built from the API's own field names (to get past the first checks), or any JSON. */
export const bodyArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), valueArb, { maxKeys: 6 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/** Payloads that are not what JSON.stringify makes: broken JSON, odd encodings, binary. */
export const rawPayloadArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('{', '[', '{"description":', 'null', '"x"', '1', 'true', '[]', '{}', '\u0000', '{"description":"x"}\u0000', '\ufeff{}', 'NaN', '{"a":1,}', "{'a':1}", '{"description":"x"}{}'),
  fc.string({ maxLength: 100 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
);

/** A route as the OpenAPI document describes it: its body fields (required first) and query names. */
export type RouteShape = { method: string; path: string; fields: string[]; required: string[]; query: string[] };

/** Values that pass validation for each field, so generated requests reach the handlers and the store. */
function plausible(leaseTokens: string[]): Record<string, fc.Arbitrary<unknown>> {
  const text = fc.oneof(fc.constantFrom('ok', 'fix the login test', 'é🚀'), fc.string({ maxLength: 30 }));
  return {
    description: text,
    priority: fc.constantFrom('high', 'medium', 'low'),
    instance_id: fc.constantFrom('fuzz-agent', 'fuzz-agent-2', 'other-agent', 'new-agent'),
    instance_name: text,
    lease_token: fc.constantFrom(...leaseTokens, 'stale-token'),
    lease_seconds: fc.integer({ min: 5, max: 86_400 }),
    labels: fc.oneof({ weight: 4, arbitrary: fc.array(fc.constantFrom('gpu', 'python'), { maxLength: 2 }) }, { weight: 1, arbitrary: fc.constant('*') }),
    depends_on: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 3 }),
    run_after: fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.constantFrom('2026-01-01T00:00:00Z', '2030-06-01T12:00:00+02:00')),
    max_attempts: fc.integer({ min: 1, max: 100 }),
    idempotency_key: fc.oneof({ weight: 1, arbitrary: fc.constantFrom('seed-key', 'k1') }, { weight: 4, arbitrary: fc.uuid() }),
    wait: fc.constantFrom(0, 0.01, 1),
    retry: fc.boolean(),
    result: fc.jsonValue({ maxDepth: 4 }),
    older_than_days: fc.integer({ min: 0, max: 36_500 }),
    name: text,
    role: fc.constantFrom('admin', 'agent', 'reader'),
    version: fc.constant(1),
    exportedAt: fc.constant('2026-01-01T00:00:00Z'),
    tasks: fc.constant([]),
    logs: fc.constant([]),
    instances: fc.constant([]),
    question: text,
    answer: text,
    notes: text,
    error: text,
    reason: text,
    progress: text,
    by: text,
    project: text,
    submitted_by: text,
  };
}

const TOOLS = ['claim_next_task', 'heartbeat', 'complete_task', 'fail_task', 'ask_for_input', 'add_task', 'queue_status', 'no_such_tool'];

/** Bodies for one route: its required fields with plausible values, then a few fields set to edge values. */
export function routeBodyArb(route: RouteShape, leaseTokens: string[]): fc.Arbitrary<unknown> {
  if (route.path === '/mcp') {
    return fc.record({
      jsonrpc: fc.constantFrom('2.0', '1.0'),
      id: fc.oneof(fc.nat(), fc.string({ maxLength: 5 }), fc.constant(null)),
      method: fc.constantFrom('tools/call', 'tools/list', 'initialize', 'ping', 'resources/list', 'nope'),
      params: fc.record({ name: fc.constantFrom(...TOOLS), arguments: fc.dictionary(fc.constantFrom('task_id', 'lease_token', 'description', 'notes', 'result', 'error', 'question', 'labels', 'wait_seconds', 'lease_seconds', 'priority'), valueArb, { maxKeys: 4 }) }, { requiredKeys: [] }),
    }, { requiredKeys: ['method'] });
  }
  const values = plausible(leaseTokens);
  const valid = (field: string) => (Object.hasOwn(values, field) ? values[field]! : valueArb);
  // Edge values of the field's own type hit limits more often than values of any type.
  const edgeFor = (field: string): fc.Arbitrary<unknown> => {
    const samples = fc.sample(valid(field), { numRuns: 20, seed: 1 });
    const sameType = [
      ...(samples.some((v) => typeof v === 'number') ? NUMBER_EDGES : []),
      ...(samples.some((v) => typeof v === 'string') ? STRING_EDGES : []),
      ...(samples.some((v) => Array.isArray(v)) ? ARRAY_EDGES : []),
    ];
    return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...(sameType.length > 0 ? sameType : EDGE_VALUES)) }, { weight: 1, arbitrary: valueArb });
  };
  const edges = new Map([...route.fields, ...FIELDS].map((f) => [f, edgeFor(f)]));
  const fieldArb = fc.oneof({ weight: 6, arbitrary: route.fields.length > 0 ? fc.constantFrom(...route.fields) : fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.constantFrom(...FIELDS) });
  // Required fields with valid values, and now and then an optional one: most requests get far enough to matter.
  const optional = route.fields.filter((f) => !route.required.includes(f));
  const base = fc
    .tuple(
      fc.record(Object.fromEntries(route.required.map((f) => [f, valid(f)]))),
      fc.subarray(optional, { maxLength: Math.min(3, optional.length) }).chain((fields) => fc.record(Object.fromEntries(fields.map((f) => [f, valid(f)])))),
    )
    .map(([required, extra]) => ({ ...extra, ...required }));
  const mutations = fc.array(
    fieldArb.chain((field) => fc.tuple(fc.constant(field), fc.oneof({ weight: 5, arbitrary: edges.get(field)! }, { weight: 1, arbitrary: fc.constant(undefined) }))),
    { minLength: 1, maxLength: 2 },
  );
  return fc.tuple(base, mutations).map(([body, changes]) => {
    const out: Record<string, unknown> = { ...body };
    for (const [field, value] of changes) {
      if (value === undefined) delete out[field];
      else out[field] = value;
    }
    return out;
  });
}
