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

export const configSchema = z.object({
  API_HOST: z.string().default('0.0.0.0'),
  API_PORT: int(0, 65535).default(5051),
  API_KEY: optionalString,
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
  DISCORD_GUILD_ID: optionalString,
  DISCORD_API_BASE: optionalString,
  ALLOWED_CHANNELS: list.default(['claude-tasks']),
  NOTIFICATION_CHANNEL: z.string().default('claude-tasks'),
  DISCORD_ADMIN_ROLE: optionalString,
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
