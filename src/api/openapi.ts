// What the OpenAPI document says beside each route's own schemas: how to present a key, and the error answers.
import { z } from 'zod';
import { errorSchema } from './responses.js';

/** Either header works on every route behind a key (keys-access.ts); Bearer is listed first as the usual one. */
export const SECURITY_SCHEMES = {
  bearerAuth: { type: 'http' as const, scheme: 'bearer', description: 'Authorization: Bearer <key> (API_KEY or a per-agent key)' },
  apiKey: { type: 'apiKey' as const, in: 'header', name: 'X-API-Key', description: 'The same key in X-API-Key' },
};
export const NEEDS_KEY: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { apiKey: [] }];
/** For routes anyone may call (liveness, readiness). */
export const NO_KEY: Array<Record<string, string[]>> = [];

const MEANING: Record<number, string> = {
  400: 'The input is not valid (VALIDATION_ERROR, INVALID_JSON, BAD_REQUEST)',
  401: 'No API key, or not a valid one (UNAUTHORIZED)',
  403: "The key's role may not call this (FORBIDDEN)",
  404: 'Not found (NOT_FOUND)',
  405: 'Method not allowed (METHOD_NOT_ALLOWED)',
  409: 'The task is not in a state that allows this, or the caller no longer holds it (NOT_PENDING, NOT_CLAIMABLE, LEASE_MISMATCH, WIP_LIMIT, CONFLICT)',
  413: 'The body is too large (PAYLOAD_TOO_LARGE)',
  415: 'The body is not JSON (UNSUPPORTED_MEDIA_TYPE)',
  422: 'Refused as it stands (INVALID, DEPENDENCY_CYCLE, UNKNOWN_DEPENDENCY, IDEMPOTENCY_MISMATCH)',
  429: 'Too many wrong keys from this address, or too many waiting claims or streams (RATE_LIMITED, TOO_MANY_WAITERS, TOO_MANY_STREAMS); see Retry-After',
};
const ERRORS = Object.fromEntries(Object.entries(MEANING).map(([status, text]) => [status, errorSchema.describe(text)])) as Record<number, typeof errorSchema>;

/** Input in the query or path: it can be refused. */
export const INPUT = [400];
/** A JSON body: refused when invalid, too large or not JSON. */
export const BODY = [400, 413, 415];
/** Answered by every route behind a key, before the route runs (keys-access.ts). */
const KEYED = [401, 403, 429];

/**
 * A route's `response` schemas: its successes plus `{"error","code"}` for each 4xx it can answer. fastify
 * serializes an error through the schema of its status too, so these are what clients really receive.
 */
export function replies<S extends Record<number, unknown>>(success: S, errors: number[] = [], options: { keyed?: boolean } = {}) {
  const statuses = [...new Set([...errors, ...(options.keyed === false ? [] : KEYED)])].sort();
  const answers: Record<number, unknown> = {};
  for (const status of statuses) answers[status] = ERRORS[status] ?? errorSchema;
  // Typed as the successes only: handlers return those and throw the errors.
  return { ...answers, ...success } as S;
}

/** A success that is not JSON (metrics text, an event stream): its media type and a description of the body. */
export const textReply = (mediaType: string, description: string) => ({ description, content: { [mediaType]: { schema: z.string().describe(description) } } });
