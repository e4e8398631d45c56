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
import { SqlDiscordSubmitters } from './store/discord-submitters.js';
import { resolveApiKey, type ResolvedKey } from './api-key.js';
import { openStore } from './store/open.js';
import type { Db } from './store/db.js';
import { createReplicaBus } from './cluster/replica-bus.js';
import { startEventFeed } from './cluster/event-feed.js';
import { listenSession } from './cluster/listen-session.js';
import { startOutputRelay, type OutputRelay } from './cluster/output-relay.js';
import { createOutputFeed } from './core/task-output.js';
import { runWhileLeader, type Leadership } from './cluster/leadership.js';
import { keepPlannerStatsFresh } from './cluster/planner-stats.js';
// The bot is imported only when DISCORD_TOKEN is set: discord.js alone costs about 40 MB of memory.
import type { DiscordBot } from './bot/bot.js';
import { NOTIFIER_CURSOR } from './bot/notifier-cursor.js';
import { retentionNoticeText } from './jobs/retention.js';
import { createLoopRunner, type Loop, type LoopRunner } from './jobs/loop-runner.js';
import { startServerLoops } from './jobs/server-loops.js';
import { createWebhookDelivery, webhookRetryPolicy } from './jobs/webhooks.js';
import { createWebhookAdmin, webhookEventFor } from './core/webhooks.js';
import { SqlWebhookStore } from './store/sql-webhooks.js';
import { buildDailySummary, summaryText } from './jobs/summary.js';
import { createMetrics, type Metrics } from './metrics/registry.js';
import { logTaskEvents } from './metrics/task-event-log.js';
import { acquireDbLock, describeHolder, type DbLock } from './ops/lock.js';

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
  /** The background loops' runner: their state, and where more loops start. */
  loops: LoopRunner;
  metrics: Metrics;
  /** Carries live output between replicas (PostgreSQL); `ready` once it listens. */
  outputRelay: OutputRelay;
  /** Stops taking requests, releases long-poll waiters, stops loops, closes the database. */
  close(): Promise<void>;
};

/** How long shutdown waits for in-flight requests, then for loop runs, before cutting them off. */
const DRAIN_REQUESTS_MS = 3000;
const DRAIN_LOOPS_MS = 3000;

function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise.then(() => true), late]).finally(() => clearTimeout(timer));
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  // One server per SQLite file: a second one refuses to start, and `athena restore` checks this lock.
  let dbLock: DbLock | null = null;
  // What start-up has opened so far; when a later step fails, closed in reverse order before the error
  // is rethrown, so a failed start leaves no open database, checkpoint worker or lock file behind.
  const startedSoFar: Array<() => unknown> = [];
  const step = async <T>(run: () => T | Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      for (const close of startedSoFar.reverse()) {
        try {
          await close();
        } catch (closeErr) {
          log.warn({ err: closeErr }, 'could not close what a failed start-up opened');
        }
      }
      throw err;
    }
  };
  if (!config.DATABASE_URL && config.DB_PATH !== ':memory:') {
    const lock = acquireDbLock(config.DB_PATH, 'serve', { takeForeign: true });
    if (lock.replaced.kind === 'foreign' || lock.replaced.kind === 'stale') {
      log.warn({ previous: describeHolder(lock.replaced.holder), lock: lock.path }, 'took over the database lock of a process that is gone');
    }
    dbLock = lock;
    startedSoFar.push(() => lock.release());
  }
  const { store, db } = await step(() => openStore(config, { log: log.child({ component: 'store' }) }));
  startedSoFar.push(() => db.close());
  // On Postgres, events reach the bus both from this process and from the cross-replica feed.
  const onListenerError = (err: unknown) => log.error({ err }, 'event listener failed');
  const bus = createReplicaBus(createEventBus(onListenerError), { onListenerError });
  // Live output this process stores, and (on Postgres) what the output relay brings from the other replicas.
  const outputFeed = createOutputFeed(onListenerError);
  const queue = createQueue({
    store,
    bus,
    outputFeed,
    config: {
      leaseMs: config.LEASE_SECONDS * 1000,
      maxAttempts: config.MAX_ATTEMPTS,
      retryBaseMs: config.RETRY_BASE_SECONDS * 1000,
      wipLimit: config.WIP_LIMIT,
      outputMaxBytes: config.OUTPUT_MAX_BYTES,
      timeZone: config.TZ,
      review: { labels: config.REVIEW_REQUIRED_LABELS, projects: config.REVIEW_REQUIRED_PROJECTS, preferMs: config.REVIEW_PREFER_SECONDS * 1000 },
    },
  });
  const waiters = createClaimWaiters(queue, { maxPerInstance: config.LONG_POLL_MAX_WAITERS });
  startedSoFar.push(() => waiters.close());
  const apiKey = await step(() => resolveApiKey(config.API_KEY, dirname(config.DB_PATH)));
  const keys = new SqlKeyStore(db);
  let ready = false;
  let leadership: Leadership | null = null;
  const leadershipCheck = () => ({ leadership: { ok: true, detail: leadership?.isLeader() ? 'leader' : 'follower' } });
  let discord: DiscordBot | null = null;
  const metrics = createMetrics({
    queue,
    // The notifier keeps its position in the database, so any replica can tell how far behind it is.
    outboxBacklog: async () => {
      if (!config.DISCORD_TOKEN) return null;
      const position = await store.getCursor(NOTIFIER_CURSOR);
      return position === null ? 0 : Math.max(0, (await store.lastEventId()) - position);
    },
  });
  const loops = createLoopRunner({ log, onLoopStart: metrics.observeLoopStart, onRunEnd: metrics.observeLoopRun });
  const stopEventLog = logTaskEvents(bus, log.child({ component: 'tasks' }));
  startedSoFar.push(stopEventLog);
  const webhookStore = new SqlWebhookStore(db);
  const webhookDelivery = createWebhookDelivery({
    store: webhookStore,
    policy: webhookRetryPolicy(config),
    timeoutMs: config.WEBHOOK_TIMEOUT_SECONDS * 1000,
    concurrency: config.WEBHOOK_CONCURRENCY,
    allowlist: config.WEBHOOK_ALLOWLIST,
    keepMs: config.RETENTION_DAYS * 86_400_000,
    now: queue.now,
    // Through the event log, so the Discord notifier tells the admins durably.
    onDisabled: (webhook, reason) => queue.announce('webhook_notice', `Webhook #${webhook.id} (${webhook.url}) was disabled: ${reason}.`).then(() => {}),
    log: log.child({ loop: 'webhooks' }),
  });
  // The leader's delivery loop, woken by events that may have queued deliveries (they run off the request path).
  let webhookLoop: Loop | null = null;
  const stopWebhookWake = bus.subscribe((event) => {
    if (webhookLoop && webhookEventFor(event.type) && webhookDelivery.worthWaking()) void webhookLoop.runNow().catch(() => {});
  });
  startedSoFar.push(stopWebhookWake);

  const app = await step(() => buildApp(
    {
      queue,
      waiters,
      config,
      authenticate: keyAuthenticator({ adminKey: apiKey.key, keys, now: queue.now }),
      keys,
      ready: () => ready,
      health: () => ({ ...leadershipCheck(), ...(discord ? { discord: discord.health() } : {}), ...loops.healthChecks() }),
      metrics,
      summary: () => buildDailySummary(queue, queue.now(), { retentionDays: config.RETENTION_DAYS }),
      webhooks: createWebhookAdmin(webhookStore, { allowlist: config.WEBHOOK_ALLOWLIST, now: queue.now }),
    },
    { logger: log.child({ component: 'api' }) },
  ));
  startedSoFar.push(() => app.close());

  const swept = await step(() => queue.sweepExpiredLeases());
  if (swept.requeued + swept.failed > 0) log.info(swept, 'requeued tasks whose lease expired while the server was down');

  const stopLoops = new AbortController();
  // One LISTEN session for both (listen-session.ts): a connection fewer, and one wake-up a NOTIFY.
  const listen = listenSession({ db, signal: stopLoops.signal, log });
  const feed = startEventFeed({ db, store, bus, signal: stopLoops.signal, log, listen });
  const outputRelay = startOutputRelay({ db, feed: outputFeed, readOutput: (id, o) => queue.readOutput(id, o), signal: stopLoops.signal, log, listen });
  if (db.capabilities.listen) listen.start();
  startedSoFar.push(async () => {
    stopLoops.abort();
    await Promise.all([feed.stopped, outputRelay.stopped]);
  });

  // Long-poll claims answer at once when shutdown starts — after new requests get 503, before the
  // server waits for in-flight ones, each of which a waiting claim would otherwise hold up.
  app.addHook('preClose', async () => waiters.close());

  await step(() => app.listen({ host: config.API_HOST, port: config.API_PORT }));
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.API_PORT;
  const shownHost = config.API_HOST === '0.0.0.0' || config.API_HOST === '::' ? 'localhost' : config.API_HOST;
  const url = `http://${shownHost}:${port}`;
  ready = true;

  // Once the app serves: exactly one replica runs the periodic loops; on SQLite, this one.
  leadership = runWhileLeader(
    db,
    stopLoops.signal,
    (leaderSignal) => {
      const background = startServerLoops(
        {
          config,
          queue,
          db,
          log,
          runner: loops,
          // Through the event log, so the Discord notifier posts them durably, wherever it runs.
          onSummary: async (summary) => {
            const text = summaryText(summary, config.TZ);
            log.info({ loop: 'summary' }, text);
            await queue.announce('daily_summary', text);
          },
          onRetentionWarning: (warning) => queue.announce('retention_notice', retentionNoticeText(warning, config.TZ)).then(() => {}),
          webhooks: webhookDelivery,
        },
        leaderSignal,
      );
      webhookLoop = background.loops.find((loop) => loop.name === 'webhooks') ?? null;
      leaderSignal.addEventListener('abort', () => (webhookLoop = null), { once: true });
      // PostgreSQL only: claims stay index-ordered after bursts of creates.
      const plannerStats = keepPlannerStatsFresh(db, leaderSignal, { log });
      return Promise.all([background.stopped, plannerStats]).then(() => {});
    },
    { log },
  );
  const running = leadership;
  // The gateway is elected apart, among the replicas that have a token (on SQLite: this one).
  const discordLeadership = config.DISCORD_TOKEN
    ? runWhileLeader(
        db,
        stopLoops.signal,
        async (leaderSignal) => {
          const { startDiscordBot } = await import('./bot/bot.js');
          if (leaderSignal.aborted) return;
          // Connects in the background: Discord being down or refusing the token never blocks the API.
          const bot = startDiscordBot(
            { token: config.DISCORD_TOKEN!, config, queue, submitters: new SqlDiscordSubmitters(db), log: log.child({ component: 'discord' }) },
            leaderSignal,
          );
          discord = bot;
          await bot.stopped;
          if (discord === bot) discord = null; // another replica runs the gateway now
        },
        { log, role: 'discord' },
      )
    : null;

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
    loops,
    metrics,
    outputRelay,
    close() {
      closing ??= (async () => {
        ready = false;
        // 1. Stop accepting (new requests get 503), release long-poll waiters (the preClose hook),
        //    let in-flight requests finish — for a few seconds, then cut their connections.
        const appClosed = app.close();
        if (!(await within(appClosed, DRAIN_REQUESTS_MS))) {
          log.warn({ waitedMs: DRAIN_REQUESTS_MS }, 'requests still running at shutdown: closing their connections');
          app.server.closeAllConnections();
          await appClosed;
        }
        // 2. Loops, the bot, leadership and the event feed stop through their signal; work in flight gets a moment.
        stopLoops.abort();
        if (!(await within(Promise.all([running.stopped, discordLeadership?.stopped, feed.stopped, outputRelay.stopped, discord?.stopped]), DRAIN_LOOPS_MS))) {
          log.warn({ waitedMs: DRAIN_LOOPS_MS }, 'background work still running at shutdown: closing the database under it');
        }
        metrics.close();
        stopEventLog();
        // 3. Logs written out, then the database closed and its lock released.
        await within(new Promise<void>((resolve) => log.flush(() => resolve())), 1000);
        await db.close();
        dbLock?.release();
      })();
      return closing;
    },
  };
}
