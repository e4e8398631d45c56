// Per-agent API keys over REST (admin only, see keys-policy.ts): list, create (the key is shown once), revoke.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { NotFoundError } from '../errors.js';
import { LIMITS } from '../core/limits.js';
import type { KeyStore } from '../core/ports.js';
import { KEY_ROLES, type ApiKeyRecord } from '../core/types.js';
import type { HeldRequests } from './held-requests.js';
import { issueKey } from './keys-secrets.js';
import { iso } from './serialize.js';
import { BODY, INPUT, replies } from './openapi.js';

export function apiKeyJson(key: ApiKeyRecord) {
  return {
    id: key.id,
    name: key.name,
    role: key.role,
    instance_id: key.instanceId,
    prefix: key.prefix,
    created_at: new Date(key.createdAt).toISOString(),
    last_used_at: iso(key.lastUsedAt),
    revoked_at: iso(key.revokedAt),
  };
}

const createKeyBody = z.object({
  name: z.string().trim().min(1).max(200).describe('who or what uses the key'),
  role: z.enum(KEY_ROLES).describe('admin: everything; agent: create tasks and work on its own; reader: GET only; reviewer: GET and deciding reviews'),
  instance_id: z.string().trim().min(1).max(LIMITS.instanceIdMax).nullish().describe('agent keys: the agent identity the key acts as'),
});

const maybeTime = z.string().nullable().describe('ISO 8601, UTC');
const apiKeyAnswer = z.object({
  id: z.number().int(),
  name: z.string(),
  role: z.enum(KEY_ROLES),
  instance_id: z.string().nullable(),
  prefix: z.string().describe('the first characters of the key, to tell keys apart'),
  created_at: z.string().describe('ISO 8601, UTC'),
  last_used_at: maybeTime,
  revoked_at: maybeTime,
});

const keyParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).describe('key id') });

export function keysRoutes(app: FastifyInstance, keys: KeyStore, now: () => number, held?: HeldRequests): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/keys', { schema: { tags: ['keys'], summary: 'Per-agent API keys (never the keys themselves)', response: replies({ 200: z.object({ keys: z.array(apiKeyAnswer) }) }) } }, async () => {
    return { keys: (await keys.list()).map(apiKeyJson) };
  });

  r.post('/api/keys', { schema: { tags: ['keys'], summary: 'Create a key; the answer is the only time the key is shown', body: createKeyBody, response: replies({ 201: apiKeyAnswer.extend({ key: z.string().describe('the key itself, shown only here') }) }, BODY) } }, async (request, reply) => {
    const b = request.body;
    const { key, record } = await issueKey(keys, { name: b.name, role: b.role, instanceId: b.instance_id }, now());
    reply.code(201);
    return { key, ...apiKeyJson(record) };
  });

  r.delete(
    '/api/keys/:id',
    { schema: { tags: ['keys'], summary: 'Revoke a key; it is refused from the next request on, and its event streams and waiting claims end now', params: keyParams, response: replies({ 200: apiKeyAnswer.extend({ revoked: z.literal(true) }) }, [...INPUT, 404]) } },
    async (request) => {
      const record = await keys.revoke(request.params.id, now());
      if (!record) throw new NotFoundError(`API key #${request.params.id} not found`, { keyId: request.params.id });
      held?.revoke(record.id);
      return { revoked: true as const, ...apiKeyJson(record) };
    },
  );
}
