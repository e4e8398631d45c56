// Leader election among replicas: exactly one runs the periodic loops, exactly one the Discord gateway.
import type { Logger } from '../logger.js';
import type { Db, DedicatedSession } from '../store/db.js';
import { pingSession, tryLeaderLock } from '../store/session-statements.js';
import { connectionLost } from './connections.js';
import { aborted, sleep, withDeadline } from '../timing.js';

/** Work only the leader does; it must stop when `leaderSignal` aborts (leadership lost or shutdown). */
export type LeaderWork = (leaderSignal: AbortSignal) => Promise<void> | void;

export type Leadership = {
  isLeader(): boolean;
  /** Settles once `signal` aborted and the leader work (if running) has stopped. */
  stopped: Promise<void>;
};

export type LeadershipOptions = {
  log: Logger;
  /**
   * What the leader runs; each role is elected on its own. The Discord gateway is a role of its
   * own so that only replicas that have a bot token compete for it.
   */
  role?: 'loops' | 'discord';
  /** How often a follower tries to take the lock (so takeover happens within about this long). */
  retryMs?: number;
  /** How often the leader checks its lock connection still answers; it steps down when it does not. */
  checkMs?: number;
};

/**
 * Runs `onElected` while this replica is the leader. Without advisory locks (SQLite: one process)
 * it is always the leader. With them (PostgreSQL) each replica keeps one dedicated connection and tries the lock every
 * `retryMs`; the holder pings that connection every `checkMs` and aborts its leader work when the
 * ping fails. A leader cut off from the database only learns so at its next ping, while the
 * server may already have dropped its session and let another replica take over: leader work
 * must tolerate a brief overlap (the loops' statements are atomic transitions; the notification
 * outbox advances a shared cursor).
 */
export function runWhileLeader(db: Db, signal: AbortSignal, onElected: LeaderWork, options: LeadershipOptions): Leadership {
  let leader = false;
  const role = options.role ?? 'loops';
  const log = options.log.child({ component: 'leadership', role });

  const lead = async (whileHeld: (leaderSignal: AbortSignal) => Promise<void>): Promise<void> => {
    const leaderAbort = new AbortController();
    leader = true;
    const work = Promise.resolve()
      .then(() => onElected(leaderAbort.signal))
      .catch((err) => log.error({ err }, 'leader work failed'));
    try {
      await whileHeld(leaderAbort.signal);
    } finally {
      leader = false;
      leaderAbort.abort();
      await work;
    }
  };

  const stopped = db.capabilities.advisoryLocks
    ? contendForLeadership(db, role, signal, lead, log, options.retryMs ?? 1000, options.checkMs ?? 2000)
    : lead(() => aborted(signal));
  return { isLeader: () => leader, stopped };
}

async function contendForLeadership(
  db: Db,
  role: string,
  signal: AbortSignal,
  lead: (whileHeld: (leaderSignal: AbortSignal) => Promise<void>) => Promise<void>,
  log: Logger,
  retryMs: number,
  checkMs: number,
): Promise<void> {
  let warnedAt = 0;
  while (!signal.aborted) {
    let client: DedicatedSession | undefined;
    let led = false;
    try {
      client = await db.openSession();
      const lost = connectionLost(client).then((err) => {
        throw err;
      });
      lost.catch(() => {}); // observed by the races below; this keeps an unraced loss quiet
      let locked = false;
      while (!signal.aborted && !locked) {
        locked = await Promise.race([withDeadline(tryLeaderLock(client, role), checkMs * 3, 'leader lock query timed out'), lost]);
        if (!locked) await Promise.race([sleep(retryMs, signal), lost]);
      }
      if (signal.aborted) break;
      log.info(role === 'discord' ? 'this replica now runs the Discord gateway' : 'this replica is now the leader (runs the periodic loops)');
      const held = client;
      led = true;
      await lead(async () => {
        try {
          while (!signal.aborted) {
            await Promise.race([sleep(checkMs, signal), lost]);
            if (signal.aborted) break;
            await Promise.race([withDeadline(pingSession(held), checkMs * 2, 'leader lock connection stopped answering'), lost]);
          }
        } catch (err) {
          // Said when decided: the leader work is aborted now and starts nothing more, though a
          // statement it has in flight on a dead link may only end when the link is back.
          log.warn({ err: { message: (err as Error).message } }, 'stepped down as leader: its lock connection failed; its leader work is stopping');
          throw err;
        }
      });
    } catch (err) {
      if (led && !signal.aborted) {
        log.warn('leader work stopped after stepping down');
      } else if (!signal.aborted && Date.now() - warnedAt > 30_000) {
        // Not reachable: keep trying, warning at most every 30 s.
        warnedAt = Date.now();
        log.warn({ err: { message: (err as Error).message } }, 'leader election: database connection failed; retrying');
      }
    } finally {
      // Ending the session releases the advisory lock at once.
      if (client) await withDeadline(client.end(), 2000, 'close timed out').catch(() => {});
    }
    if (!signal.aborted) await sleep(retryMs, signal);
  }
}
