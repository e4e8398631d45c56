// Starts `athena serve`: store, core, HTTP app and background work in one process; returns a handle to stop it.
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { createEventBus, type EventBus } from './core/events.js';
import { createQueue, type Queue } from './core/queue.js';
import { createClaimWaiters, type ClaimWaiters } from './core/waiters.js';
import type { Logger } from './logger.js';
import { buildApp } from './api/app.js';
import { keyAuthenticator } from './api/auth.js';
import { SqlKeyStore } from './store/keys-store.js';
import { resolveApiKey, type ResolvedKey } from './api-key.js';
import { openStore } from './store/open.js';
import type { Db } from './store/db.js';
import { createReplicaBus } from './cluster/replica-bus.js';
import { startEventFeed } from './cluster/event-feed.js';
import { runWhileLeader, type Leadership } from './cluster/leadership.js';
import { startDiscordBot, type DiscordBot } from './bot/bot.js';

export type RunningServer = {
  app: FastifyInstance;
  url: string;
  queue: Queue;
  bus: EventBus;
  waiters: ClaimWaiters;
  db: Db;
  apiKey: ResolvedKey;
  /** Whether this replica runs the loops and the Discord gateway (always, on SQLite). */
  leadership: Leadership;
  /** Stops taking requests, releases long-poll waiters, stops loops, closes the database. */
  close(): Promise<void>;
};

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const { store, db } = await openStore(config, { log: log.child({ room: 'store' }) });
  // On Postgres, events reach the bus both from this process and from the cross-replica feed.
  const bus = createReplicaBus(createEventBus((err) => log.error({ err }, 'event listener failed')));
  const queue = createQueue({
    store,
    bus,
    config: {
      leaseMs: config.LEASE_SECONDS * 1000,
      maxAttempts: config.MAX_ATTEMPTS,
      retryBaseMs: config.RETRY_BASE_SECONDS * 1000,
      wipLimit: config.WIP_LIMIT,
    },
  });
  const waiters = createClaimWaiters(queue);
  const apiKey = resolveApiKey(config.API_KEY, dirname(config.DB_PATH));
  const keys = new SqlKeyStore(db);
  let ready = false;
  let leadership: Leadership | null = null;
  const leadershipCheck = () => ({ leadership: { ok: true, detail: leadership?.isLeader() ? 'leader' : 'follower' } });
  let discord: DiscordBot | null = null;

  const app = await buildApp(
    {
      queue,
      waiters,
      config,
      authenticate: keyAuthenticator({ adminKey: apiKey.key, keys, now: queue.now }),
      keys,
      ready: () => ready,
      health: () => ({ ...leadershipCheck(), ...(discord ? { discord: discord.health() } : {}) }),
    },
    { logger: log.child({ room: 'api' }) },
  );

  const swept = await queue.sweepExpiredLeases();
  if (swept.requeued + swept.failed > 0) log.info(swept, 'requeued tasks whose lease expired while the server was down');

  const stopLoops = new AbortController();
  const feed = startEventFeed({ db, store, bus, signal: stopLoops.signal, log });
  // Exactly one replica runs the periodic loops and the Discord gateway; on SQLite, this one.
  leadership = runWhileLeader(
    db,
    stopLoops.signal,
    (leaderSignal) => {
      // Connects in the background: Discord being down or refusing the token never blocks the API.
      if (config.DISCORD_TOKEN) discord = startDiscordBot({ token: config.DISCORD_TOKEN, config, queue, log: log.child({ room: 'discord' }) }, leaderSignal);
      const sweeper = setInterval(() => {
        queue.sweepExpiredLeases().catch((err) => log.error({ err, loop: 'sweeper' }, 'lease sweep failed'));
      }, config.SWEEP_INTERVAL_SECONDS * 1000);
      sweeper.unref();
      leaderSignal.addEventListener('abort', () => clearInterval(sweeper));
    },
    { log },
  );
  const running = leadership;

  await app.listen({ host: config.API_HOST, port: config.API_PORT });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.API_PORT;
  const shownHost = config.API_HOST === '0.0.0.0' || config.API_HOST === '::' ? 'localhost' : config.API_HOST;
  const url = `http://${shownHost}:${port}`;
  ready = true;

  let closing: Promise<void> | null = null;
  return {
    app,
    url,
    queue,
    bus,
    waiters,
    db,
    apiKey,
    leadership: running,
    close() {
      closing ??= (async () => {
        ready = false;
        stopLoops.abort();
        waiters.releaseAll();
        await app.close();
        await Promise.all([running.stopped, feed.stopped, discord?.stopped]);
        await db.close();
      })();
      return closing;
    },
  };
}
