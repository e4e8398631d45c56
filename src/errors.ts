// Typed errors of the domain; each edge (API, bot, CLI) maps them once to its own form.

export type ErrorCode =
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'NOT_PENDING'
  | 'NOT_CLAIMABLE'
  | 'LEASE_MISMATCH'
  | 'WIP_LIMIT'
  | 'ASSIGNED'
  | 'NOT_EDITABLE'
  | 'TASK_HELD'
  | 'HAS_DEPENDANTS'
  | 'INVALID'
  | 'DEPENDENCY_CYCLE'
  | 'UNKNOWN_DEPENDENCY'
  | 'IDEMPOTENCY_MISMATCH'
  | 'TOO_MANY_WAITERS'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'TOO_MANY_STREAMS'
  | 'UNAVAILABLE'
  | 'METHOD_NOT_ALLOWED'
  | 'VALIDATION_ERROR'
  | 'BAD_REQUEST'
  | 'INVALID_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'URI_TOO_LONG';

export class AthenaError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AthenaError';
  }
}

export class NotFoundError extends AthenaError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('NOT_FOUND', message, details);
  }
}

/** A state transition was refused because the task is not in a state that allows it. */
export class ConflictError extends AthenaError {
  constructor(
    code: Extract<ErrorCode, 'CONFLICT' | 'NOT_PENDING' | 'NOT_CLAIMABLE' | 'LEASE_MISMATCH' | 'WIP_LIMIT' | 'ASSIGNED' | 'NOT_EDITABLE' | 'TASK_HELD' | 'HAS_DEPENDANTS'>, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

export class InvalidError extends AthenaError {
  constructor(message: string, details?: Record<string, unknown>, code: Extract<ErrorCode, 'INVALID' | 'DEPENDENCY_CYCLE' | 'UNKNOWN_DEPENDENCY' | 'IDEMPOTENCY_MISMATCH'> = 'INVALID') {
    super(code, message, details);
  }
}

export class UnauthorizedError extends AthenaError {
  constructor(message = 'Invalid API key') {
    super('UNAUTHORIZED', message);
  }
}

export class ForbiddenError extends AthenaError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

/** Too many wrong API keys from one address: the caller waits `retryAfterSeconds` before trying again. */
export class TooManyRequestsError extends AthenaError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('RATE_LIMITED', message);
  }
}

/** The path exists but not for this method; `allow` lists the methods it answers. */
export class MethodNotAllowedError extends AthenaError {
  constructor(
    message: string,
    readonly allow: readonly string[],
  ) {
    super('METHOD_NOT_ALLOWED', message);
  }
}

/**
 * The request itself is malformed (a header, the JSON, its size or type), before any domain rule applies.
 * The codes are the ones fastify's own refusals map to, so a client sees one vocabulary.
 */
export class BadRequestError extends AthenaError {
  constructor(
    code: Extract<ErrorCode, 'VALIDATION_ERROR' | 'BAD_REQUEST' | 'INVALID_JSON' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'URI_TOO_LONG'>,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, details);
  }
}

/** An agent instance already has as many long-poll claims waiting as it may; it should not open more. */
export class TooManyWaitersError extends AthenaError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('TOO_MANY_WAITERS', message, details);
  }
}

/** The store cannot serve right now (database down, disk full, read-only). */
export class UnavailableError extends AthenaError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('UNAVAILABLE', message, details);
  }
}

/** A client holds as many event streams as it may (per key, per address, or the server's total). */
export class TooManyStreamsError extends AthenaError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('TOO_MANY_STREAMS', message, details);
  }
}
