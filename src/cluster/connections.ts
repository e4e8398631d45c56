// Watching a dedicated database session (see Db.openSession) for its end.
import type { DedicatedSession } from '../store/db.js';

/** Resolves (never rejects) when the session fails or ends, with the reason. */
export function connectionLost(client: DedicatedSession): Promise<Error> {
  return new Promise((resolve) => {
    client.once('error', (err) => resolve(err));
    client.once('end', () => resolve(new Error('connection ended')));
  });
}
