// Watching a dedicated database session (see Db.openSession) for its end.
import type { Logger } from '../logger.js';
import type { DedicatedSession } from '../store/db.js';

/** Resolves (never rejects) when the session fails or ends, with the reason. */
export function connectionLost(client: DedicatedSession): Promise<Error> {
  return new Promise((resolve) => {
    client.once('error', (err) => resolve(err));
    client.once('end', () => resolve(new Error('connection ended')));
  });
}

/**
 * A warning function that says something at most every 30 s, and nothing once `signal` aborted: a
 * database outage would otherwise warn on every try of every loop.
 */
export function rareWarnings(log: Logger, signal: AbortSignal, now: () => number = Date.now): (err: unknown, message: string) => void {
  let warnedAt = Number.NEGATIVE_INFINITY;
  return (err, message) => {
    const at = now();
    if (signal.aborted || at - warnedAt < 30_000) return;
    warnedAt = at;
    log.warn({ err: { message: (err as Error).message } }, message);
  };
}
