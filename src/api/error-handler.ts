// Maps every error to `{"error": "<message>", "code": "<CODE>"}` with a fitting status; never a stack trace.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AthenaError, type ErrorCode } from '../errors.js';

const STATUS: Record<ErrorCode, number> = {
  NOT_FOUND: 404,
  CONFLICT: 409,
  NOT_PENDING: 409,
  NOT_CLAIMABLE: 409,
  LEASE_MISMATCH: 409,
  WIP_LIMIT: 409,
  INVALID: 422,
  DEPENDENCY_CYCLE: 422,
  UNKNOWN_DEPENDENCY: 422,
  IDEMPOTENCY_MISMATCH: 422,
  TOO_MANY_WAITERS: 429,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  TOO_MANY_STREAMS: 429,
  UNAVAILABLE: 503,
};

/** Fastify's own client errors, by their code. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the body as JSON with Content-Type: application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_REQUEST' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'INVALID_JSON', message: 'The body is empty but Content-Type says JSON' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'INVALID_JSON' },
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_REQUEST' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: 'BAD_REQUEST' },
};

export type ErrorBody = { error: string; code: string; details?: unknown };

export function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: unknown): FastifyReply {
  const body: ErrorBody = { error: message, code };
  if (details !== undefined) body.details = details;
  return reply.code(status).type('application/json; charset=utf-8').send(body);
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
    if (err instanceof AthenaError) {
      return sendError(reply, STATUS[err.code], err.code, err.message, err.details);
    }
    if (err.validation) {
      const { message, details } = validationMessage(err);
      return sendError(reply, 400, 'VALIDATION_ERROR', message, details);
    }
    const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
    if (known) return sendError(reply, known.status, known.code, known.message ?? err.message);
    if (err instanceof SyntaxError) return sendError(reply, 400, 'INVALID_JSON', `Malformed JSON: ${err.message}`);
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendError(reply, status, 'BAD_REQUEST', err.message);
    request.log.error({ err }, 'request failed');
    return sendError(reply, 500, 'INTERNAL', 'Internal error; the server logged the details');
  });

  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`));
}
