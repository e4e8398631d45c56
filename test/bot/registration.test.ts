// Command registration: in the configured guild(s) only (DISCORD_GUILD_ID is required with a token);
// the same commands (same ids) after a restart, because registration is one bulk overwrite.
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord/index.js';
import { tempDir } from '../helpers/stores.js';
import { botEnv, eventually, startBotServer, type BotServer } from './harness.js';

let fake: FakeDiscord | null = null;
let server: BotServer | null = null;
let dir: { path: string; cleanup(): void } | null = null;

afterEach(async () => {
  await server?.stop();
  await fake?.close();
  dir?.cleanup();
  fake = server = dir = null;
});

const NAMES = ['answer', 'athena', 'cancel', 'comment', 'done', 'edit', 'pause', 'priority', 'queue', 'reopen', 'resume', 'retry', 'schedule', 'status', 'task'];

it('refuses to start without DISCORD_GUILD_ID when DISCORD_TOKEN is set, saying what to set', async () => {
  fake = await startFakeDiscord();
  dir = tempDir('athena-bot-');
  const env = { ...botEnv(fake, join(dir.path, 'athena.db')), DISCORD_GUILD_ID: '' };
  expect(() => loadConfig(env)).toThrow(ConfigError);
  expect(() => loadConfig(env)).toThrow(/DISCORD_GUILD_ID: is required when DISCORD_TOKEN is set/);
  expect(() => loadConfig({ ...env, DISCORD_GUILD_ID: 'my-server' })).toThrow(/DISCORD_GUILD_ID: expected a Discord server id/);
  expect(loadConfig({ ...env, DISCORD_GUILD_ID: '123456789012345678, 223456789012345678' }).DISCORD_GUILD_ID).toEqual(['123456789012345678', '223456789012345678']);
});

it('registers in the configured guild only, and again idempotently after a restart', async () => {
  fake = await startFakeDiscord();
  dir = tempDir('athena-bot-');
  const env = botEnv(fake, join(dir.path, 'athena.db'));
  const guildPut = { method: 'PUT', path: `/applications/${fake.applicationId}/guilds/${fake.guildId}/commands`, status: 200 };

  server = await startBotServer(env);
  await fake.waitForCall(guildPut, 10_000);
  expect(fake.commands('guild').map((c) => c.name).sort()).toEqual(NAMES);
  expect(fake.commands('global')).toEqual([]);
  const ids = fake.commands('guild').map((c) => c.id).sort();

  await server.stop();
  server = await startBotServer(env);
  await eventually(() => fake!.calls(guildPut).length === 2, 10_000, 'the second registration');
  const [first, second] = fake.calls(guildPut);
  expect(second!.body).toEqual(first!.body);
  expect(fake.commands('guild').map((c) => c.id).sort()).toEqual(ids);
  expect(fake.calls({ method: 'PUT', path: `/applications/${fake.applicationId}/commands` })).toHaveLength(0);
  expect(fake.unhandledCalls()).toEqual([]);
});

it('reports a guild it cannot register in, and keeps serving', async () => {
  fake = await startFakeDiscord();
  dir = tempDir('athena-bot-');
  server = await startBotServer({ ...botEnv(fake, join(dir.path, 'athena.db')), DISCORD_GUILD_ID: '123456789012345678' });
  await fake.waitForCall({ method: 'PUT', path: /\/guilds\/123456789012345678\/commands$/ }, 10_000);
  expect(fake.calls({ method: 'PUT', path: /\/commands$/ })[0]!.status).toBe(403);
  const health = await eventually(async () => {
    const res = await server!.api('GET', '/api/health');
    return res.json.checks.discord?.detail?.startsWith('could not register') ? res.json : undefined;
  }, 15_000, 'the registration problem in /health');
  expect(health.checks.discord).toEqual({ ok: false, detail: expect.stringContaining('in guild 123456789012345678: Missing Access') });
  expect((await server.api('POST', '/api/tasks', { description: 'still fine' })).status).toBe(201);
});
