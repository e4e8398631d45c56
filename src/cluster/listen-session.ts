// The one dedicated session a replica listens on (PostgreSQL LISTEN) and sends its notifications
// from, shared by the event feed and the output relay: a connection a replica instead of one each,
// and a NOTIFY anywhere in the database wakes one session of this replica instead of two
// (PostgreSQL runs a short transaction in every listening session for each NOTIFY, whatever its
// channel: 7 transactions a NOTIFY with three replicas of two sessions each, 4 with one each).
import type { Logger } from '../logger.js';
import type { Db, DedicatedSession } from '../store/db.js';
import { aborted, sleep, withDeadline } from '../timing.js';
import { connectionLost, rareWarnings } from './connections.js';

/** What uses the session: readies each connection of it (LISTEN, its handlers), then is told it is up, and when it is lost. */
export type ListenUser = {
  setup(session: DedicatedSession): Promise<void>;
  up(session: DedicatedSession): void;
  down(): void;
};

export type ListenSession = {
  /** Adds a user; every user is added before start. */
  use(user: ListenUser): void;
  /** Connects, and connects again after a loss (backing off to 10 s), until the signal aborts. */
  start(): void;
  /** Settles once the session ended after the signal aborted (when it aborts, if never started). */
  stopped: Promise<void>;
};

export function listenSession(options: { db: Db; signal: AbortSignal; log: Logger }): ListenSession {
  const { db, signal } = options;
  const log = options.log.child({ component: 'listen-session' });
  const users: ListenUser[] = [];
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const warn = rareWarnings(log, signal);

  async function loop(): Promise<void> {
    let delayMs = 500;
    while (!signal.aborted) {
      let client: DedicatedSession | undefined;
      let isUp = false;
      try {
        client = await db.openSession();
        const lost = connectionLost(client);
        for (const user of users) await user.setup(client);
        isUp = true;
        for (const user of users) user.up(client);
        delayMs = 500;
        const reason = await Promise.race([lost, aborted(signal).then(() => null)]);
        if (reason) warn(reason, 'LISTEN connection lost; reconnecting (events are polled meanwhile)');
      } catch (err) {
        warn(err, 'LISTEN connection failed; retrying (events are polled meanwhile)');
      } finally {
        if (isUp) for (const user of users) user.down();
        if (client) await withDeadline(client.end(), 2000, 'close timed out').catch(() => {});
      }
      if (signal.aborted) break;
      await sleep(delayMs, signal);
      delayMs = Math.min(delayMs * 2, 10_000);
    }
  }

  let started = false;
  void aborted(signal).then(() => {
    if (!started) markStopped();
  });
  return {
    use(user) {
      users.push(user);
    },
    start() {
      if (started) return;
      started = true;
      void loop().then(markStopped);
    },
    stopped,
  };
}
