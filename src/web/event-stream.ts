// GET /api/events: task events as Server-Sent Events, resumable with Last-Event-ID, ended on shutdown.
// Streams are capped (per key, per address, in total); each event is serialised once and the same
// bytes are written to every stream; a stream that stops reading is destroyed, not waited for.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { TaskEvent } from '../core/types.js';
import type { OutputChunk } from '../core/task-output.js';
import type { AppContext } from '../api/context.js';
import type { HeldRequests } from '../api/held-requests.js';
import { iso, taskJson } from '../api/serialize.js';
import { BadRequestError, TooManyStreamsError } from '../errors.js';
import { replies, textReply } from '../api/openapi.js';

export type EventStreamOptions = {
  /** A comment line this often keeps proxies and the client's watchdog from thinking the stream died. */
  heartbeatMs?: number;
  /** A client further behind than this many events gets `resumed: false` and reloads instead of replaying. */
  replayLimit?: number;
  /** A client that does not read is cut off once this much is queued; it resumes from its last id. */
  maxQueuedBytes?: number;
  /** A client whose connection has not drained for this long is cut off, however little is queued. */
  stallMs?: number;
  /** Milliseconds the client should wait before reconnecting (the SSE `retry:` field). */
  retryMs?: number;
  /** Open streams allowed per API key, per client address, and in total. */
  perKey?: number;
  perAddress?: number;
  max?: number;
  /** Where streams register by key, so that revoking the key ends them. */
  held?: HeldRequests;
};

const DEFAULTS = {
  heartbeatMs: 15_000,
  replayLimit: 1000,
  maxQueuedBytes: 1024 * 1024,
  stallMs: 30_000,
  retryMs: 1000,
  perKey: 20,
  perAddress: 50,
  max: 500,
};

const eventId = z.string().trim().regex(/^\d{1,15}$/, 'expected a task event id (digits)').transform(Number);

const eventsQuery = z.object({
  after: eventId.optional().describe('resume after this event id (same as the Last-Event-ID header)'),
  include: z
    .string()
    .regex(/^(output)?$/, 'expected "output"')
    .optional()
    .describe('"output" adds `output` events: new live output of running tasks (not replayed on resume)'),
});

/** New live output, without an `id:` (it is not in the event log, so it never moves Last-Event-ID). */
export function outputFrame(chunk: OutputChunk): string {
  return `event: output\ndata: ${JSON.stringify({ task_id: chunk.taskId, attempt: chunk.run, offset: chunk.offset, text: chunk.text, at: iso(chunk.at) })}\n\n`;
}

/** The wire form of one task event, as the dashboard and other SSE clients read it. */
export function eventJson(event: TaskEvent) {
  return {
    type: event.type,
    task_id: event.taskId,
    task: event.task ? taskJson(event.task) : null,
    at: iso(event.at),
    instance_id: event.instanceId,
    details: event.details,
  };
}

export function sseFrame(event: TaskEvent): string {
  return `id: ${event.id}\nevent: task\ndata: ${JSON.stringify(eventJson(event))}\n\n`;
}

const PING = Buffer.from(': ping\n\n');

type Stream = {
  res: ServerResponse;
  key: string;
  address: string;
  /** Events arriving while the replay is read wait here (with their frame, made once for all streams). */
  pending: Array<{ id: number; frame: Buffer }> | null;
  /** Since when a write has been waiting for 'drain'; null while the connection keeps up. */
  blockedSince: number | null;
  ended: boolean;
  /** Asked for live output (`include=output`). */
  output: boolean;
};

export function eventStreamRoutes(app: FastifyInstance, ctx: AppContext, options: EventStreamOptions = {}): void {
  // Settings left undefined (not configured) keep their defaults.
  const opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & EventStreamOptions;
  const { queue } = ctx;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const streams = new Set<Stream>();
  const perKey = new Map<string, number>();
  const perAddress = new Map<string, number>();
  const bump = (counts: Map<string, number>, name: string, by: number) => {
    const n = (counts.get(name) ?? 0) + by;
    if (n > 0) counts.set(name, n);
    else counts.delete(name);
  };

  let unsubscribe: (() => void) | null = null;
  let unsubscribeOutput: (() => void) | null = null;
  let ticker: ReturnType<typeof setInterval> | null = null;
  let lastPingAt = Date.now();

  /** Writes one chunk; a stream that is too far behind is destroyed instead of buffering on. */
  function send(stream: Stream, chunk: Buffer | string): void {
    if (stream.ended) return;
    const flowing = stream.res.write(chunk);
    if (!flowing && stream.blockedSince === null) stream.blockedSince = Date.now();
    if (stream.res.writableLength > opts.maxQueuedBytes) cutOff(stream, 'too much unsent data');
  }

  /** One subscription for every stream: each event becomes bytes once, then goes to each stream as is. */
  function broadcast(event: TaskEvent): void {
    const frame = Buffer.from(sseFrame(event));
    for (const stream of [...streams]) {
      if (stream.pending) stream.pending.push({ id: event.id, frame });
      else send(stream, frame);
    }
  }

  /** Live output goes only to the streams that asked for it, once their replay is done. */
  function broadcastOutput(chunk: OutputChunk): void {
    let frame: Buffer | null = null;
    for (const stream of [...streams]) {
      if (!stream.output || stream.pending) continue;
      frame ??= Buffer.from(outputFrame(chunk));
      send(stream, frame);
    }
  }

  /** Heartbeats, and the check for streams that have not drained in time, on one timer for all. */
  function tick(): void {
    const now = Date.now();
    const ping = now - lastPingAt >= opts.heartbeatMs;
    if (ping) lastPingAt = now;
    for (const stream of [...streams]) {
      if (stream.blockedSince !== null && now - stream.blockedSince >= opts.stallMs) cutOff(stream, 'not reading');
      else if (ping && !stream.pending) send(stream, PING);
    }
  }

  function track(stream: Stream): void {
    streams.add(stream);
    bump(perKey, stream.key, 1);
    bump(perAddress, stream.address, 1);
    unsubscribe ??= queue.bus.subscribe(broadcast);
    if (stream.output) unsubscribeOutput ??= queue.output.subscribe(broadcastOutput);
    if (!ticker) {
      lastPingAt = Date.now();
      ticker = setInterval(tick, Math.max(10, Math.min(opts.heartbeatMs, opts.stallMs / 4)));
      ticker.unref();
    }
  }

  function untrack(stream: Stream): void {
    if (!streams.delete(stream)) return;
    bump(perKey, stream.key, -1);
    bump(perAddress, stream.address, -1);
    if (streams.size === 0) {
      unsubscribe?.();
      unsubscribe = null;
      unsubscribeOutput?.();
      unsubscribeOutput = null;
      if (ticker) clearInterval(ticker);
      ticker = null;
    }
  }

  /**
   * Drops the connection. `res.end()` would wait for a flush that a client that stopped reading never
   * allows, keeping the socket and everything queued on it. A reset (not a FIN) also frees what the
   * kernel still holds for it, instead of leaving an orphaned socket waiting for the reader.
   */
  function cutOff(stream: Stream, why: string): void {
    if (stream.ended) return;
    stream.ended = true;
    untrack(stream);
    app.log.debug({ address: stream.address, queuedBytes: stream.res.writableLength, why }, 'event stream cut off');
    const socket = stream.res.socket;
    if (socket && !socket.destroyed) socket.resetAndDestroy();
    else stream.res.destroy();
  }

  /** Ends the stream politely (shutdown), or destroys it when the client is not reading anyway. */
  function finish(stream: Stream): void {
    if (stream.ended) return;
    if (stream.blockedSince !== null) return cutOff(stream, 'shutting down');
    stream.ended = true;
    untrack(stream);
    stream.res.end();
  }

  app.addHook('preClose', async () => {
    for (const stream of [...streams]) finish(stream);
  });

  function admit(key: string, address: string): void {
    const limits: Array<[number, number, string]> = [
      [streams.size, opts.max, `The server holds its maximum of ${opts.max} event streams`],
      [perKey.get(key) ?? 0, opts.perKey, `This API key already holds ${opts.perKey} event streams`],
      [perAddress.get(address) ?? 0, opts.perAddress, `This address already holds ${opts.perAddress} event streams`],
    ];
    for (const [open, max, message] of limits) {
      if (open >= max) throw new TooManyStreamsError(`${message}; close one first (each dashboard tab holds one)`, { limit: max });
    }
  }

  r.get(
    '/api/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Task events as Server-Sent Events (`event: task`, `id` = event id); send Last-Event-ID to resume',
        description:
          'Each `task` event carries `{type, task_id, task, at, instance_id, details}`. A `ready` event follows the replay: ' +
          '`{last_id, resumed, replayed}`; `resumed: false` means the missed events were not replayed (none asked for, too many, ' +
          'or unknown ids) and the client should reload its view. A comment line is sent every 15 s. Streams are capped per key, ' +
          'per address and in total (429 `TOO_MANY_STREAMS`); a client that stops reading is disconnected.',
        querystring: eventsQuery,
        response: replies({ 200: textReply('text/event-stream', 'Server-Sent Events: `event: task` and `event: ready`, JSON in `data`') }, [400, 429]),
      },
    },
    async (request, reply) => {
      const header = request.headers['last-event-id'];
      let after: number | null = request.query.after ?? null;
      if (typeof header === 'string' && header.trim() !== '') {
        const parsed = eventId.safeParse(header);
        if (!parsed.success) throw new BadRequestError('VALIDATION_ERROR', 'Last-Event-ID must be a task event id (digits)');
        after = parsed.data;
      }
      const principal = request.principal;
      const key = principal?.keyId !== undefined ? `key:${principal.keyId}` : `name:${principal?.name ?? 'none'}`;
      admit(key, request.ip);

      reply.hijack();
      const res: ServerResponse = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // The stream is the connection's last response: once it ends (shutdown, slow reader, client
        // gone) the socket closes rather than idling in keep-alive and holding up server.close().
        connection: 'close',
        // Tells nginx-style proxies not to buffer the stream.
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();

      const stream: Stream = { res, key, address: request.ip, pending: [], blockedSince: null, ended: false, output: request.query.include === 'output' };
      track(stream);
      const release = opts.held?.hold(principal, () => cutOff(stream, 'its API key was revoked')) ?? (() => {});
      res.on('drain', () => (stream.blockedSince = null));
      res.on('close', () => {
        stream.ended = true;
        untrack(stream);
        release();
      });

      send(stream, `retry: ${opts.retryMs}\n: connected\n\n`);
      try {
        // Subscribed first, read second: an event committed meanwhile is either in the replay or
        // in `pending`, and `pending` skips what the replay already sent.
        const lastId = await queue.lastEventId();
        let replay: TaskEvent[] = [];
        let resumed = false;
        if (after !== null && after <= lastId) {
          const missed = await queue.eventsSince(after, opts.replayLimit + 1);
          if (missed.length <= opts.replayLimit) {
            replay = missed;
            resumed = true;
          }
        }
        if (stream.ended) return;
        const sent = new Set<number>();
        for (const event of replay) {
          send(stream, sseFrame(event));
          sent.add(event.id);
        }
        // Not resumed: the client reloads its view as of now, so only newer events matter.
        const floor = resumed ? after! : lastId;
        const position = Math.max(floor, replay.at(-1)?.id ?? 0);
        send(stream, `id: ${position}\nevent: ready\ndata: ${JSON.stringify({ last_id: position, resumed, replayed: replay.length })}\n\n`);
        const waiting = stream.pending ?? [];
        stream.pending = null;
        for (const { id, frame } of waiting) {
          if (id > floor && !sent.has(id)) send(stream, frame);
        }
      } catch (err) {
        request.log.error({ err }, 'event stream replay failed');
        cutOff(stream, 'replay failed');
      }
    },
  );
}
