/**
 * The fake Discord REST API (`/api/v10/...`), served by node:http.
 *
 * Every request is recorded (see `RecordedCall`) before any fault injection or routing, and
 * waiters are notified once its response has been sent.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeDiscordState, InteractionRecord } from './state.js';
import type { FakeChannel, FakeMessage, FaultSpec, JsonObject, RecordedCall, RecordedFile } from './types.js';
import { isoNow, parseBody, readBody, sleep, snowflake, summarizeCall } from './util.js';
import { type ApiError, validateChoices, validateCommand, validateCommands, validateMessage, validateThreadName } from './validate.js';

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type Handler = (call: RecordedCall, params: string[]) => Reply;

interface Route {
  method: string;
  pattern: RegExp;
  /** Whether `Authorization: Bot <token>` is required. */
  auth: boolean;
  handler: Handler;
}

const INTENT_GUILDS = 1 << 0;
const INTENT_GUILD_MESSAGES = 1 << 9;

const FLAG_EPHEMERAL = 1 << 6;
const FLAG_LOADING = 1 << 7;
const FLAG_HAS_THREAD = 1 << 5;
/** Message flags a bot may set when sending. */
const SETTABLE_FLAGS = (1 << 2) | (1 << 6) | (1 << 12) | (1 << 15);

const TEXT_TYPES = new Set([0, 2, 5, 10, 11, 12, 13]);
const THREAD_TYPES = new Set([10, 11, 12]);

const err = (status: number, code: number, message: string): Reply => ({ status, body: { message, code } });
const unknownChannel = (): Reply => err(404, 10003, 'Unknown Channel');
const unknownMessage = (): Reply => err(404, 10008, 'Unknown Message');
const unknownWebhook = (): Reply => err(404, 10015, 'Unknown Webhook');
const unknownInteraction = (): Reply => err(404, 10062, 'Unknown interaction');
const missingAccess = (): Reply => err(403, 50001, 'Missing Access');
const apiError = (e: ApiError): Reply => ({ status: e.status, body: e.body });

export class FakeRest {
  private readonly routes: Route[] = [];
  /** Uploaded files by URL path (`/attachments/...`), served back on GET. */
  private readonly files = new Map<string, RecordedFile>();
  readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly state: FakeDiscordState,
    private readonly gatewayUrl: () => string,
  ) {
    this.registerRoutes();
  }

  // ---- HTTP plumbing --------------------------------------------------------------------

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const state = this.state;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    let parsed: { body: unknown; files: RecordedFile[] };
    try {
      parsed = await parseBody(raw, req.headers['content-type']);
    } catch {
      parsed = { body: raw.toString('utf8'), files: [] };
    }
    const versioned = /^\/api\/v(\d+)(\/.*)?$/.exec(url.pathname);
    // Route on decoded segments: discord.js sends `@original` as `%40original`, emoji encoded, etc.
    const path = decodePath(versioned ? (versioned[2] ?? '/') : url.pathname);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    const call = state.newCall({
      method: (req.method ?? 'GET').toUpperCase(),
      path,
      query: Object.fromEntries(url.searchParams.entries()),
      url: req.url ?? '/',
      body: parsed.body,
      files: parsed.files,
      headers,
    });

    const file = !versioned && call.method === 'GET' ? this.files.get(url.pathname) : undefined;
    if (file) {
      call.status = 200;
      call.response = null;
      res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.size) });
      res.end(file.data);
      state.completeCall(call);
      return;
    }

    let reply: Reply;
    const fault = state.takeFault(call);
    if (fault?.delayMs) await sleep(fault.delayMs, this.timers);
    if (state.closed) {
      res.destroy();
      return;
    }
    if (fault?.status) {
      reply = faultReply(fault);
      call.injected = fault.status === 429 ? 'rate-limit' : 'error';
    } else if (!versioned || versioned[1] !== '10') {
      reply = { status: 404, body: { message: 'Unknown', code: 0 } };
      call.unhandled = true;
    } else {
      reply = this.route(call);
    }

    call.status = reply.status;
    call.response = reply.body ?? null;
    if (state.options.debug) process.stderr.write(`[fake-discord] ${summarizeCall(call)}\n`);
    const body = reply.status === 204 || reply.body === undefined ? undefined : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      via: 'fake-discord',
      ...reply.headers,
    });
    res.end(body);
    state.completeCall(call);
  }

  private route(call: RecordedCall): Reply {
    const state = this.state;
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(call.path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== call.method) continue;
      if (state.rejectToken || (r.auth && call.headers.authorization !== `Bot ${state.token}`)) {
        if (state.rejectToken) call.injected = 'unauthorized';
        return err(401, 0, '401: Unauthorized');
      }
      try {
        return r.handler(call, m.slice(1));
      } catch (e) {
        process.stderr.write(`[fake-discord] handler for ${call.method} ${call.path} threw: ${(e as Error).stack}\n`);
        return err(500, 0, `fake-discord internal error: ${(e as Error).message}`);
      }
    }
    if (state.rejectToken) {
      call.injected = 'unauthorized';
      return err(401, 0, '401: Unauthorized');
    }
    call.unhandled = true;
    return pathMatched ? { status: 405, body: { message: '405: Method Not Allowed', code: 0 } } : { status: 404, body: { message: 'Unknown', code: 0 } };
  }

  private on(method: string, pattern: string, handler: Handler, auth = true): void {
    this.routes.push({ method, pattern: new RegExp(`^${pattern}$`), auth, handler });
  }

  // ---- routes ---------------------------------------------------------------------------

  private registerRoutes(): void {
    const s = this.state;
    const ID = '(\\d+)';
    const TOKEN = '([^/]+)';

    // Gateway discovery
    this.on('GET', '/gateway', () => ({ status: 200, body: { url: this.gatewayUrl() } }), false);
    this.on('GET', '/gateway/bot', () => ({
      status: 200,
      body: {
        url: this.gatewayUrl(),
        shards: 1,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
      },
    }));

    // Users / application
    this.on('GET', '/users/@me', () => ({ status: 200, body: s.botUser }));
    this.on('PATCH', '/users/@me', (call) => {
      Object.assign(s.botUser, pick(call.body, ['username', 'avatar', 'banner']));
      return { status: 200, body: s.botUser };
    });
    this.on('GET', `/users/${ID}`, (_c, [id]) => {
      const u = s.users.get(id);
      return u ? { status: 200, body: u } : err(404, 10013, 'Unknown User');
    });
    this.on('GET', '/applications/@me', () => ({ status: 200, body: s.application }));
    this.on('GET', '/oauth2/applications/@me', () => ({ status: 200, body: s.application }));
    this.on('PATCH', '/applications/@me', (call) => {
      Object.assign(s.application, call.body ?? {});
      return { status: 200, body: s.application };
    });

    // Application commands (global and guild)
    this.on('GET', `/applications/${ID}/commands`, (_c, [app]) => (app === s.applicationId ? { status: 200, body: s.globalCommands } : unknownApplication()));
    this.on('PUT', `/applications/${ID}/commands`, (c, [app]) => this.bulkCommands(c, app, null));
    this.on('POST', `/applications/${ID}/commands`, (c, [app]) => this.upsertCommand(c, app, null));
    this.on('GET', `/applications/${ID}/commands/${ID}`, (_c, [app, id]) => this.getCommand(app, null, id));
    this.on('PATCH', `/applications/${ID}/commands/${ID}`, (c, [app, id]) => this.patchCommand(c, app, null, id));
    this.on('DELETE', `/applications/${ID}/commands/${ID}`, (_c, [app, id]) => this.deleteCommand(app, null, id));
    this.on('GET', `/applications/${ID}/guilds/${ID}/commands`, (_c, [app, guild]) => {
      if (app !== s.applicationId) return unknownApplication();
      if (guild !== s.guildId) return missingAccess();
      return { status: 200, body: s.guildCommands.get(guild) ?? [] };
    });
    this.on('PUT', `/applications/${ID}/guilds/${ID}/commands`, (c, [app, guild]) => this.bulkCommands(c, app, guild));
    this.on('POST', `/applications/${ID}/guilds/${ID}/commands`, (c, [app, guild]) => this.upsertCommand(c, app, guild));
    this.on('GET', `/applications/${ID}/guilds/${ID}/commands/${ID}`, (_c, [app, guild, id]) => this.getCommand(app, guild, id));
    this.on('PATCH', `/applications/${ID}/guilds/${ID}/commands/${ID}`, (c, [app, guild, id]) => this.patchCommand(c, app, guild, id));
    this.on('DELETE', `/applications/${ID}/guilds/${ID}/commands/${ID}`, (_c, [app, guild, id]) => this.deleteCommand(app, guild, id));

    // Interactions
    this.on('POST', `/interactions/${ID}/${TOKEN}/callback`, (c, [id, token]) => this.interactionCallback(c, id, token), false);
    this.on('POST', `/webhooks/${ID}/${TOKEN}`, (c, [app, token]) => this.followUp(c, app, token), false);
    this.on('GET', `/webhooks/${ID}/${TOKEN}/messages/(@original|\\d+)`, (_c, [app, token, mid]) => {
      const found = this.webhookMessage(app, token, mid);
      return 'status' in found ? found : { status: 200, body: found.message };
    }, false);
    this.on('PATCH', `/webhooks/${ID}/${TOKEN}/messages/(@original|\\d+)`, (c, [app, token, mid]) => this.editWebhookMessage(c, app, token, mid), false);
    this.on('DELETE', `/webhooks/${ID}/${TOKEN}/messages/(@original|\\d+)`, (_c, [app, token, mid]) => {
      const found = this.webhookMessage(app, token, mid);
      if ('status' in found) return found;
      this.deleteMessage(found.message);
      return { status: 204 };
    }, false);

    // Channels & messages
    this.on('GET', `/channels/${ID}`, (_c, [id]) => {
      const ch = s.channelsById.get(id);
      return ch ? { status: 200, body: ch } : unknownChannel();
    });
    this.on('PATCH', `/channels/${ID}`, (c, [id]) => this.patchChannel(c, id));
    this.on('DELETE', `/channels/${ID}`, (_c, [id]) => {
      const ch = s.channelsById.get(id);
      if (!ch) return unknownChannel();
      s.channelsById.delete(id);
      s.dispatchHook(THREAD_TYPES.has(ch.type) ? 'THREAD_DELETE' : 'CHANNEL_DELETE', THREAD_TYPES.has(ch.type) ? { id, guild_id: ch.guild_id, parent_id: ch.parent_id, type: ch.type } : ch, { intent: INTENT_GUILDS });
      return { status: 200, body: ch };
    });
    this.on('GET', `/channels/${ID}/messages`, (c, [id]) => {
      if (!s.channelsById.has(id)) return unknownChannel();
      let list = [...(s.messages.get(id) ?? [])].reverse();
      const { before, after } = c.query;
      if (before) list = list.filter((m) => BigInt(m.id) < BigInt(before));
      if (after) list = list.filter((m) => BigInt(m.id) > BigInt(after));
      const limit = Math.min(100, Math.max(1, Number(c.query.limit ?? 50)));
      return { status: 200, body: list.slice(0, limit) };
    });
    this.on('POST', `/channels/${ID}/messages`, (c, [id]) => this.createChannelMessage(c, id));
    this.on('GET', `/channels/${ID}/messages/${ID}`, (_c, [cid, mid]) => {
      const m = (s.messages.get(cid) ?? []).find((x) => x.id === mid);
      return m ? { status: 200, body: m } : unknownMessage();
    });
    this.on('PATCH', `/channels/${ID}/messages/${ID}`, (c, [cid, mid]) => {
      const m = (s.messages.get(cid) ?? []).find((x) => x.id === mid);
      if (!m) return s.channelsById.has(cid) ? unknownMessage() : unknownChannel();
      if (m.author.id !== s.botUser.id) return err(403, 50005, 'Cannot edit a message authored by another user');
      const invalid = s.options.validate === false ? null : validateMessage(mergedPreview(m, c.body), { requireContent: false });
      if (invalid) return apiError(invalid);
      this.applyEdit(m, c.body, c.files);
      return { status: 200, body: m };
    });
    this.on('DELETE', `/channels/${ID}/messages/${ID}`, (_c, [cid, mid]) => {
      const m = (s.messages.get(cid) ?? []).find((x) => x.id === mid);
      if (!m) return unknownMessage();
      this.deleteMessage(m);
      return { status: 204 };
    });
    this.on('POST', `/channels/${ID}/typing`, (_c, [id]) => (s.channelsById.has(id) ? { status: 204 } : unknownChannel()));
    this.on('PUT', `/channels/${ID}/messages/${ID}/reactions/([^/]+)/@me`, (_c, [cid, mid, emoji]) => {
      const m = (s.messages.get(cid) ?? []).find((x) => x.id === mid);
      if (!m) return unknownMessage();
      const name = emoji;
      const reactions: JsonObject[] = (m.reactions ??= []);
      const existing = reactions.find((r) => r.emoji.name === name);
      if (existing && !existing.me) {
        existing.me = true;
        existing.count++;
      } else if (!existing) {
        reactions.push({ count: 1, count_details: { burst: 0, normal: 1 }, me: true, me_burst: false, burst_colors: [], emoji: { id: null, name } });
      }
      return { status: 204 };
    });
    this.on('DELETE', `/channels/${ID}/messages/${ID}/reactions/([^/]+)/@me`, (_c, [cid, mid, emoji]) => {
      const m = (s.messages.get(cid) ?? []).find((x) => x.id === mid);
      if (!m) return unknownMessage();
      const name = emoji;
      m.reactions = ((m.reactions ?? []) as JsonObject[]).filter((r) => !(r.emoji.name === name && r.me && r.count === 1));
      return { status: 204 };
    });

    // Threads
    this.on('POST', `/channels/${ID}/threads`, (c, [id]) => this.createThread(c, id, null));
    this.on('POST', `/channels/${ID}/messages/${ID}/threads`, (c, [id, mid]) => this.createThread(c, id, mid));
    this.on('PUT', `/channels/${ID}/thread-members/(@me|\\d+)`, (_c, [id]) => (s.channelsById.has(id) ? { status: 204 } : unknownChannel()));
    this.on('DELETE', `/channels/${ID}/thread-members/(@me|\\d+)`, (_c, [id]) => (s.channelsById.has(id) ? { status: 204 } : unknownChannel()));

    // Guild
    this.on('GET', `/guilds/${ID}`, (_c, [id]) => (id === s.guildId ? { status: 200, body: s.guildRestPayload() } : missingAccess()));
    this.on('GET', `/guilds/${ID}/channels`, (_c, [id]) =>
      id === s.guildId ? { status: 200, body: [...s.channelsById.values()].filter((c) => !THREAD_TYPES.has(c.type)) } : missingAccess(),
    );
    this.on('GET', `/guilds/${ID}/threads/active`, (_c, [id]) =>
      id === s.guildId
        ? { status: 200, body: { threads: [...s.channelsById.values()].filter((c) => THREAD_TYPES.has(c.type) && !c.thread_metadata?.archived), members: [] } }
        : missingAccess(),
    );
    this.on('GET', `/guilds/${ID}/roles`, (_c, [id]) => (id === s.guildId ? { status: 200, body: [...s.roles.values()] } : missingAccess()));
    this.on('GET', `/guilds/${ID}/members`, (c, [id]) =>
      id === s.guildId ? { status: 200, body: [...s.members.values()].slice(0, Number(c.query.limit ?? 1)) } : missingAccess(),
    );
    this.on('GET', `/guilds/${ID}/members/${ID}`, (_c, [id, uid]) => {
      if (id !== s.guildId) return missingAccess();
      const m = s.members.get(uid);
      return m ? { status: 200, body: m } : err(404, 10007, 'Unknown Member');
    });
  }

  // ---- commands -------------------------------------------------------------------------

  private commandList(app: string, guild: string | null): JsonObject[] | Reply {
    const s = this.state;
    if (app !== s.applicationId) return unknownApplication();
    if (guild === null) return s.globalCommands;
    if (guild !== s.guildId) return missingAccess();
    let list = s.guildCommands.get(guild);
    if (!list) s.guildCommands.set(guild, (list = []));
    return list;
  }

  private materializeCommand(input: JsonObject, guild: string | null, existing?: JsonObject): JsonObject {
    const type = input.type ?? 1;
    return {
      id: existing?.id ?? snowflake(),
      application_id: this.state.applicationId,
      version: snowflake(),
      default_member_permissions: null,
      type,
      name: input.name,
      name_localizations: null,
      description: type === 1 ? (input.description ?? '') : '',
      description_localizations: null,
      dm_permission: true,
      contexts: null,
      integration_types: [0],
      nsfw: false,
      ...input,
      ...(guild ? { guild_id: guild } : {}),
    };
  }

  private bulkCommands(call: RecordedCall, app: string, guild: string | null): Reply {
    const list = this.commandList(app, guild);
    if (!Array.isArray(list)) return list;
    const invalid = this.state.options.validate === false ? null : validateCommands(call.body);
    if (invalid) return apiError(invalid);
    const next = (call.body as JsonObject[]).map((cmd) =>
      this.materializeCommand(cmd, guild, list.find((x) => x.name === cmd.name && x.type === (cmd.type ?? 1))),
    );
    list.splice(0, list.length, ...next);
    return { status: 200, body: next };
  }

  private upsertCommand(call: RecordedCall, app: string, guild: string | null): Reply {
    const list = this.commandList(app, guild);
    if (!Array.isArray(list)) return list;
    const body = (call.body ?? {}) as JsonObject;
    const invalid = this.state.options.validate === false ? null : validateCommand(body);
    if (invalid) return apiError(invalid);
    const idx = list.findIndex((x) => x.name === body.name && x.type === (body.type ?? 1));
    const cmd = this.materializeCommand(body, guild, idx >= 0 ? list[idx] : undefined);
    if (idx >= 0) list[idx] = cmd;
    else list.push(cmd);
    return { status: idx >= 0 ? 200 : 201, body: cmd };
  }

  private getCommand(app: string, guild: string | null, id: string): Reply {
    const list = this.commandList(app, guild);
    if (!Array.isArray(list)) return list;
    const cmd = list.find((x) => x.id === id);
    return cmd ? { status: 200, body: cmd } : err(404, 10063, 'Unknown application command');
  }

  private patchCommand(call: RecordedCall, app: string, guild: string | null, id: string): Reply {
    const list = this.commandList(app, guild);
    if (!Array.isArray(list)) return list;
    const idx = list.findIndex((x) => x.id === id);
    if (idx < 0) return err(404, 10063, 'Unknown application command');
    list[idx] = { ...list[idx], ...(call.body ?? {}), version: snowflake() };
    return { status: 200, body: list[idx] };
  }

  private deleteCommand(app: string, guild: string | null, id: string): Reply {
    const list = this.commandList(app, guild);
    if (!Array.isArray(list)) return list;
    const idx = list.findIndex((x) => x.id === id);
    if (idx < 0) return err(404, 10063, 'Unknown application command');
    list.splice(idx, 1);
    return { status: 204 };
  }

  // ---- interactions ---------------------------------------------------------------------

  private interactionCallback(call: RecordedCall, id: string, token: string): Reply {
    const s = this.state;
    const rec = s.interactionsById.get(id);
    if (!rec || rec.token !== token) return unknownInteraction();
    const deadline = s.options.callbackDeadlineMs;
    if (deadline !== undefined && rec.callbackType === undefined && Date.now() - rec.dispatchedAt > deadline) return unknownInteraction();
    if (rec.callbackType !== undefined) return err(400, 40060, 'Interaction has already been acknowledged.');
    const body = (call.body ?? {}) as JsonObject;
    const type = Number(body.type);
    const data = (body.data ?? {}) as JsonObject;
    const validate = s.options.validate !== false;
    const isComponent = rec.type === 3;
    let resourceMessage: FakeMessage | undefined;

    switch (type) {
      case 1: // PONG
        break;
      case 4: {
        if (rec.type === 4) return err(400, 50035, 'Invalid Form Body');
        const invalid = validate ? validateMessage(data, { requireContent: true, fileCount: call.files.length }) : null;
        if (invalid) return apiError(invalid);
        const msg = this.buildMessage(rec.channelId, data, call.files, this.interactionMessageExtras(rec, rec.type === 2 ? 20 : 0));
        this.storeAndAnnounce(msg);
        rec.originalMessageId = msg.id;
        resourceMessage = msg;
        break;
      }
      case 5: {
        if (rec.type === 4) return err(400, 50035, 'Invalid Form Body');
        const flags = (Number(data.flags ?? 0) & FLAG_EPHEMERAL) | FLAG_LOADING;
        const msg = this.buildMessage(rec.channelId, {}, [], { ...this.interactionMessageExtras(rec, rec.type === 2 ? 20 : 0), flags });
        this.storeAndAnnounce(msg);
        rec.originalMessageId = msg.id;
        resourceMessage = msg;
        break;
      }
      case 6:
      case 7: {
        if (!isComponent && rec.type !== 5) return err(400, 40004, 'Interaction callback type is not valid for this interaction type');
        const target = rec.payload.message?.id ? s.findMessage(rec.payload.message.id) : undefined;
        if (type === 7) {
          if (!target) return unknownMessage();
          const invalid = validate ? validateMessage(mergedPreview(target, data), { requireContent: false }) : null;
          if (invalid) return apiError(invalid);
          this.applyEdit(target, data, call.files);
        }
        rec.originalMessageId = target?.id;
        resourceMessage = target;
        break;
      }
      case 8: {
        if (rec.type !== 4) return err(400, 40004, 'Interaction callback type is not valid for this interaction type');
        const invalid = validate ? validateChoices(data) : null;
        if (invalid) return apiError(invalid);
        break;
      }
      case 9: {
        if (rec.type === 4 || rec.type === 5) return err(400, 40004, 'Interaction callback type is not valid for this interaction type');
        if (!data.custom_id || !data.title || !Array.isArray(data.components)) return err(400, 50035, 'Invalid Form Body');
        break;
      }
      case 10:
      case 12:
        break;
      default:
        return err(400, 50035, 'Invalid Form Body');
    }
    rec.callbackType = type;

    if (call.query.with_response !== 'true') return { status: 204 };
    const original = rec.originalMessageId ? s.findMessage(rec.originalMessageId) : undefined;
    return {
      status: 200,
      body: {
        interaction: {
          id: rec.id,
          type: rec.type,
          activity_instance_id: null,
          response_message_id: original?.id ?? null,
          response_message_loading: original ? (original.flags & FLAG_LOADING) !== 0 : null,
          response_message_ephemeral: original ? (original.flags & FLAG_EPHEMERAL) !== 0 : null,
        },
        resource: resourceMessage && (type === 4 || type === 5 || type === 7) ? { type, message: resourceMessage } : { type },
      },
    };
  }

  private interactionMessageExtras(rec: InteractionRecord, messageType: number): Partial<FakeMessage> {
    const user = rec.payload.member?.user ?? rec.payload.user;
    return {
      type: messageType,
      webhook_id: this.state.applicationId,
      application_id: this.state.applicationId,
      interaction_metadata: {
        id: rec.id,
        type: rec.type,
        user,
        authorizing_integration_owners: rec.payload.authorizing_integration_owners ?? {},
        ...(rec.type === 2 ? { name: rec.payload.data?.name, command_type: rec.payload.data?.type ?? 1 } : {}),
        ...(rec.type === 3 && rec.payload.message ? { interacted_message_id: rec.payload.message.id } : {}),
      },
      interaction: { id: rec.id, type: rec.type, name: rec.payload.data?.name ?? '', user },
    };
  }

  private findInteraction(app: string, token: string): InteractionRecord | Reply {
    if (app !== this.state.applicationId) return unknownWebhook();
    const rec = this.state.interactionsByToken.get(token);
    if (!rec || rec.callbackType === undefined) return unknownWebhook();
    return rec;
  }

  private webhookMessage(app: string, token: string, mid: string): { rec: InteractionRecord; message: FakeMessage } | Reply {
    const rec = this.findInteraction(app, token);
    if ('status' in rec) return rec;
    const id = mid === '@original' ? rec.originalMessageId : mid;
    if (!id || (mid !== '@original' && !rec.followUpIds.includes(mid) && rec.originalMessageId !== mid)) return unknownMessage();
    const message = this.state.findMessage(id);
    return message ? { rec, message } : unknownMessage();
  }

  private followUp(call: RecordedCall, app: string, token: string): Reply {
    const s = this.state;
    const rec = this.findInteraction(app, token);
    if ('status' in rec) return rec;
    const body = (call.body ?? {}) as JsonObject;
    const invalid = s.options.validate === false ? null : validateMessage(body, { requireContent: true, fileCount: call.files.length });
    if (invalid) return apiError(invalid);
    // Discord: the first follow-up after a deferred reply (type 5) fills in the loading message.
    const original = rec.originalMessageId ? s.findMessage(rec.originalMessageId) : undefined;
    if (rec.callbackType === 5 && original && original.flags & FLAG_LOADING) {
      this.applyEdit(original, { ...body, flags: (original.flags & FLAG_EPHEMERAL) | (Number(body.flags ?? 0) & SETTABLE_FLAGS & ~FLAG_EPHEMERAL) }, call.files, false);
      return { status: 200, body: original };
    }
    const channelId = call.query.thread_id ?? rec.channelId;
    const msg = this.buildMessage(channelId, body, call.files, { ...this.interactionMessageExtras(rec, 0), type: 0 });
    this.storeAndAnnounce(msg);
    rec.followUpIds.push(msg.id);
    return { status: 200, body: msg };
  }

  private editWebhookMessage(call: RecordedCall, app: string, token: string, mid: string): Reply {
    const found = this.webhookMessage(app, token, mid);
    if ('status' in found) return found;
    const { message } = found;
    const body = (call.body ?? {}) as JsonObject;
    const invalid = this.state.options.validate === false ? null : validateMessage(mergedPreview(message, body), { requireContent: false });
    if (invalid) return apiError(invalid);
    const wasLoading = (message.flags & FLAG_LOADING) !== 0;
    // Ephemeral-ness is fixed when the response is created; edits cannot change it.
    const flags = body.flags === undefined ? undefined : (message.flags & FLAG_EPHEMERAL) | (Number(body.flags) & SETTABLE_FLAGS & ~FLAG_EPHEMERAL);
    this.applyEdit(message, flags === undefined ? body : { ...body, flags }, call.files, !wasLoading);
    return { status: 200, body: message };
  }

  // ---- channels, messages, threads --------------------------------------------------------

  private createChannelMessage(call: RecordedCall, channelId: string): Reply {
    const s = this.state;
    const ch = s.channelsById.get(channelId);
    if (!ch) return unknownChannel();
    if (!TEXT_TYPES.has(ch.type)) return err(400, 50008, 'Cannot send messages in a non-text channel');
    if (ch.thread_metadata?.locked) return err(400, 50083, 'Thread is locked');
    const body = (call.body ?? {}) as JsonObject;
    const invalid = s.options.validate === false ? null : validateMessage(body, { requireContent: true, fileCount: call.files.length });
    if (invalid) return apiError(invalid);
    const extra: Partial<FakeMessage> = {};
    if (body.message_reference?.message_id) {
      const ref = s.findMessage(body.message_reference.message_id);
      if (!ref && body.message_reference.fail_if_not_exists !== false) {
        return { status: 400, body: { code: 50035, message: 'Invalid Form Body', errors: { message_reference: { _errors: [{ code: 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', message: 'Unknown message' }] } } } };
      }
      if (ref) {
        extra.type = 19;
        extra.message_reference = { type: 0, channel_id: ref.channel_id, message_id: ref.id, guild_id: s.guildId };
        extra.referenced_message = ref;
      }
    }
    if (ch.thread_metadata?.archived) ch.thread_metadata.archived = false; // sending unarchives
    const msg = this.buildMessage(channelId, body, call.files, extra);
    this.storeAndAnnounce(msg);
    return { status: 200, body: msg };
  }

  private createThread(call: RecordedCall, parentId: string, messageId: string | null): Reply {
    const s = this.state;
    const parent = s.channelsById.get(parentId);
    if (!parent) return unknownChannel();
    if (parent.type !== 0 && parent.type !== 5 && parent.type !== 15) return err(400, 50024, 'Cannot execute action on this channel type');
    const body = (call.body ?? {}) as JsonObject;
    const invalid = s.options.validate === false ? null : validateThreadName(body.name);
    if (invalid) return apiError(invalid);
    let starter: FakeMessage | undefined;
    if (messageId) {
      starter = (s.messages.get(parentId) ?? []).find((m) => m.id === messageId);
      if (!starter) return unknownMessage();
      if (starter.flags & FLAG_HAS_THREAD) return err(400, 160004, 'A thread has already been created for this message');
    }
    const now = isoNow();
    const type = messageId ? (parent.type === 5 ? 10 : 11) : Number(body.type ?? 12);
    const thread: FakeChannel = {
      id: messageId ?? snowflake(),
      type,
      name: String(body.name),
      guild_id: s.guildId,
      parent_id: parentId,
      owner_id: s.botUser.id,
      last_message_id: null,
      rate_limit_per_user: Number(body.rate_limit_per_user ?? 0),
      message_count: 0,
      member_count: 1,
      total_message_sent: 0,
      flags: 0,
      thread_metadata: {
        archived: false,
        auto_archive_duration: Number(body.auto_archive_duration ?? parent.default_auto_archive_duration ?? 1440),
        archive_timestamp: now,
        locked: false,
        create_timestamp: now,
        ...(type === 12 ? { invitable: body.invitable ?? true } : {}),
      },
      member: { id: messageId ?? '', user_id: s.botUser.id, join_timestamp: now, flags: 0 },
    };
    thread.member.id = thread.id;
    s.channelsById.set(thread.id, thread);
    if (starter) {
      starter.flags |= FLAG_HAS_THREAD;
      starter.thread = thread;
    }
    s.dispatchHook('THREAD_CREATE', { ...thread, newly_created: true }, { intent: INTENT_GUILDS });
    return { status: 201, body: thread };
  }

  private patchChannel(call: RecordedCall, id: string): Reply {
    const s = this.state;
    const ch = s.channelsById.get(id);
    if (!ch) return unknownChannel();
    const body = (call.body ?? {}) as JsonObject;
    if (body.name !== undefined) {
      const invalid = s.options.validate === false ? null : validateThreadName(body.name);
      if (invalid) return apiError(invalid);
    }
    Object.assign(ch, pick(body, ['name', 'topic', 'nsfw', 'rate_limit_per_user', 'parent_id', 'position', 'flags', 'applied_tags']));
    if (ch.thread_metadata) {
      const meta = pick(body, ['archived', 'locked', 'auto_archive_duration', 'invitable']);
      if ('archived' in meta) ch.thread_metadata.archive_timestamp = isoNow();
      Object.assign(ch.thread_metadata, meta);
    }
    s.dispatchHook(THREAD_TYPES.has(ch.type) ? 'THREAD_UPDATE' : 'CHANNEL_UPDATE', ch, { intent: INTENT_GUILDS });
    return { status: 200, body: ch };
  }

  // ---- message helpers --------------------------------------------------------------------

  buildMessage(channelId: string, body: JsonObject, files: RecordedFile[], extra: Partial<FakeMessage> = {}): FakeMessage {
    const s = this.state;
    const content = typeof body.content === 'string' ? body.content : '';
    const msg: FakeMessage = {
      id: snowflake(),
      channel_id: channelId,
      author: s.botUser,
      content,
      timestamp: isoNow(),
      edited_timestamp: null,
      tts: Boolean(body.tts),
      mention_everyone: false,
      mentions: this.mentions(content),
      mention_roles: [...content.matchAll(/<@&(\d+)>/g)].map((m) => m[1]).filter((r) => s.roles.has(r)),
      attachments: this.attachments(channelId, body, files, []),
      embeds: normalizeEmbeds(body.embeds),
      components: Array.isArray(body.components) ? body.components : [],
      pinned: false,
      type: 0,
      flags: Number(body.flags ?? 0) & SETTABLE_FLAGS,
      ...(body.nonce !== undefined ? { nonce: body.nonce } : {}),
      ...(body.poll ? { poll: body.poll } : {}),
      ...extra,
    };
    return msg;
  }

  private mentions(content: string): JsonObject[] {
    const ids = new Set([...content.matchAll(/<@!?(\d+)>/g)].map((m) => m[1]));
    return [...ids].map((id) => this.state.users.get(id)).filter((u): u is NonNullable<typeof u> => Boolean(u));
  }

  private attachments(channelId: string, body: JsonObject, files: RecordedFile[], existing: JsonObject[]): JsonObject[] {
    const described: JsonObject[] = Array.isArray(body.attachments) ? body.attachments : [];
    const kept = existing.filter((a) => described.some((d) => String(d.id) === String(a.id)));
    const added = files.map((f, i) => {
      const id = snowflake();
      const meta = described.find((d) => String(d.id) === String(i)) ?? {};
      const filePath = `/attachments/${channelId}/${id}/${encodeURIComponent(f.filename)}`;
      this.files.set(filePath, f);
      const url = `${this.state.baseUrl}${filePath}`;
      return {
        id,
        filename: meta.filename ?? f.filename,
        size: f.size,
        url,
        proxy_url: url,
        content_type: f.contentType,
        ...(meta.description ? { description: meta.description } : {}),
      };
    });
    return [...kept, ...added];
  }

  /** Apply a PATCH-style edit to a stored message. */
  applyEdit(m: FakeMessage, rawBody: unknown, files: RecordedFile[], markEdited = true): void {
    const body = (rawBody ?? {}) as JsonObject;
    if ('content' in body) {
      m.content = body.content ?? '';
      m.mentions = this.mentions(m.content);
    }
    if ('embeds' in body) m.embeds = normalizeEmbeds(body.embeds);
    if ('components' in body) m.components = Array.isArray(body.components) ? body.components : [];
    if ('attachments' in body || files.length) {
      const keep = 'attachments' in body ? m.attachments : [];
      const keepAll = 'attachments' in body ? [] : m.attachments;
      m.attachments = [...keepAll, ...this.attachments(m.channel_id, body, files, keep)];
    }
    if ('poll' in body && body.poll) m.poll = body.poll;
    if ('flags' in body && body.flags !== undefined && body.flags !== null) {
      m.flags = (m.flags & ~SETTABLE_FLAGS & ~FLAG_LOADING) | (Number(body.flags) & SETTABLE_FLAGS);
    }
    m.flags &= ~FLAG_LOADING;
    if (markEdited) m.edited_timestamp = isoNow();
    if (!(m.flags & FLAG_EPHEMERAL)) this.state.dispatchHook('MESSAGE_UPDATE', this.gatewayMessage(m), { intent: INTENT_GUILD_MESSAGES });
  }

  private deleteMessage(m: FakeMessage): void {
    const list = this.state.messages.get(m.channel_id) ?? [];
    const idx = list.indexOf(m);
    if (idx >= 0) list.splice(idx, 1);
    if (!(m.flags & FLAG_EPHEMERAL)) {
      this.state.dispatchHook('MESSAGE_DELETE', { id: m.id, channel_id: m.channel_id, guild_id: this.state.guildId }, { intent: INTENT_GUILD_MESSAGES });
    }
  }

  storeAndAnnounce(m: FakeMessage): void {
    this.state.storeMessage(m);
    if (!(m.flags & FLAG_EPHEMERAL)) {
      this.state.dispatchHook('MESSAGE_CREATE', this.gatewayMessage(m), { intent: INTENT_GUILD_MESSAGES });
    }
  }

  /** Message as sent over the gateway (adds guild_id and member). */
  gatewayMessage(m: FakeMessage): JsonObject {
    const member = this.state.members.get(m.author.id);
    const out: JsonObject = { ...m, guild_id: this.state.guildId };
    if (member && !m.webhook_id) {
      const { user: _user, ...rest } = member;
      out.member = rest;
    }
    return out;
  }
}

function faultReply(f: FaultSpec): Reply {
  const status = f.status!;
  if (status === 429) {
    const retryAfter = f.retryAfter ?? 0.1;
    return {
      status,
      body: f.body ?? { message: 'You are being rate limited.', retry_after: retryAfter, global: Boolean(f.global) },
      headers: {
        // Discord sends whole seconds here; we send the exact (fractional) value so tests stay fast.
        // discord.js reads this header, not the body.
        'retry-after': String(retryAfter),
        'x-ratelimit-limit': '1',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String((Date.now() + retryAfter * 1000) / 1000),
        'x-ratelimit-reset-after': String(retryAfter),
        'x-ratelimit-scope': f.global ? 'global' : 'user',
        ...(f.global ? { 'x-ratelimit-global': 'true' } : {}),
      },
    };
  }
  return { status, body: f.body ?? { message: `${status}: ${statusText(status)}`, code: 0 } };
}

function statusText(status: number): string {
  return (
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' } as Record<number, string>
  )[status] ?? 'Error';
}

function decodePath(path: string): string {
  return path
    .split('/')
    .map((seg) => {
      try {
        return decodeURIComponent(seg);
      } catch {
        return seg;
      }
    })
    .join('/');
}

function unknownApplication(): Reply {
  return err(404, 10002, 'Unknown Application');
}

function normalizeEmbeds(embeds: unknown): JsonObject[] {
  if (!Array.isArray(embeds)) return [];
  return (embeds as JsonObject[]).map((e) => ({ type: 'rich', ...e }));
}

/** The message as it would look after an edit, for validation. */
function mergedPreview(m: FakeMessage, rawBody: unknown): JsonObject {
  const body = (rawBody ?? {}) as JsonObject;
  return {
    content: 'content' in body ? body.content : m.content,
    embeds: 'embeds' in body ? body.embeds : m.embeds,
    components: 'components' in body ? body.components : m.components,
    flags: 'flags' in body && body.flags != null ? body.flags : m.flags,
  };
}

function pick(body: unknown, keys: string[]): JsonObject {
  const out: JsonObject = {};
  if (!body || typeof body !== 'object') return out;
  for (const k of keys) if (k in (body as JsonObject)) out[k] = (body as JsonObject)[k];
  return out;
}
