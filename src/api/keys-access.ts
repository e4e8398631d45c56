// The access hooks: authenticate every protected request, slow down key guessing, apply the role table,
// and make an agent key's identity the `instance_id` of its claims and completions.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from './context.js';
import { ForbiddenError, TooManyRequestsError, UnauthorizedError } from '../errors.js';
import { createFailureLimiter, type FailureLimiterOptions } from './auth-failures.js';
import { AGENT_IDENTITY_ROUTES, allows } from './keys-policy.js';

export type AccessControl = {
  onRequest(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
  preValidation(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
};

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  const bearer = request.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
  const key = (Array.isArray(header) ? header[0] : header) || bearer;
  return key ? key : undefined;
}

const tooManyWrongKeys = (waitSeconds: number) =>
  new TooManyRequestsError(`Too many wrong API keys from this address; try again in ${waitSeconds} s`, waitSeconds);

/** "An agent key", "An admin key", "A reader key". */
const withArticle = (word: string) => `${/^[aeiou]/i.test(word) ? 'An' : 'A'} ${word}`;

export function createAccessControl(ctx: AppContext, protectedPrefixes: readonly string[], options: FailureLimiterOptions = {}): AccessControl {
  const failures = createFailureLimiter(options);
  const isProtected = (path: string | undefined) =>
    path !== undefined && protectedPrefixes.some((p) => path.startsWith(p) || path === p.replace(/\/$/, ''));

  return {
    async onRequest(request, reply) {
      // The raw path (unknown /api/* routes answer 401, not 404) and the matched route (a path the
      // router decodes to a protected route is protected too).
      if (!isProtected(request.url.split('?')[0]) && !isProtected(request.routeOptions.url)) return;
      const key = presentedKey(request);
      // A blocked address is refused before its key is compared: a guess made while blocked is
      // never answered, right or wrong. (request.ip is the client behind TRUST_PROXY's proxies.)
      const blocked = key === undefined ? null : failures.retryAfterSeconds(request.ip, ctx.queue.now());
      if (blocked !== null) throw tooManyWrongKeys(blocked);
      const principal = key === undefined ? null : await ctx.authenticate(key);
      if (!principal) {
        // This wrong key is answered 401; the next request from a now blocked address gets 429.
        if (key !== undefined) failures.recordFailure(request.ip, ctx.queue.now());
        throw new UnauthorizedError('Invalid API key');
      }
      request.principal = principal;
      const route = request.routeOptions.url;
      if (!allows(principal, request.method, route)) {
        throw new ForbiddenError(`${withArticle(principal.role)} key may not call ${request.method} ${route}`);
      }
      return undefined;
    },

    async preValidation(request, reply) {
      const principal = request.principal;
      if (principal?.role !== 'agent' || !AGENT_IDENTITY_ROUTES.has(`${request.method} ${request.routeOptions.url}`)) return undefined;
      const body = request.body ?? {};
      if (typeof body !== 'object' || Array.isArray(body)) return undefined; // validation refuses it
      const given = (body as { instance_id?: unknown }).instance_id;
      const claimed = typeof given === 'string' ? given.trim() : given;
      if (!principal.instanceId || (claimed !== undefined && claimed !== null && claimed !== principal.instanceId)) {
        throw new ForbiddenError(`This key acts as agent ${principal.instanceId ?? '(none)'}; it may not act as another instance_id`);
      }
      request.body = { ...body, instance_id: principal.instanceId };
      return undefined;
    },
  };
}
