// Maps every error to `{"error": "<message>", "code": "<CODE>"}` with a fitting status; never a stack trace.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AthenaError, BadRequestError, MethodNotAllowedError, TooManyRequestsError, type ErrorCode } from '../errors.js';

/**
 * One status per code. A request that could never succeed as written (a bad field, an empty description,
 * a NUL byte) is 400, as fastify's schema validation and the original API answer; 422 is kept for a
 * well-formed request that contradicts what the queue holds (unknown or cyclic dependencies, an
 * idempotency key reused for another request). See docs/api-errors.md.
 */
const STATUS: Record<ErrorCode, number> = {
  NOT_FOUND: 404,
  CONFLICT: 409,
  NOT_PENDING: 409,
  NOT_CLAIMABLE: 409,
  LEASE_MISMATCH: 409,
  WIP_LIMIT: 409,
  ASSIGNED: 409,
  NOT_EDITABLE: 409,
  TASK_HELD: 409,
  HAS_DEPENDANTS: 409,
  INVALID: 400,
  DEPENDENCY_CYCLE: 422,
  UNKNOWN_DEPENDENCY: 422,
  IDEMPOTENCY_MISMATCH: 422,
  TOO_MANY_WAITERS: 429,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  TOO_MANY_STREAMS: 429,
  UNAVAILABLE: 503,
  METHOD_NOT_ALLOWED: 405,
  VALIDATION_ERROR: 400,
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  URI_TOO_LONG: 414,
};

/** Fastify's own client errors (body parsing and the router's refusals), by their code, as our typed errors. */
const FASTIFY_ERRORS: Record<string, { code: ConstructorParameters<typeof BadRequestError>[0]; message?: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the body as JSON with Content-Type: application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BAD_REQUEST' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'INVALID_JSON', message: 'The body is empty but Content-Type says JSON' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'INVALID_JSON' },
  FST_ERR_BAD_URL: { code: 'BAD_REQUEST', message: 'The URL is not valid (a malformed %-escape?)' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'BAD_REQUEST' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'URI_TOO_LONG', message: 'A path parameter is longer than 200 characters' },
};

export type ErrorBody = { error: string; code: string; details?: unknown };

function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: unknown): FastifyReply {
  const body: ErrorBody = { error: message, code };
  if (details !== undefined) body.details = details;
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

function sendAthenaError(reply: FastifyReply, err: AthenaError): FastifyReply {
  if (err instanceof TooManyRequestsError) reply.header('retry-after', String(err.retryAfterSeconds));
  if (err instanceof MethodNotAllowedError) reply.header('allow', err.allow.join(', '));
  return sendError(reply, STATUS[err.code], err.code, err.message, err.details);
}

/** Fastify's own error with a known code as our typed error, or undefined. */
function fromFastify(err: FastifyError): BadRequestError | undefined {
  const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
  return known && new BadRequestError(known.code, known.message ?? err.message);
}

/**
 * For fastify's `frameworkErrors` option: the router's refusals (a bad %-escape, an over-long id) happen
 * before any route or hook, so they never reach the error handler; this answers them in the same shape.
 */
export function answerFrameworkError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  sendAthenaError(reply, fromFastify(err) ?? new BadRequestError('BAD_REQUEST', err.message));
}

type ZodLikeIssue = { path?: Array<string | number>; message: string; instancePath?: string };

function validationMessage(err: FastifyError): { message: string; details: unknown } {
  const issues = (err.validation ?? []) as unknown as ZodLikeIssue[];
  const context = err.validationContext ?? 'request';
  const parts = issues.slice(0, 5).map((issue) => {
    const path = issue.instancePath?.replace(/^\//, '').replace(/\//g, '.') || (issue.path ?? []).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  return {
    message: `Invalid ${context}: ${parts.join('; ') || err.message}`,
    details: issues.slice(0, 20).map((i) => ({ path: i.instancePath || (i.path ?? []).join('.'), message: i.message })),
  };
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof AthenaError) return sendAthenaError(reply, err);
    if (err.validation) {
      const { message, details } = validationMessage(err);
      return sendError(reply, 400, 'VALIDATION_ERROR', message, details);
    }
    const known = fromFastify(err);
    if (known) return sendAthenaError(reply, known);
    if (err instanceof SyntaxError) return sendError(reply, 400, 'INVALID_JSON', `Malformed JSON: ${err.message}`);
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendError(reply, status, 'BAD_REQUEST', err.message);
    request.log.error({ err }, 'request failed');
    return sendError(reply, 500, 'INTERNAL', 'Internal error; the server logged the details');
  });

  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`));
}
