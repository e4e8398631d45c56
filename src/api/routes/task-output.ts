// Live output of a task's runs: the holder appends while its command runs; anyone with a key reads it.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { OUTPUT_APPEND_MAX_CHARS } from '../../core/task-output.js';
import type { AppContext } from '../context.js';
import { idParams } from '../schemas.js';
import { BODY, INPUT, replies, textReply } from '../openapi.js';
import { outputAppendedSchema } from '../responses.js';

const appendBody = z
  .object({
    lease_token: z.string().min(1).max(100).describe('the lease of the run the output belongs to: only its holder may append'),
    offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe("byte offset of `text` in the run's output, as the worker counts it"),
    text: z.string().max(OUTPUT_APPEND_MAX_CHARS).describe('stdout and stderr as the command wrote them'),
  })
  .strict();

const readQuery = z.object({
  attempt: z.coerce.number().int().min(1).max(1_000_000).optional().describe('which run (1 for the first claim; default the latest)'),
  since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('byte offset to start from (the X-Output-End of a previous read)'),
});

export function taskOutputRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { queue } = ctx;

  r.post(
    '/api/tasks/:id/output',
    { schema: { tags: ['tasks'], summary: "Append to the live output of the run you hold (idempotent by offset)", params: idParams, body: appendBody, response: replies({ 200: outputAppendedSchema }, [...BODY, 404, 409]) } },
    async (request) => {
      const b = request.body;
      const { run, end } = await queue.appendOutput(request.params.id, { leaseToken: b.lease_token, offset: b.offset, text: b.text });
      return { task_id: request.params.id, attempt: run, end };
    },
  );

  r.get(
    '/api/tasks/:id/output',
    {
      schema: {
        tags: ['tasks'],
        summary: "A run's live output as plain text (the newest OUTPUT_MAX_BYTES); `since` for the tail",
        description: 'Headers: X-Output-Attempt (the run), X-Output-Start and X-Output-End (byte offsets of the text; pass X-Output-End as `since` to read on).',
        params: idParams,
        querystring: readQuery,
        response: replies({ 200: textReply('text/plain', "the run's output from `since` (or its oldest kept byte) to its end") }, [...INPUT, 404]),
      },
    },
    async (request, reply) => {
      const read = await queue.readOutput(request.params.id, { run: request.query.attempt, since: request.query.since });
      reply
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .header('x-output-attempt', String(read.run))
        .header('x-output-start', String(read.start))
        .header('x-output-end', String(read.end));
      return read.text;
    },
  );
}
