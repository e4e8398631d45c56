// Every environment variable Athena reads, in one zod schema with defaults and clear errors.
import { z } from 'zod';

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
  API_HOST: z.string().default('0.0.0.0'),
  API_PORT: int(0, 65535).default(5051),
  API_KEY: optionalString,
  TRUST_PROXY: trustProxy,
  REQUEST_TIMEOUT_SECONDS: int(1, 3600).default(30),
  EVENT_STREAMS_PER_KEY: int(1, 100_000).default(20),
  EVENT_STREAMS_PER_ADDRESS: int(1, 100_000).default(50),
  EVENT_STREAMS_MAX: int(1, 100_000).default(500),
  EVENT_STREAM_BUFFER_BYTES: int(16 * 1024, 64 * 1024 * 1024).default(1024 * 1024),
  EVENT_STREAM_STALL_SECONDS: z.coerce.number().min(0.1).max(3600).default(30),
  DB_PATH: z.string().default('./data/athena.db'),
  DATABASE_URL: optionalString,
  PG_POOL_SIZE: int(1, 200).default(10),
  PG_CONNECT_RETRY_SECONDS: int(0, 3600).default(30),
  SQLITE_SYNCHRONOUS: z.enum(['NORMAL', 'FULL']).default('NORMAL'),
  LEASE_SECONDS: int(5, 86_400).default(1800),
  MAX_ATTEMPTS: int(1, 100).default(3),
  RETRY_BASE_SECONDS: z.coerce.number().min(0).max(86_400).default(30),
  WIP_LIMIT: int(0, 10_000).default(1),
  LONG_POLL_MAX_SECONDS: int(1, 600).default(60),
  LONG_POLL_MAX_WAITERS: int(1, 10_000).default(8),
  SWEEP_INTERVAL_SECONDS: z.coerce.number().min(0.05).max(3600).default(15),
  BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
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
    }, 'unknown time zone (use an IANA name such as UTC or Europe/Paris)'),

  DISCORD_TOKEN: optionalString,
  DISCORD_GUILD_ID: list.default([]).refine((ids) => ids.every((id) => SNOWFLAKE.test(id)), 'expected a Discord server id (digits) or a comma-separated list of them'),
  DISCORD_API_BASE: optionalString,
  ALLOWED_CHANNELS: list.default(['claude-tasks']),
  NOTIFICATION_CHANNEL: z.string().default('claude-tasks'),
  DISCORD_ADMIN_ROLE: optionalString,
  DISCORD_SUBMIT_ROLE: optionalString,
  DISCORD_THREADS: bool.default(true),
  DISCORD_NOTIFY_COALESCE_MS: int(0, 60_000).default(1000),
  DISCORD_NOTIFY_BURST: int(1, 1000).default(5),

  RETENTION_DAYS: int(0, 36_500).default(30),
  BACKUP_DIR: optionalString,
  BACKUP_INTERVAL_HOURS: z.coerce.number().min(0).max(8760).default(24),
  BACKUP_KEEP: int(1, 1000).default(7),
  SUMMARY_TIME: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24-hour)')
    .default('09:00'),
  INSTANCE_OFFLINE_MINUTES: z.coerce.number().min(0.01).max(10_080).default(10),
  METRICS_AUTH: bool.default(true),
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

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads the config from an env-like object; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`));
  }
  return parsed.data;
}
