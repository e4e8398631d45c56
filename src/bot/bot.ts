// Runs the Discord bot inside `athena serve`: connects in the background (never blocking the API),
// registers the slash commands, answers interactions and runs the notifier.
import { once } from 'node:events';
import { DiscordjsErrorCodes, Events, Routes, type Client } from 'discord.js';
import type { Config } from '../config.js';
import type { Queue } from '../core/queue.js';
import type { Logger } from '../logger.js';
import type { DiscordSubmitters } from '../core/ports.js';
import { accessFromConfig, resolveAccess } from './access.js';
import { createDiscordClient } from './client.js';
import { commandDefinitions } from './commands/index.js';
import type { BotContext } from './context.js';
import { DiscordNotReadyError, createDiscordDelivery, isPermanentDiscordError } from './delivery.js';
import { createInteractionHandler } from './interactions.js';
import { createNotifier, type Delivery } from './notifier.js';
import { createThreadCommentHandler } from './thread-comments.js';
import { createThreadDirectory, type ThreadDirectory } from './threads.js';
import { startOutputUpdates } from './output-updates.js';
import { backoffMs, sleep, withDeadline } from '../timing.js';

export type DiscordBotConfig = Pick<
  Config,
  | 'DISCORD_GUILD_ID'
  | 'DISCORD_API_BASE'
  | 'ALLOWED_CHANNELS'
  | 'NOTIFICATION_CHANNEL'
  | 'DISCORD_ADMIN_ROLE'
  | 'DISCORD_SUBMIT_ROLE'
  | 'DISCORD_THREADS'
  | 'DISCORD_NOTIFY_COALESCE_MS'
  | 'DISCORD_NOTIFY_BURST'
  | 'OUTPUT_DISCORD_SECONDS'
> &
  Partial<Pick<Config, 'TZ' | 'DISCORD_THREAD_COMMENTS'>>;

export type DiscordBot = {
  /** Settles once the bot stopped after its signal aborted (bounded in time). */
  stopped: Promise<void>;
  health(): { ok: boolean; detail: string };
};

const LOGIN_TIMEOUT_MS = 30_000;
const RECONNECT_BASE_MS = 5_000;
const RECONNECT_MAX_MS = 5 * 60_000;
const STOP_WAIT_MS = 3_000;

type Session = { client: Client<true>; deliver: Delivery; threads: ThreadDirectory };

/** Starts the bot; it runs until `signal` aborts (shutdown, or this replica is no longer the leader). */
export function startDiscordBot(
  deps: { token: string; config: DiscordBotConfig; queue: Queue; submitters: DiscordSubmitters; log: Logger },
  signal: AbortSignal,
): DiscordBot {
  const { token, config, queue, submitters, log } = deps;
  let session: Session | null = null;
  let connecting: Client | null = null;
  let connectionDetail = 'connecting';
  let registrationProblem: string | null = null;

  const notifier = createNotifier({
    eventLog: queue,
    bus: queue.bus,
    nextInLine: () => queue.peekNext(),
    deliver: (message, rendered) => {
      if (!session) throw new DiscordNotReadyError('the bot is not connected to Discord');
      return session.deliver(message, rendered);
    },
    isPermanent: isPermanentDiscordError,
    log: log.child({ loop: 'discord-notifier' }),
    options: { coalesceMs: config.DISCORD_NOTIFY_COALESCE_MS, burst: config.DISCORD_NOTIFY_BURST, threads: config.DISCORD_THREADS },
  });
  const notifierDone = notifier.run(signal);

  // Live output goes to the task's thread only (the channel would drown in it).
  if (config.OUTPUT_DISCORD_SECONDS > 0 && config.DISCORD_THREADS) {
    startOutputUpdates(
      {
        subscribe: queue.output.subscribe,
        everyMs: config.OUTPUT_DISCORD_SECONDS * 1000,
        log: log.child({ loop: 'discord-output' }),
        async post(taskId, message) {
          const thread = session?.threads.find(taskId);
          if (!thread) return false;
          await thread.send(message);
          return true;
        },
      },
      signal,
    );
  }

  /** In each configured guild only: other servers never see the commands. */
  async function registerCommands(client: Client<true>, signal: AbortSignal): Promise<void> {
    const pending = [...config.DISCORD_GUILD_ID];
    for (let attempt = 0; pending.length > 0 && !signal.aborted && session?.client === client; attempt++) {
      const guildId = pending[0]!;
      try {
        // Bulk overwrite: the same definitions give the same commands, however often it runs.
        await client.rest.put(Routes.applicationGuildCommands(client.application.id, guildId), { body: commandDefinitions() });
        pending.shift();
        attempt = -1;
        registrationProblem = null;
        log.info({ scope: `guild ${guildId}` }, 'slash commands registered');
      } catch (err) {
        registrationProblem = `could not register the slash commands in guild ${guildId}: ${(err as Error).message}`;
        log.error({ err, guildId }, 'could not register the slash commands; retrying');
        await sleep(backoffMs(attempt, RECONNECT_BASE_MS, RECONNECT_MAX_MS), signal);
      }
    }
  }

  /** Logs in, retrying with backoff until it works or the bot stops. */
  async function connect(): Promise<void> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      const client = createDiscordClient(config.DISCORD_API_BASE, { threadComments: config.DISCORD_THREAD_COMMENTS === true });
      connecting = client;
      const guildIds = new Set(config.DISCORD_GUILD_ID);
      const threads = createThreadDirectory(client, guildIds);
      const ctx: BotContext = { queue, config, log, threads, submitters, access: accessFromConfig(config) };
      client.on(Events.InteractionCreate, createInteractionHandler(ctx));
      if (config.DISCORD_THREAD_COMMENTS) client.on(Events.MessageCreate, createThreadCommentHandler(ctx, client));
      client.on(Events.Error, (err) => log.warn({ err }, 'Discord client error'));
      // A configured server the bot joins, or that comes back from an outage, after it connected:
      // its channel and role names are looked up then (still within the configured servers only).
      const guildArrived = (guild: { id: string }) => {
        if (guildIds.has(guild.id) && client.isReady()) ctx.access = resolveAccess(client, config, log);
      };
      client.on(Events.GuildCreate, guildArrived);
      client.on(Events.GuildAvailable, guildArrived);
      const readyWait = new AbortController();
      const ready = once(client, Events.ClientReady, { signal: readyWait.signal });
      ready.catch(() => {});
      try {
        await withDeadline(client.login(token), LOGIN_TIMEOUT_MS, 'Discord login timed out');
        await withDeadline(ready, LOGIN_TIMEOUT_MS, 'Discord did not send the server list in time');
        if (signal.aborted) break;
        const live = client as Client<true>;
        // Names become ids once per connection, within the configured guilds; checks compare ids only.
        ctx.access = resolveAccess(live, config, log);
        session = {
          client: live,
          threads,
          deliver: createDiscordDelivery(live, threads, { access: () => ctx.access, notificationChannel: config.NOTIFICATION_CHANNEL, threads: config.DISCORD_THREADS }, log),
        };
        connecting = null;
        connectionDetail = `connected as ${live.user.tag}`;
        log.info({ user: live.user.tag, guilds: live.guilds.cache.size }, 'connected to Discord');
        // discord.js resumes dropped connections itself; only an unrecoverable close (e.g. the
        // token was reset) ends this session, and then we log in again from scratch.
        client.once(Events.ShardDisconnect, (event) => {
          if (session?.client !== client || signal.aborted) return;
          log.error({ code: event.code }, 'Discord closed the connection for good; reconnecting');
          session = null;
          connectionDetail = `disconnected (close code ${event.code}); reconnecting`;
          client
            .destroy()
            .catch((err: unknown) => log.warn({ err }, 'could not close the disconnected Discord client'))
            .then(() => connect())
            .catch((err: unknown) => log.error({ err }, 'could not reconnect to Discord'));
        });
        notifier.nudge();
        void registerCommands(live, signal);
        return;
      } catch (err) {
        await client.destroy().catch(() => {});
        if (signal.aborted) break;
        const delay = backoffMs(attempt, RECONNECT_BASE_MS, RECONNECT_MAX_MS);
        const rejected = (err as { code?: string }).code === DiscordjsErrorCodes.TokenInvalid || (err as { status?: number }).status === 401;
        connectionDetail = rejected ? 'Discord rejected DISCORD_TOKEN' : `cannot reach Discord: ${(err as Error).message}`;
        log.error({ err, retryInMs: delay }, rejected ? 'Discord rejected DISCORD_TOKEN; retrying later' : 'could not connect to Discord; retrying later');
        await sleep(delay, signal);
      } finally {
        readyWait.abort();
      }
    }
    connecting = null;
  }

  void connect();

  const stopped = new Promise<void>((resolve) => {
    const stop = async () => {
      // The notifier's last delivery gets at most STOP_WAIT_MS; the wait's timer is cleared as soon as it
      // is done, so a stopped bot holds no timer (shutdown, or a lost leadership, is not delayed by it).
      const waited = new AbortController();
      await Promise.race([notifierDone, sleep(STOP_WAIT_MS, waited.signal)]);
      waited.abort();
      const clients = [session?.client, connecting].filter((c): c is Client => Boolean(c));
      session = null;
      connectionDetail = 'stopped';
      await Promise.all(clients.map((c) => c.destroy().catch(() => {})));
      resolve();
    };
    if (signal.aborted) void stop();
    else signal.addEventListener('abort', () => void stop(), { once: true });
  });

  return {
    stopped,
    health() {
      if (!session || !session.client.isReady()) return { ok: false, detail: connectionDetail };
      if (registrationProblem) return { ok: false, detail: registrationProblem };
      const status = notifier.status();
      return status.ok ? { ok: true, detail: connectionDetail } : { ok: false, detail: status.detail };
    },
  };
}
