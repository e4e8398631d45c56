// What can go wrong in the CLI: the client's AthenaError (the server refused, or could not be reached), or the
// user typed something we cannot send (UsageError). The CLI maps them to stderr + exit 1.
import { AthenaError } from '../client/index.js';

/** A bad flag or argument caught before anything is sent. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The code shown next to an error message, e.g. `NOT_FOUND` or `NETWORK`. */
export function errorCode(err: unknown): string | null {
  if (err instanceof AthenaError || err instanceof UsageError) return err.code;
  return null;
}

/** Errors that retrying cannot fix: a wrong key, a forbidden action, a bad request. */
export function isPermanent(err: unknown): boolean {
  return err instanceof UsageError || (err instanceof AthenaError && [400, 401, 403, 413, 415].includes(err.status));
}
