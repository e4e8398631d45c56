import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { CallFilter, JsonObject, RecordedCall, RecordedFile } from './types.js';

const DISCORD_EPOCH = 1420070400000n;
let increment = 0n;
let lastId = 0n;

/** A real-looking (18-19 digit) snowflake, unique within the process. */
export function snowflake(): string {
  increment = (increment + 1n) & 0xfffn;
  const ts = BigInt(Date.now()) - DISCORD_EPOCH;
  // Worker/process bits are fixed; the increment keeps ids unique within one millisecond and
  // the bump below keeps them strictly increasing even when > 4096 ids are made in 1 ms.
  let id = (ts << 22n) | (1n << 17n) | increment;
  if (id <= lastId) id = lastId + 1n;
  lastId = id;
  return id.toString();
}

export function isoNow(): string {
  return new Date().toISOString();
}

export function randomToken(prefix: string): string {
  return `${prefix}${randomBytes(24).toString('base64url')}`;
}

export const ALL_PERMISSIONS = ((1n << 53n) - 1n).toString();

export function sleep(ms: number, timers: Set<NodeJS.Timeout>): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      timers.delete(t);
      resolve();
    }, ms);
    timers.add(t);
  });
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Parse a request body: JSON, or multipart/form-data (payload_json + files). */
export async function parseBody(
  raw: Buffer,
  contentType: string | undefined,
): Promise<{ body: unknown; files: RecordedFile[] }> {
  if (raw.length === 0) return { body: null, files: [] };
  const ct = (contentType ?? '').toLowerCase();
  if (ct.startsWith('multipart/form-data')) {
    // Let the platform's fetch implementation parse multipart for us.
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType! } }).formData();
    const entries: Array<[string, FormDataEntryValue]> = [];
    form.forEach((value, field) => entries.push([field, value]));
    let body: unknown = null;
    const plain: JsonObject = {};
    const files: RecordedFile[] = [];
    for (const [field, value] of entries) {
      if (typeof value === 'string') {
        if (field === 'payload_json') body = safeJson(value);
        else plain[field] = value;
      } else {
        const data = Buffer.from(await value.arrayBuffer());
        files.push({
          field,
          filename: value.name || field,
          contentType: value.type || 'application/octet-stream',
          size: data.length,
          data,
        });
      }
    }
    if (body === null && Object.keys(plain).length > 0) body = plain;
    return { body, files };
  }
  const text = raw.toString('utf8');
  if (ct.includes('json') || text.startsWith('{') || text.startsWith('[')) return { body: safeJson(text), files: [] };
  return { body: text, files: [] };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function matchesFilter(call: RecordedCall, filter: CallFilter | undefined): boolean {
  if (!filter) return true;
  if (typeof filter === 'function') return filter(call);
  if (filter.method && filter.method.toUpperCase() !== call.method) return false;
  if (filter.path !== undefined) {
    if (typeof filter.path === 'string' ? filter.path !== call.path : !filter.path.test(call.path)) return false;
  }
  if (filter.status !== undefined && filter.status !== call.status) return false;
  return true;
}

export function describeFilter(filter: CallFilter | undefined): string {
  if (!filter) return 'any call';
  if (typeof filter === 'function') return filter.name ? `predicate ${filter.name}` : 'predicate';
  const parts: string[] = [];
  if (filter.method) parts.push(filter.method.toUpperCase());
  if (filter.path !== undefined) parts.push(String(filter.path));
  if (filter.status !== undefined) parts.push(`status ${filter.status}`);
  return parts.join(' ') || 'any call';
}

export function summarizeCall(call: RecordedCall): string {
  const body = call.body === null || call.body === undefined ? '' : ` ${truncate(JSON.stringify(call.body), 160)}`;
  const status = call.status === undefined ? 'pending' : String(call.status);
  const flags = `${call.injected ? ` [${call.injected}]` : ''}${call.unhandled ? ' [UNHANDLED]' : ''}`;
  return `#${call.seq} ${call.method} ${call.path} -> ${status}${flags}${body}`;
}

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Depth-first search through (possibly nested) message components. */
export function findComponent(components: unknown, customId: string): JsonObject | undefined {
  if (!Array.isArray(components)) return undefined;
  for (const c of components as JsonObject[]) {
    if (!c || typeof c !== 'object') continue;
    if (c.custom_id === customId) return c;
    const nested = findComponent(c.components, customId) ?? (c.accessory ? findComponent([c.accessory], customId) : undefined);
    if (nested) return nested;
  }
  return undefined;
}
