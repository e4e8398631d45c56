// Every environment variable Athena reads, in one zod schema with defaults and clear errors.
import { z } from 'zod';
import { ConfigError } from './config-error.js';

const bool = z
  .union([z.boolean(), z.string()])
  .transform((v, ctx) => {
    if (typeof v === 'boolean') return v;
    const s = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
    ctx.addIssue({ code: 'custom', message: `expected true/false, got "${v}"` });
    return z.NEVER;
  });

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined));

/** Shorter admin keys can be guessed (or were typed by hand); the error says how to make a good one. */
export const API_KEY_MIN_LENGTH = 24;
const KEY_ADVICE = "generate one with `openssl rand -hex 32` or `node -e \"console.log(require('crypto').randomBytes(32).toString('hex'))\"`, or leave API_KEY unset to have one generated";

/** A Discord id (snowflake): 17 to 20 digits today; a little slack either way. */
const SNOWFLAKE = /^\d{15,21}$/;

/**
 * Which proxies may set X-Forwarded-For (fastify's trustProxy): unset or false trusts none; the
 * proxies' addresses or CIDR ranges (comma-separated) trust those; `true` trusts any peer, which is
 * only safe when nothing but the proxy can reach the port.
 */
const trustProxy = z
  .string()
  .optional()
  .transform((v, ctx): boolean | string => {
    const s = v?.trim() ?? '';
    if (s === '' || /^(false|no|off)$/i.test(s)) return false;
    if (/^(true|yes|on)$/i.test(s)) return true;
    const parts = s.split(',').map((p) => p.trim()).filter(Boolean);
    if (parts.every((p) => /^[0-9a-f.:]*[.:][0-9a-f.:]*(\/\d{1,3})?$/i.test(p) || ['loopback', 'linklocal', 'uniquelocal'].includes(p))) return parts.join(',');
    ctx.addIssue({ code: 'custom', message: `expected true, false, or the proxies' addresses / CIDR ranges, comma-separated (e.g. 127.0.0.1 or 10.0.0.0/8), got "${v}"` });
    return z.NEVER;
  });

export const configSchema = z.object({
  API_HOST: z.string().default('0.0.0.0').describe('address to listen on'),
  API_PORT: int(0, 65535).default(5051).describe('port'),
  API_KEY: optionalString.meta({ description: 'the admin API key, at least 24 characters; when unset, a random key is generated once into `<data dir>/api-key`', whenUnset: 'generated' }),
  TRUST_PROXY: trustProxy.describe('the reverse proxies\' addresses or CIDR ranges (comma-separated) whose `X-Forwarded-For` names the client; `true` trusts any peer'),
  REQUEST_TIMEOUT_SECONDS: int(1, 3600).default(30).describe('a request whose body has not arrived by then loses its connection'),
  EVENT_STREAMS_PER_KEY: int(1, 100_000).default(20).describe('open `GET /api/events` streams per API key (429 beyond)'),
  EVENT_STREAMS_PER_ADDRESS: int(1, 100_000).default(50).describe('open `GET /api/events` streams per client address (429 beyond)'),
  EVENT_STREAMS_MAX: int(1, 100_000).default(500).describe('open `GET /api/events` streams in all (429 beyond)'),
  EVENT_STREAM_BUFFER_BYTES: int(16 * 1024, 64 * 1024 * 1024).default(1024 * 1024).describe('a stream with more than this unsent is disconnected'),
  EVENT_STREAM_STALL_SECONDS: z.coerce.number().min(0.1).max(3600).default(30).describe('a stream whose connection has not drained for this long is disconnected'),
  DB_PATH: z.string().default('./data/athena.db').describe('SQLite file (its directory is the data directory)'),
  DATABASE_URL: optionalString.describe('`postgres://…` selects PostgreSQL instead of SQLite'),
  PG_POOL_SIZE: int(1, 200).default(10).describe('PostgreSQL connections per server'),
  PG_STATEMENT_TIMEOUT_SECONDS: z.coerce.number().min(0).max(86_400).default(60).describe('PostgreSQL cancels a statement running longer than this (its request answers 503); a second later the connection is dropped if the server has not answered at all (a hung server or network). 0 = no limit. Migrations are not limited'),
  PG_KEEPALIVE_SECONDS: int(1, 7200).default(10).describe('idle seconds before TCP keepalive probes start on PostgreSQL connections, so a connection whose path died is noticed and replaced'),
  PG_CONNECT_RETRY_SECONDS: int(0, 3600).default(30).describe('how long `serve` retries an unreachable PostgreSQL at start (with backoff) before it exits with a message naming the host'),
  SQLITE_SYNCHRONOUS: z.enum(['NORMAL', 'FULL']).default('NORMAL').describe('`NORMAL` survives process crashes (WAL); `FULL` also survives power loss, slower'),
  LEASE_SECONDS: int(5, 86_400).default(1800).describe('default lease length'),
  MAX_ATTEMPTS: int(1, 100).default(3).describe('default attempts before a task fails'),
  RETRY_BASE_SECONDS: z.coerce.number().min(0).max(86_400).default(30).describe('backoff base: retry after base × 2^(attempt−1), jittered to 50–150 %'),
  WIP_LIMIT: int(0, 10_000).default(1).describe('tasks one instance may hold at once (0 = no limit)'),
  REVIEW_REQUIRED_LABELS: list.default([]).describe('tasks with any of these labels require review when created without `review`'),
  REVIEW_REQUIRED_PROJECTS: list.default([]).describe('tasks of any of these projects require review when created without `review`'),
  REVIEW_PREFER_SECONDS: int(0, 86_400).default(600).describe('after changes are requested, how long only the agent that did the work may claim the task'),
  OUTPUT_MAX_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024).describe("what is kept of each run's live output (its newest bytes)"),
  OUTPUT_DISCORD_SECONDS: int(0, 86_400).default(30).describe("how often at most the Discord task thread gets the last lines of a running task's output; 0 turns it off"),
  HEALTH_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(60).default(2).describe('`/health`, `/ready` and `/api/health` answer within this even when the database hangs (reporting it as not answering)'),
  LONG_POLL_MAX_SECONDS: int(1, 600).default(60).describe('cap on `wait` for long-poll claims'),
  LONG_POLL_MAX_WAITERS: int(1, 10_000).default(8).describe('long-poll claims one agent instance may have waiting at once; more → 429 `TOO_MANY_WAITERS`'),
  SWEEP_INTERVAL_SECONDS: z.coerce.number().min(0.05).max(3600).default(15).describe('how often expired leases are requeued'),
  SCHEDULE_TICK_SECONDS: z.coerce.number().min(0.05).max(3600).default(15).describe('how often the leader creates the tasks of due schedules; a run later than max(60 s, 4 ticks) counts as missed'),
  WEBHOOK_ALLOWLIST: list
    .default([])
    .describe('where webhooks may point: host names (`*.example.com` for subdomains) or URL prefixes (`https://hooks.example.com/athena/`), comma-separated; empty allows any host, internal addresses included'),
  WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(300).default(10).describe('how long one webhook delivery waits for the receiver (answer included) before it counts as failed'),
  WEBHOOK_RETRY_HOURS: z.coerce.number().min(0.001).max(720).default(24).describe('a webhook delivery is retried this long, then failed; a webhook whose every attempt failed this long is disabled'),
  WEBHOOK_CONCURRENCY: int(1, 64).default(4).describe('webhook deliveries in flight at once'),
  WEBHOOK_POLL_SECONDS: z.coerce.number().min(0.05).max(3600).default(1).describe('how often the outbox is read for deliveries due (new events also wake it on the replica that runs it)'),
  BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024).describe('largest request body (413 beyond)'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('`fatal`…`trace`, or `silent`'),
  TZ: z
    .string()
    .default('UTC')
    .refine((zone) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, 'unknown time zone (use an IANA name such as UTC or Europe/Paris)')
    .describe('time zone (IANA name) for shown times and daily schedules'),

  DISCORD_TOKEN: optionalString.describe('Discord bot token; the bot runs only when it is set'),
  DISCORD_GUILD_ID: list.default([]).refine((ids) => ids.every((id) => SNOWFLAKE.test(id)), 'expected a Discord server id (digits) or a comma-separated list of them').describe('required with `DISCORD_TOKEN`: the server id(s) the bot works in, comma-separated; commands are registered there, interactions from elsewhere refused'),
  DISCORD_API_BASE: optionalString.meta({ description: 'Discord REST base URL (the gateway URL is asked from it); for proxies and tests', whenUnset: '`https://discord.com/api`' }),
  ALLOWED_CHANNELS: list.default(['claude-tasks']).describe('comma-separated channel ids (or names, resolved in the configured server at connect) where commands work; `*` for every channel there'),
  NOTIFICATION_CHANNEL: z.string().default('claude-tasks').describe('channel id (or name) for notifications'),
  DISCORD_ADMIN_ROLE: optionalString.describe('role id (or exact name) needed for `/answer` and to cancel, re-prioritise or retry others\' tasks'),
  DISCORD_SUBMIT_ROLE: optionalString.describe('role id (or exact name) needed for `/task`; unset: anyone in the channel'),
  DISCORD_THREADS: bool.default(true).describe('a thread per task for its claim, progress and result messages'),
  // Needs the Message Content intent: privileged, so off unless asked for (an intent the portal has
  // not enabled makes Discord refuse the bot's connection).
  DISCORD_THREAD_COMMENTS: bool
    .default(false)
    .describe('messages people write in a task\'s thread become its comments; enable the Message Content intent in the Discord developer portal first'),
  DISCORD_NOTIFY_COALESCE_MS: int(0, 60_000).default(1000).describe('how long the notifier gathers a burst before sending'),
  DISCORD_NOTIFY_BURST: int(1, 1000).default(5).describe('more events of one kind than this in a batch become one summary'),

  RETENTION_DAYS: int(0, 36_500).default(30).describe('finished (completed/cancelled) tasks older than this are purged, after a day\'s notice; `0` keeps them'),
  BACKUP_DIR: optionalString.meta({ description: 'where SQLite backups go', whenUnset: '`<data dir>/backups`' }),
  BACKUP_INTERVAL_HOURS: z.coerce.number().min(0).max(8760).default(24).describe('how often the server backs SQLite up (`0`: never)'),
  BACKUP_KEEP: int(1, 1000).default(7).describe('backups kept; older ones are deleted'),
  SUMMARY_TIME: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24-hour)')
    .default('09:00')
    .describe('daily summary time (HH:MM, 24-hour) in `TZ`'),
  INSTANCE_OFFLINE_MINUTES: z.coerce.number().min(0.01).max(10_080).default(10).describe('an agent not seen this long is shown offline'),
  METRICS_AUTH: bool.default(true).describe('`GET /metrics` needs the API key; `false` opens it (private networks only)'),
}).superRefine((config, ctx) => {
  if (config.API_KEY !== undefined && config.API_KEY.length < API_KEY_MIN_LENGTH) {
    ctx.addIssue({
      code: 'custom',
      path: ['API_KEY'],
      message: `is ${config.API_KEY.length} characters long; use at least ${API_KEY_MIN_LENGTH}: ${KEY_ADVICE}`,
    });
  }
  if (config.DISCORD_TOKEN && config.DISCORD_GUILD_ID.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['DISCORD_GUILD_ID'],
      message:
        'is required when DISCORD_TOKEN is set: the id of your Discord server (Developer Mode, then right-click the server, Copy Server ID), ' +
        'or a comma-separated list; the bot ignores every other server',
    });
  }
});

export type Config = z.infer<typeof configSchema>;

// Defined apart so the agent CLI can catch it without loading zod (this schema's library).
export { ConfigError };

/** Reads the config from an env-like object; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`));
  }
  return parsed.data;
}
