// Starts the fake Discord and a real `athena serve` (in-process, 127.0.0.1, temp SQLite) whose bot logs in to it.
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord/index.js';
import type { FakeDiscordOptions } from '../helpers/fake-discord/types.js';
import { tempDir } from '../helpers/stores.js';

export const API_KEY = 'bot-test-key-0123456789abcdef';

/** ATHENA_TEST_LOG=debug shows the server's logs while a bot test runs. */
function testLogger(): Logger {
  const level = process.env.ATHENA_TEST_LOG;
  return level ? pino({ level }, pino.destination(2)) : silentLogger;
}

export type ApiResponse = { status: number; json: any };

export type BotServer = {
  server: RunningServer;
  /** A REST call to the running server (a real HTTP request on 127.0.0.1). */
  api(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  stop(): Promise<void>;
};

/** Environment for a server whose bot talks to `fake`. */
export function botEnv(fake: FakeDiscord, dbPath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    DB_PATH: dbPath,
    API_KEY,
    LOG_LEVEL: 'silent',
    BACKUP_INTERVAL_HOURS: '0',
    DISCORD_TOKEN: fake.token,
    DISCORD_API_BASE: fake.restUrl,
    DISCORD_GUILD_ID: fake.guildId,
    DISCORD_NOTIFY_COALESCE_MS: '150',
    ...extra,
  };
}

export async function startBotServer(env: Record<string, string>, log: Logger = testLogger()): Promise<BotServer> {
  const server = await startServer(loadConfig(env), log);
  const base = server.url;
  return {
    server,
    async api(method, path, body) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { 'x-api-key': API_KEY, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : null };
    },
    stop: () => server.close(),
  };
}

export type Harness = BotServer & {
  fake: FakeDiscord;
  dbPath: string;
  /** Resolves once the bot is connected and has registered its commands. */
  ready(): Promise<void>;
  close(): Promise<void>;
};

/** A fake Discord plus a server connected to it; `close` stops both and removes the database. */
export async function startHarness(options: { env?: Record<string, string>; fake?: FakeDiscordOptions; log?: Logger } = {}): Promise<Harness> {
  const fake = await startFakeDiscord(options.fake);
  const dir = tempDir('athena-bot-');
  const dbPath = join(dir.path, 'athena.db');
  let running: BotServer | null = null;
  try {
    running = await startBotServer(botEnv(fake, dbPath, options.env), options.log);
  } catch (err) {
    await fake.close();
    dir.cleanup();
    throw err;
  }
  const current = running;
  return {
    ...current,
    fake,
    dbPath,
    async ready() {
      await fake.waitForCall({ method: 'PUT', path: /\/commands$/, status: 200 }, 10_000);
    },
    async close() {
      await current.stop();
      await fake.close();
      dir.cleanup();
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
