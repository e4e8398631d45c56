// GET /api/events: task events as Server-Sent Events, resumable with Last-Event-ID, ended on shutdown.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { TaskEvent } from '../core/types.js';
import type { AppContext } from '../api/context.js';
import { sendError } from '../api/error-handler.js';
import { iso, taskJson } from '../api/serialize.js';

export type EventStreamOptions = {
  /** A comment line this often keeps proxies and the client's watchdog from thinking the stream died. */
  heartbeatMs?: number;
  /** A client further behind than this many events gets `resumed: false` and reloads instead of replaying. */
  replayLimit?: number;
  /** A client that does not read is cut off once this much is queued; it resumes from its last id. */
  maxQueuedBytes?: number;
  /** Milliseconds the client should wait before reconnecting (the SSE `retry:` field). */
  retryMs?: number;
};

const DEFAULTS: Required<EventStreamOptions> = { heartbeatMs: 15_000, replayLimit: 1000, maxQueuedBytes: 1024 * 1024, retryMs: 1000 };

const eventId = z.string().trim().regex(/^\d{1,15}$/, 'expected a task event id (digits)').transform(Number);

const eventsQuery = z.object({ after: eventId.optional().describe('resume after this event id (same as the Last-Event-ID header)') });

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

export function eventStreamRoutes(app: FastifyInstance, ctx: AppContext, options: EventStreamOptions = {}): void {
  const opts = { ...DEFAULTS, ...options };
  const { queue } = ctx;
  const r = app.withTypeProvider<ZodTypeProvider>();
  /** Ends every open stream; app.close() would otherwise wait for them forever. */
  const openStreams = new Set<() => void>();

  app.addHook('preClose', async () => {
    for (const end of [...openStreams]) end();
  });

  r.get(
    '/api/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Task events as Server-Sent Events (`event: task`, `id` = event id); send Last-Event-ID to resume',
        description:
          'Each `task` event carries `{type, task_id, task, at, instance_id, details}`. A `ready` event follows the replay: ' +
          '`{last_id, resumed, replayed}`; `resumed: false` means the missed events were not replayed (none asked for, too many, ' +
          'or unknown ids) and the client should reload its view. A comment line is sent every 15 s.',
        querystring: eventsQuery,
      },
    },
    async (request, reply) => {
      const header = request.headers['last-event-id'];
      let after: number | null = request.query.after ?? null;
      if (typeof header === 'string' && header.trim() !== '') {
        const parsed = eventId.safeParse(header);
        if (!parsed.success) return sendError(reply, 400, 'VALIDATION_ERROR', 'Last-Event-ID must be a task event id (digits)');
        after = parsed.data;
      }

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

      let live = false;
      let ended = false;
      const buffered: TaskEvent[] = [];
      const write = (chunk: string) => {
        if (ended) return;
        res.write(chunk);
        // A reader that stopped reading must not grow our memory without bound.
        if (res.writableLength > opts.maxQueuedBytes) end();
      };
      const unsubscribe = queue.bus.subscribe((event) => {
        if (live) write(sseFrame(event));
        else buffered.push(event);
      });
      const heartbeat = setInterval(() => write(': ping\n\n'), opts.heartbeatMs);
      heartbeat.unref();
      function end() {
        if (ended) return;
        ended = true;
        unsubscribe();
        clearInterval(heartbeat);
        openStreams.delete(end);
        res.end();
      }
      openStreams.add(end);
      res.on('close', end);

      write(`retry: ${opts.retryMs}\n: connected\n\n`);
      try {
        // Subscribed first, read second: an event committed meanwhile is either in the replay or
        // in the buffer, and the buffer skips what the replay already sent.
        const lastId = await queue.store.lastEventId();
        let replay: TaskEvent[] = [];
        let resumed = false;
        if (after !== null && after <= lastId) {
          const missed = await queue.store.eventsSince(after, opts.replayLimit + 1);
          if (missed.length <= opts.replayLimit) {
            replay = missed;
            resumed = true;
          }
        }
        if (ended) return;
        const sent = new Set<number>();
        for (const event of replay) {
          write(sseFrame(event));
          sent.add(event.id);
        }
        // Not resumed: the client reloads its view as of now, so only newer events matter.
        const floor = resumed ? after! : lastId;
        const position = Math.max(floor, replay.at(-1)?.id ?? 0);
        write(`id: ${position}\nevent: ready\ndata: ${JSON.stringify({ last_id: position, resumed, replayed: replay.length })}\n\n`);
        for (const event of buffered) {
          if (event.id > floor && !sent.has(event.id)) write(sseFrame(event));
        }
        buffered.length = 0;
        live = true;
      } catch (err) {
        request.log.error({ err }, 'event stream replay failed');
        end();
      }
    },
  );
}
