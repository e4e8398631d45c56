import { once } from 'node:events';
import net, { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  type ClientOptions,
  DiscordAPIError,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  HTTPError,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  SlashCommandBuilder,
  type Interaction,
  type TextChannel,
} from 'discord.js';
import { startFakeDiscord, type FakeDiscord } from './index.js';

type Handler = (interaction: Interaction) => Promise<void>;

// Record every outgoing TCP connection made in this worker: everything must stay on loopback
// (a leak to discord.com / the CDN would hang on this offline machine).
const connectTargets: string[] = [];
const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function patchedConnect(this: net.Socket, ...args: unknown[]) {
  const first = args[0] as { host?: string; path?: string } | number | string | unknown[];
  if (Array.isArray(first)) {
    const opts = first[0] as { host?: string; path?: string };
    connectTargets.push(opts?.path ? 'ipc' : String(opts?.host ?? 'localhost'));
  } else if (typeof first === 'object' && first !== null) connectTargets.push(first.path ? 'ipc' : String(first.host ?? 'localhost'));
  else if (typeof first === 'number' || /^\d+$/.test(String(first))) connectTargets.push(String(args[1] ?? 'localhost'));
  else connectTargets.push('ipc');
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;

async function until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** discord.js waits >= 5 s between two IDENTIFYs of a shard; this skips that for re-identify tests. */
const noIdentifyThrottle = { buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }) };

async function login(fake: FakeDiscord, extra: Partial<ClientOptions> = {}): Promise<Client> {
  const client = new Client(fake.clientOptions({ intents: [GatewayIntentBits.Guilds], ...extra }));
  const ready = once(client, Events.ClientReady);
  await client.login(fake.token);
  await ready;
  return client;
}

describe('fake Discord with a real discord.js Client', () => {
  let fake: FakeDiscord;
  let client: Client;
  let tasks: TextChannel;
  const handlers = new Map<string, Handler>();
  const handlerErrors: unknown[] = [];

  beforeAll(async () => {
    fake = await startFakeDiscord({ heartbeatInterval: 400 });
    client = await login(fake, { ws: noIdentifyThrottle });
    client.on(Events.InteractionCreate, (interaction) => {
      const key = interaction.isChatInputCommand() || interaction.isAutocomplete()
        ? `${interaction.isAutocomplete() ? 'ac:' : ''}${interaction.commandName}`
        : interaction.isMessageComponent() ? `c:${interaction.customId}` : 'other';
      const handler = handlers.get(key);
      if (!handler) {
        handlerErrors.push(new Error(`no handler for ${key}`));
        return;
      }
      handler(interaction).catch((e: unknown) => handlerErrors.push(e));
    });
    tasks = client.channels.cache.get(fake.channels['claude-tasks'].id) as TextChannel;
  });

  afterAll(async () => {
    await client?.destroy();
    await fake?.close();
    expect(handlerErrors).toEqual([]);
    expect(connectTargets.length).toBeGreaterThan(0);
    expect(connectTargets.filter((h) => h !== '127.0.0.1' && h !== 'ipc')).toEqual([]);
  });

  it('logs in: READY + GUILD_CREATE are cached, IDENTIFY carried the token and intents', async () => {
    expect(client.user?.id).toBe(fake.botUser.id);
    expect(client.application?.id).toBe(fake.applicationId);
    const guild = client.guilds.cache.get(fake.guildId);
    expect(guild?.available).toBe(true);
    expect(guild?.channels.cache.map((c) => c.name).sort()).toEqual(['claude-tasks', 'general']);
    expect(guild?.members.me?.id).toBe(fake.botUser.id);
    expect(tasks.isTextBased()).toBe(true);

    const [identify] = fake.gatewayReceived(2);
    expect(identify.d.token).toBe(fake.token);
    expect(identify.d.intents).toBe(GatewayIntentBits.Guilds);
    expect(fake.gatewayConnections()[0].query).toEqual({ v: '10', encoding: 'json' });
    expect(fake.calls({ method: 'GET', path: '/gateway/bot' })).toHaveLength(1);
    // Every request went to the fake and was routed.
    expect(fake.unhandledCalls()).toEqual([]);
  });

  it('answers heartbeats with op 11 (client computes a ping)', async () => {
    await fake.waitForGateway((m) => m.op === 1, 3000);
    await until(() => client.ws.ping >= 0, 3000);
    expect(client.ws.ping).toBeGreaterThanOrEqual(0);
  });

  it('registers guild commands via PUT and echoes them with ids', async () => {
    const commands = [
      new SlashCommandBuilder().setName('ping').setDescription('Ping'),
      new SlashCommandBuilder().setName('work').setDescription('Deferred work'),
      new SlashCommandBuilder()
        .setName('task')
        .setDescription('Task')
        .addStringOption((o) => o.setName('title').setDescription('Title').setRequired(true).setAutocomplete(true))
        .addIntegerOption((o) => o.setName('priority').setDescription('Priority')),
    ].map((b) => b.toJSON());
    const set = await client.application!.commands.set(commands, fake.guildId);
    expect([...set.values()].map((c) => c.name).sort()).toEqual(['ping', 'task', 'work']);
    const put = await fake.waitForCall({ method: 'PUT', path: `/applications/${fake.applicationId}/guilds/${fake.guildId}/commands` });
    expect(put.status).toBe(200);
    expect(put.body.map((c: { name: string }) => c.name)).toEqual(['ping', 'work', 'task']);
    expect(fake.commands().map((c) => c.id).sort()).toEqual([...set.keys()].sort());
  });

  it('channel.send returns a Message and is stored; edit and threads work', async () => {
    const msg = await tasks.send({ content: 'hello', embeds: [new EmbedBuilder().setTitle('T').setDescription('D')] });
    expect(msg.id).toMatch(/^\d{17,20}$/);
    expect(msg.content).toBe('hello');
    expect(msg.author.id).toBe(fake.botUser.id);
    expect(msg.embeds[0].title).toBe('T');
    expect(fake.channelMessages('claude-tasks').at(-1)?.id).toBe(msg.id);

    await msg.edit('hello (edited)');
    expect(fake.message(msg.id)?.content).toBe('hello (edited)');
    expect(fake.message(msg.id)?.edited_timestamp).not.toBeNull();

    const thread = await msg.startThread({ name: 'task-1 log' });
    expect(thread.id).toBe(msg.id);
    expect(thread.parentId).toBe(tasks.id);
    await thread.send('inside the thread');
    expect(fake.channelMessages(thread.id).map((m) => m.content)).toEqual(['inside the thread']);
    expect(fake.threads('claude-tasks').map((t) => t.name)).toEqual(['task-1 log']);

    const standalone = await tasks.threads.create({ name: 'standalone' });
    expect(fake.channel(standalone.id)?.type).toBe(11);
  });

  it('rejects payloads Discord would reject (content > 2000 chars)', async () => {
    const err = await tasks.send('x'.repeat(2001)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect((err as DiscordAPIError).code).toBe(50035);
  });

  it('multipart uploads: payload_json is parsed and files become attachments', async () => {
    const msg = await tasks.send({ content: 'log attached', files: [{ attachment: Buffer.from('line1\nline2'), name: 'task.log' }] });
    expect(msg.attachments.first()?.name).toBe('task.log');
    const call = fake.calls({ method: 'POST', path: `/channels/${tasks.id}/messages` }).at(-1)!;
    expect(call.headers['content-type']).toMatch(/^multipart\/form-data/);
    expect(call.body.content).toBe('log attached');
    expect(call.files.map((f) => [f.filename, f.data.toString()])).toEqual([['task.log', 'line1\nline2']]);
    const url = msg.attachments.first()!.url;
    expect(url.startsWith(`http://127.0.0.1:${fake.port}/attachments/`)).toBe(true);
    expect(await (await fetch(url)).text()).toBe('line1\nline2');
  });

  it('slash command -> interaction.reply with embed and button', async () => {
    handlers.set('ping', async (i) => {
      if (!i.isChatInputCommand()) return;
      const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setCustomId('approve:1').setLabel('Approve').setStyle(ButtonStyle.Success),
      );
      await i.reply({ embeds: [new EmbedBuilder().setTitle(`pong from ${i.user.username}`)], components: [row] });
    });
    const ix = fake.slashCommand('ping', {}, { user: { username: 'alice' } });
    const res = await ix.waitForResponse();
    expect(res.type).toBe(4);
    expect(res.data.embeds[0].title).toBe('pong from alice');
    const original = ix.original();
    expect(original?.components[0].components[0].custom_id).toBe('approve:1');
    expect(fake.channelMessages('claude-tasks').at(-1)?.id).toBe(original?.id);
  });

  it('button -> interaction.update edits the message it was on', async () => {
    handlers.set('c:approve:1', async (i) => {
      if (!i.isButton()) return;
      expect(i.message.id).toBeTruthy();
      await i.update({ content: `approved by ${i.user.username}`, components: [] });
    });
    const ix = fake.button('approve:1', { user: { username: 'bob' } });
    const res = await ix.waitForResponse();
    expect(res.type).toBe(7);
    const updated = fake.message(ix.payload.message.id);
    expect(updated?.content).toBe('approved by bob');
    expect(updated?.components).toEqual([]);
  });

  it('withResponse, showModal and modal submit', async () => {
    let callbackMessageId: string | undefined;
    handlers.set('ping', async (i) => {
      if (!i.isChatInputCommand()) return;
      const res = await i.reply({
        content: 'needs a reason',
        components: [new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId('why').setLabel('Why').setStyle(ButtonStyle.Secondary))],
        withResponse: true,
      });
      callbackMessageId = res.resource?.message?.id;
    });
    handlers.set('c:why', async (i) => {
      if (!i.isButton()) return;
      const input = new TextInputBuilder().setCustomId('reason').setLabel('Reason').setStyle(TextInputStyle.Short);
      await i.showModal(new ModalBuilder().setCustomId('why-modal').setTitle('Why?').addComponents(new ActionRowBuilder<TextInputBuilder>().addComponents(input)));
    });
    handlers.set('other', async (i) => {
      if (!i.isModalSubmit()) return;
      await i.reply({ content: `reason: ${i.fields.getTextInputValue('reason')}` });
    });
    const cmd = fake.slashCommand('ping');
    await cmd.waitForResponse();
    // The fake has answered; the bot's handler resumes a moment later.
    await until(() => callbackMessageId !== undefined);
    expect(callbackMessageId).toBe(cmd.original()?.id);
    const btn = fake.button('why');
    const modal = await btn.waitForResponse();
    expect(modal.type).toBe(9);
    expect(modal.data.custom_id).toBe('why-modal');
    const submit = fake.modalSubmit('why-modal', { reason: 'because' }, { message: callbackMessageId });
    expect((await submit.waitForResponse()).data.content).toBe('reason: because');
  });

  it('deferReply + editReply + followUp', async () => {
    handlers.set('work', async (i) => {
      if (!i.isChatInputCommand()) return;
      await i.deferReply();
      await i.editReply({ content: 'done', embeds: [{ title: 'result', description: 'ok' }] });
      await i.followUp({ content: 'extra detail', flags: 64 });
    });
    const ix = fake.slashCommand('work');
    const res = await ix.waitForResponse();
    expect(res.type).toBe(5);
    expect(res.edit?.method).toBe('PATCH');
    expect(res.data.content).toBe('done');
    const follow = await ix.waitForFollowUp(0);
    expect(follow.body.content).toBe('extra detail');
    expect(follow.response.flags & 64).toBe(64);
    expect(ix.original()?.content).toBe('done');
    expect(ix.original()!.flags & 128).toBe(0); // no longer "thinking"
    expect(ix.calls().map((c) => c.method)).toEqual(['POST', 'PATCH', 'POST']);
  });

  it('slash command options are delivered and autocomplete responds with choices', async () => {
    let seen: unknown;
    handlers.set('task', async (i) => {
      if (!i.isChatInputCommand()) return;
      seen = { title: i.options.getString('title'), priority: i.options.getInteger('priority') };
      await i.reply({ content: 'queued', flags: 64 });
    });
    handlers.set('ac:task', async (i) => {
      if (!i.isAutocomplete()) return;
      const focused = i.options.getFocused(true);
      await i.respond([{ name: `${focused.name}:${focused.value}!`, value: 'v1' }]);
    });
    const ix = fake.slashCommand('task', { title: 'Fix bug', priority: 2 });
    expect((await ix.waitForResponse()).data.flags).toBe(64);
    expect(seen).toEqual({ title: 'Fix bug', priority: 2 });

    const ac = fake.autocomplete('task', [{ name: 'title', value: 'fi', focused: true }]);
    const res = await ac.waitForResponse();
    expect(res.type).toBe(8);
    expect(res.data.choices).toEqual([{ name: 'title:fi!', value: 'v1' }]);
  });

  it('429 with retry_after is waited out and retried by discord.js', async () => {
    const path = `/channels/${tasks.id}/messages`;
    const start = fake.mark();
    fake.rateLimitNext({ method: 'POST', path, retryAfter: 0.3 });
    const t0 = Date.now();
    const msg = await tasks.send('after rate limit');
    expect(msg.content).toBe('after rate limit');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    const statuses = fake.calls((c) => c.seq > start && c.path === path).map((c) => c.status);
    expect(statuses).toEqual([429, 200]);
    const limited = fake.calls((c) => c.seq > start && c.status === 429)[0];
    expect(limited.response).toMatchObject({ retry_after: 0.3, global: false });
  });

  it('429 on an interaction callback is retried too', async () => {
    handlers.set('ping', async (i) => {
      if (i.isChatInputCommand()) await i.reply('pong');
    });
    fake.rateLimitNext({ path: /\/callback$/, retryAfter: 0.1 });
    const ix = fake.slashCommand('ping');
    const res = await ix.waitForResponse();
    expect(res.data.content).toBe('pong');
    expect(ix.calls().map((c) => c.status)).toEqual([429, 204]);
  });

  it('a single 500 is retried; persistent 500s surface as HTTPError', async () => {
    const path = `/channels/${tasks.id}/messages`;
    let start = fake.mark();
    fake.failNext(500, { method: 'POST', path });
    await tasks.send('survives one 500');
    expect(fake.calls((c) => c.seq > start && c.path === path).map((c) => c.status)).toEqual([500, 200]);

    start = fake.mark();
    fake.failNext(503, { method: 'POST', path, times: 4 }); // discord.js: 1 try + 3 retries
    const err = await tasks.send('never arrives').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HTTPError);
    expect((err as HTTPError).status).toBe(503);
    expect(fake.calls((c) => c.seq > start && c.path === path)).toHaveLength(4);
  });

  it('delayNext delays a response', async () => {
    fake.delayNext(200, { method: 'POST' });
    const t0 = Date.now();
    await tasks.send('slow');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it('unknown routes are recorded and answered 404 {message:"Unknown", code:0}', async () => {
    const err = await client.rest.get('/guilds/1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect((err as DiscordAPIError).status).toBe(403); // not our guild
    const err2 = await client.rest.get(`/channels/${tasks.id}/pins`).catch((e: unknown) => e);
    expect((err2 as DiscordAPIError).status).toBe(404);
    expect(fake.unhandledCalls().map((c) => c.path)).toEqual([`/channels/${tasks.id}/pins`]);
  });

  it('forced gateway close (4000) -> discord.js resumes and keeps receiving interactions', async () => {
    const resumed = once(client, Events.ShardResume);
    await fake.disconnectGateway(4000);
    const resume = await fake.waitForGateway((m) => m.op === 6, 5000);
    expect(resume.d.session_id).toBe(fake.gatewayConnections()[0].sessionId);
    await resumed;
    const ix = fake.slashCommand('ping');
    expect((await ix.waitForResponse()).data.content).toBe('pong');
    expect(fake.gatewayReceived(2)).toHaveLength(1); // resumed, not re-identified
  });

  it('forced gateway close (1000) -> discord.js re-identifies with a new session', async () => {
    await fake.disconnectGateway(1000);
    const identify = await fake.waitForIdentify(1, 5000);
    expect(identify.d.token).toBe(fake.token);
    const ix = fake.slashCommand('ping');
    expect((await ix.waitForResponse()).data.content).toBe('pong');
  });

  it('waitForCall rejects with a readable list of recent calls', async () => {
    const err = await fake.waitForCall({ method: 'DELETE', path: '/nope' }, 50).catch((e: Error) => e);
    expect(String(err)).toMatch(/timed out after 50ms waiting for DELETE \/nope[\s\S]*Recent REST calls/);
  });
});

describe('bad token, gateway auth and shutdown', () => {
  it('REST 401 -> login rejects with TokenInvalid', async () => {
    const fake = await startFakeDiscord();
    const client = new Client(fake.clientOptions({ intents: [GatewayIntentBits.Guilds] }));
    await expect(client.login('not-the-token')).rejects.toThrow(/invalid token/i);
    fake.setRejectToken(true);
    await expect(client.login(fake.token)).rejects.toThrow(/invalid token/i);
    expect(fake.calls({ status: 401 }).length).toBeGreaterThanOrEqual(2);
    await client.destroy();
    await fake.close();
  });

  it('user messages reach a GuildMessages client; content is stripped without MessageContent', async () => {
    const fake = await startFakeDiscord();
    const client = new Client(fake.clientOptions({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages] }));
    const ready = once(client, Events.ClientReady);
    await client.login(fake.token);
    await ready;
    const seen: Array<{ content: string; author: string }> = [];
    client.on(Events.MessageCreate, (m) => seen.push({ content: m.content, author: m.author.username }));
    fake.userMessage('general', 'no mention', { user: { username: 'carol' } });
    fake.userMessage('general', `<@${fake.botUser.id}> hi`, { user: { username: 'carol' } });
    await until(() => seen.length >= 2);
    expect(seen).toEqual([
      { content: '', author: 'carol' },
      { content: `<@${fake.botUser.id}> hi`, author: 'carol' },
    ]);
    await client.destroy();
    await fake.close();
  });

  it('gateway IDENTIFY with a wrong token is closed with 4004', async () => {
    const fake = await startFakeDiscord();
    const ws = new WebSocket(`${fake.gatewayUrl}/?v=10&encoding=json`);
    const [hello] = (await once(ws, 'message')) as [Buffer];
    expect(JSON.parse(hello.toString())).toMatchObject({ op: 10, d: { heartbeat_interval: 41250 } });
    ws.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } }));
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(4004);
    await fake.close();
  });

  it('close() frees the port and leaves no sockets behind', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
    const fake = await startFakeDiscord();
    const client = await login(fake);
    await client.destroy();
    await fake.close();
    const refused = () =>
      new Promise<boolean>((resolve) => {
        const s = connect(fake.port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.once('error', () => {
          s.destroy();
          resolve(true);
        });
      });
    await vi.waitFor(async () => expect(await refused()).toBe(true));
    // Closed sockets leave the list of active handles on a later tick.
    await vi.waitFor(() => expect(process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length).toBeLessThanOrEqual(before));
  });
});
