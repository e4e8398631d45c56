// Maps pg and network failures to Athena's typed errors: an unreachable or failing database is
// UnavailableError (503, retry later), bad values from a request are InvalidError (400).
import { AthenaError, UnavailableError, InvalidError } from '../../errors.js';

/** Socket-level failures: the server is down, restarting or unreachable. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);

/** pg's own messages for a connection that died or never came up (they carry no code). */
const NETWORK_MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /not queryable/i, /connection is closed/i, /pool after calling end/i, /query read timeout/i];

/**
 * SQLSTATE classes and codes meaning the database cannot serve right now:
 * 08 connection exception, 53 insufficient resources (disk full, out of memory, too many connections),
 * 57P01..57P05 shutdown / cannot connect now / idle timeouts, 58 system (I/O) error,
 * 25006 read-only transaction (a standby or a read-only disk), 57014 a statement cancelled (statement_timeout).
 */
function unavailableSqlState(code: string): boolean {
  return /^(08|53|58)/.test(code) || /^57P0[1-5]$/.test(code) || code === '25006' || code === '57014';
}

export function isUnavailable(err: unknown): boolean {
  if (err instanceof UnavailableError) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && unavailableSqlState(code)))) return true;
  const message = (err as Error | undefined)?.message ?? '';
  return NETWORK_MESSAGES.some((re) => re.test(message)) || (err instanceof AggregateError && err.errors.some(isUnavailable));
}

/**
 * Raised by athena_stamp_changed (migration 020, Dialect.stampGuard): a statement sent on the
 * strength of rows the process keeps found them changed; run again, it reads them first.
 */
export const STAMP_CHANGED = 'AT001';

/** Serialization failure, deadlock, or a stamp guard's refusal: the transaction may simply be run again. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === '40001' || code === '40P01' || code === STAMP_CHANGED;
}

export function mapPgError(err: unknown): never {
  if (err instanceof AthenaError) throw err;
  const code = (err as { code?: unknown }).code;
  if (isUnavailable(err)) {
    throw new UnavailableError(`database unavailable: ${describe(err)}`, typeof code === 'string' ? { code } : undefined);
  }
  if (typeof code === 'string') {
    // Class 22 (data exception) comes from values a request carried: a NUL character in text,
    // a number out of range. SQLite stores such values; PostgreSQL refuses them.
    if (code === '22021' || code === '22P05') throw new InvalidError('Text must not contain NUL (\\u0000) characters', { code });
    if (code.startsWith('22')) throw new InvalidError(`Invalid value: ${(err as Error).message}`, { code });
  }
  throw err;
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  const e = err as { message?: string; code?: string };
  return e.message || e.code || String(err);
}
