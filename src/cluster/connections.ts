// Which stores can hold a session open for LISTEN and advisory locks (PostgreSQL), found by shape.
import type pg from 'pg';
import type { Db } from '../store/db.js';

/** A store driver that can open a connection outside its pool (PostgresDb). */
export type DedicatedConnections = { connectDedicated(): Promise<pg.Client> };

/**
 * SQLite serves one process, so it needs no feed and is always the leader; a driver that can
 * open dedicated sessions is shared by replicas and takes part in both.
 */
export function dedicatedConnections(db: Db): DedicatedConnections | null {
  const candidate = db as Partial<DedicatedConnections>;
  return typeof candidate.connectDedicated === 'function' ? (candidate as DedicatedConnections) : null;
}

/** Resolves (never rejects) when the connection fails or ends, with the reason. */
export function connectionLost(client: pg.Client): Promise<Error> {
  return new Promise((resolve) => {
    client.once('error', (err) => resolve(err));
    client.once('end', () => resolve(new Error('connection ended')));
  });
}
