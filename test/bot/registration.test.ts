// Command registration: per guild with DISCORD_GUILD_ID, global without; the same commands
// (same ids) after a restart, because registration is one bulk overwrite.
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
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

const NAMES = ['answer', 'athena', 'cancel', 'done', 'priority', 'queue', 'retry', 'status', 'task'];

it('registers globally without DISCORD_GUILD_ID, and again idempotently after a restart', async () => {
  fake = await startFakeDiscord();
  dir = tempDir('athena-bot-');
  const env = { ...botEnv(fake, join(dir.path, 'athena.db')), DISCORD_GUILD_ID: '' };
  const globalPut = { method: 'PUT', path: `/applications/${fake.applicationId}/commands`, status: 200 };

  server = await startBotServer(env);
  await fake.waitForCall(globalPut, 10_000);
  expect(fake.commands('global').map((c) => c.name).sort()).toEqual(NAMES);
  expect(fake.commands('guild')).toEqual([]);
  const ids = fake.commands('global').map((c) => c.id).sort();

  await server.stop();
  server = await startBotServer(env);
  await eventually(() => fake!.calls(globalPut).length === 2, 10_000, 'the second registration');
  const [first, second] = fake.calls(globalPut);
  expect(second!.body).toEqual(first!.body);
  expect(fake.commands('global').map((c) => c.id).sort()).toEqual(ids);
  expect(fake.calls({ method: 'POST', path: /\/commands$/ })).toHaveLength(0);
  expect(fake.unhandledCalls()).toEqual([]);
});

it('reports a guild it cannot register in, and keeps serving', async () => {
  fake = await startFakeDiscord();
  dir = tempDir('athena-bot-');
  server = await startBotServer({ ...botEnv(fake, join(dir.path, 'athena.db')), DISCORD_GUILD_ID: '123456789012345678' });
  await fake.waitForCall({ method: 'PUT', path: /\/guilds\/123456789012345678\/commands$/ }, 10_000);
  expect(fake.calls({ method: 'PUT', path: /\/commands$/ })[0]!.status).toBe(403);
  const health = await eventually(async () => {
    const res = await server!.api('GET', '/health');
    return res.json.checks.discord?.detail?.startsWith('could not register') ? res.json : undefined;
  }, 15_000, 'the registration problem in /health');
  expect(health.checks.discord).toEqual({ ok: false, detail: expect.stringContaining('in guild 123456789012345678: Missing Access') });
  expect((await server.api('POST', '/api/tasks', { description: 'still fine' })).status).toBe(201);
});
