// Dedicated PostgreSQL sessions outside the pool, held open for LISTEN and the leader's advisory lock.
import pg from 'pg';
import type { DedicatedSession } from '../db.js';
import { mapPgError } from './errors.js';

/** Opens one session with the pool's settings; the caller owns it (attach an 'error' listener, end it). */
export async function openDedicatedSession(config: pg.ClientConfig): Promise<DedicatedSession> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 10_000, keepAliveInitialDelayMillis: config.keepAliveInitialDelayMillis ?? 10_000 });
  client.on('error', () => {}); // callers attach their own; this one keeps a late error from crashing
  try {
    await client.connect();
    return client;
  } catch (err) {
    client.end().catch(() => {});
    return mapPgError(err);
  }
}
