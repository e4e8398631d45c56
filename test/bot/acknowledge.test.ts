// Every interaction is acknowledged within Discord's 3 seconds, even when the core is slow:
// the handlers over a deliberately slow queue, against a fake Discord that enforces the deadline.
import { once } from 'node:events';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessFromConfig } from '../../src/bot/access.js';
import { createInteractionHandler } from '../../src/bot/interactions.js';
import type { BotContext } from '../../src/bot/context.js';
import { createThreadDirectory } from '../../src/bot/threads.js';
import type { Queue } from '../../src/core/queue.js';
import { silentLogger } from '../../src/logger.js';
import { SqlDiscordSubmitters } from '../../src/store/discord-submitters.js';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord/index.js';
import { openTestQueue, sqliteBackend, type TestQueue } from '../helpers/stores.js';

/** Longer than the bot waits before deferring (1.5 s), so every answer below had to be deferred. */
const SLOW_MS = 1800;
const EPHEMERAL = 1 << 6;

let fake: FakeDiscord;
let client: Client;
let opened: TestQueue;

/** The same queue, but every call takes SLOW_MS longer (a database under load). */
function slowQueue(queue: Queue): Queue {
  return new Proxy(queue, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await new Promise((r) => setTimeout(r, SLOW_MS));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

beforeAll(async () => {
  fake = await startFakeDiscord({ callbackDeadlineMs: 3000 });
  opened = await openTestQueue(sqliteBackend);
  client = new Client(fake.clientOptions({ intents: [GatewayIntentBits.Guilds] }));
  const channel = fake.channels['claude-tasks']!.id;
  const config: BotContext['config'] = {
    ALLOWED_CHANNELS: [channel],
    NOTIFICATION_CHANNEL: channel,
    DISCORD_ADMIN_ROLE: undefined,
    DISCORD_SUBMIT_ROLE: undefined,
    DISCORD_THREADS: false,
    DISCORD_GUILD_ID: [fake.guildId],
  };
  const ctx: BotContext = {
    queue: slowQueue(opened.queue),
    config,
    log: silentLogger,
    threads: createThreadDirectory(client, new Set(config.DISCORD_GUILD_ID)),
    submitters: new SqlDiscordSubmitters(opened.db),
    access: accessFromConfig(config),
  };
  client.on(Events.InteractionCreate, createInteractionHandler(ctx));
  const ready = once(client, Events.ClientReady);
  await client.login(fake.token);
  await ready;
});

afterAll(async () => {
  await client?.destroy();
  await fake?.close();
  await opened?.cleanup();
});

describe('a slow core', () => {
  it('defers a slash command in time, then fills in the reply', async () => {
    const dispatched = Date.now();
    const ix = fake.slashCommand('task', { description: 'Slow but acknowledged' }, { user: { username: 'alice' } });
    const callback = await ix.waitForCallback(3000);
    // The fake answers 404 "Unknown interaction" to callbacks later than 3 s, as Discord does.
    expect(callback.status).toBe(204);
    expect(callback.body.type).toBe(5);
    expect(callback.at - dispatched).toBeLessThan(2500);
    const res = await ix.waitForResponse(SLOW_MS + 3000);
    expect(res.data.embeds[0].title).toBe('📋 Task Queued');
    expect((await opened.queue.get(1)).submittedBy).toBe('discord:alice');
  });

  it('turns a slow failure into an ephemeral message, not a public one', async () => {
    const ix = fake.slashCommand('cancel', { task_id: 4242 }, { user: { username: 'alice' } });
    const callback = await ix.waitForCallback(3000);
    expect(callback.body.type).toBe(5);
    const followUp = await ix.waitForFollowUp(0, SLOW_MS + 3000);
    expect(followUp.body.content).toBe('❌ Task #4242 not found');
    expect(followUp.body.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(fake.calls({ method: 'DELETE', path: /@original$/ }).some((c) => c.path.includes(ix.token))).toBe(true);
  });

  it('defers a page button with an update, then edits the message', async () => {
    for (let i = 0; i < 12; i++) await opened.queue.create({ description: `page filler ${i}` });
    const first = await fake.slashCommand('queue', {}, {}).waitForResponse(SLOW_MS * 3 + 3000);
    expect(first.data.embeds[0].footer.text).toBe('Page 1/2');
    const click = fake.button('athena:queue:1');
    const callback = await click.waitForCallback(3000);
    expect(callback.body.type).toBe(6);
    const edit = await click.waitForEdit(SLOW_MS * 3 + 3000);
    expect(edit.body.embeds[0].footer.text).toBe('Page 2/2');
  });

  it('answers autocomplete (which cannot be deferred) before the deadline', async () => {
    const dispatched = Date.now();
    const ac = fake.autocomplete('cancel', [{ name: 'task_id', value: 'page', focused: true }]);
    const res = await ac.waitForResponse(3000);
    expect(res.callback.status).toBe(204);
    expect(res.callback.at - dispatched).toBeLessThan(2500);
    expect(res.data.choices).toHaveLength(12);
  });
});
