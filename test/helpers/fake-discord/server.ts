/**
 * startFakeDiscord(): one loopback HTTP server on a random port serving both the REST API
 * (`/api/v10/...`) and the gateway websocket (any upgrade request).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { FakeGateway } from './gateway.js';
import { InteractionDriver } from './interactions.js';
import { FakeRest } from './rest.js';
import { FakeDiscordState } from './state.js';
import type {
  AutocompleteContext,
  CallFilter,
  CommandOptionsInput,
  ComponentContext,
  FakeChannel,
  FakeDiscordOptions,
  FakeMessage,
  FakeRole,
  FakeUser,
  FaultHandle,
  FaultSpec,
  GatewayConnectionInfo,
  GatewayReceived,
  InteractionContext,
  InteractionHandle,
  JsonObject,
  OtherGuild,
  RecordedCall,
  SlashCommandContext,
} from './types.js';
import { matchesFilter } from './util.js';

type MatchOpts = Pick<FaultSpec, 'method' | 'path' | 'times'>;

export interface FakeDiscord {
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Pass as discord.js `rest.api` (the client appends `/v10`). */
  restUrl: string;
  /** What GET /gateway/bot returns (`ws://127.0.0.1:PORT`). */
  gatewayUrl: string;
  /** The bot token the fake accepts. */
  token: string;
  botUser: FakeUser;
  applicationId: string;
  guildId: string;
  /** The other servers the bot is in (options.otherGuilds), with their channel ids. */
  otherGuilds: OtherGuild[];
  /** Configured channels by name (live objects). */
  channels: Record<string, FakeChannel>;
  /** Roles by name (includes `@everyone` and the bot's managed role). */
  roles: Record<string, FakeRole>;
  /** The member used for interactions when no `user` is given. */
  defaultUser: FakeUser;
  /** `{ rest: { api: restUrl } }` merged with `extra` — spread into `new Client({...})`. */
  clientOptions<T extends JsonObject>(extra?: T): T & { rest: JsonObject };
  /** Escape hatch: the fake's in-memory world. */
  state: FakeDiscordState;

  // ---- REST log ----
  calls(filter?: CallFilter): RecordedCall[];
  /** Requests no route matched (answered 404 `{message:"Unknown", code:0}`). */
  unhandledCalls(): RecordedCall[];
  /** Resolves with the first completed call (already recorded or future) matching `filter`. */
  waitForCall(filter: CallFilter, timeoutMs?: number): Promise<RecordedCall>;
  /** Current call sequence number, for `waitForCall(c => c.seq > mark && ...)`. */
  mark(): number;
  /** Messages stored in a channel/thread (oldest first, including ephemeral interaction replies). */
  channelMessages(channel: string): FakeMessage[];
  message(id: string): FakeMessage | undefined;
  channel(idOrName: string): FakeChannel | undefined;
  /** Threads (optionally of one parent channel id/name). */
  threads(parent?: string): FakeChannel[];
  /** Registered commands: guild commands by default, `'global'` for global ones. */
  commands(scope?: 'guild' | 'global'): JsonObject[];
  /** Forget calls, faults, messages, interactions and the bad-token switch. */
  reset(): void;

  // ---- fault injection ----
  injectFault(spec: FaultSpec): FaultHandle;
  /** Next matching request(s) get 429 with `retry_after` (seconds, default 0.1). */
  rateLimitNext(opts?: MatchOpts & { retryAfter?: number; global?: boolean }): FaultHandle;
  /** Next matching request(s) get `status` (e.g. 500, 503). */
  failNext(status: number, opts?: MatchOpts & { body?: unknown }): FaultHandle;
  /** Next matching request(s) are answered normally but only after `ms`. */
  delayNext(ms: number, opts?: MatchOpts): FaultHandle;
  /** While on, every REST request gets 401 (discord.js then drops its token). */
  setRejectToken(on: boolean): void;
  clearFaults(): void;

  // ---- gateway ----
  /** Send a dispatch event to the bot; returns the number of sessions it went to. */
  dispatch(event: string, data: JsonObject): number;
  /** Close gateway sockets with `code` (default 4000 → discord.js resumes). 1000 → re-identify. */
  disconnectGateway(code?: number, reason?: string): Promise<void>;
  /** Drop gateway sockets without a close frame. */
  dropGateway(): void;
  /** Send op 7 Reconnect. */
  requestReconnect(): void;
  /** Send op 9 Invalid Session. */
  invalidateSession(resumable?: boolean): void;
  /** Answer RESUME with op 9 (forces a fresh IDENTIFY). */
  setRejectResume(on: boolean): void;
  /** Messages the bot sent over the gateway, optionally only one opcode. */
  gatewayReceived(op?: number): GatewayReceived[];
  gatewayConnections(): GatewayConnectionInfo[];
  waitForGateway(predicate: (msg: GatewayReceived) => boolean, timeoutMs?: number): Promise<GatewayReceived>;
  /** Resolves with the n-th (0-based) IDENTIFY (op 2) the bot sent. */
  waitForIdentify(index?: number, timeoutMs?: number): Promise<GatewayReceived>;

  // ---- users & messages ----
  /** Create/update a guild member (`partial.id` optional). */
  addUser(partial?: Partial<FakeUser>, roles?: string[]): FakeUser;
  /** A user posts a message: stored, and MESSAGE_CREATE dispatched (GuildMessages intent; content
   * stripped without MessageContent intent unless the bot is mentioned). */
  userMessage(channel: string, content: string, opts?: { user?: Partial<FakeUser>; extra?: JsonObject }): FakeMessage;

  // ---- interactions ----
  dispatchInteraction(partial: JsonObject & { type: number }, ctx?: InteractionContext): InteractionHandle;
  slashCommand(name: string, options?: CommandOptionsInput, ctx?: SlashCommandContext): InteractionHandle;
  autocomplete(name: string, options?: CommandOptionsInput, ctx?: AutocompleteContext): InteractionHandle;
  button(customId: string, ctx?: ComponentContext): InteractionHandle;
  select(customId: string, values: string[], ctx?: ComponentContext): InteractionHandle;
  modalSubmit(customId: string, fields: Record<string, string>, ctx?: ComponentContext): InteractionHandle;

  /** Terminate sockets and stop the server. Destroy your discord.js Client first. */
  close(): Promise<void>;
}

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const state = new FakeDiscordState(options);
  let port = 0;
  const gatewayUrl = () => `ws://127.0.0.1:${port}`;
  const rest = new FakeRest(state, gatewayUrl);
  const gateway = new FakeGateway(state, gatewayUrl);
  const driver = new InteractionDriver(state, gateway);
  state.dispatchHook = (event, data, opts) => {
    gateway.dispatch(event, data, opts);
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    rest.handle(req, res).catch((e: unknown) => {
      process.stderr.write(`[fake-discord] request failed: ${(e as Error)?.stack ?? String(e)}\n`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'fake-discord crashed', code: 0 }));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  state.baseUrl = `http://127.0.0.1:${port}`;

  const byName = <T extends { name: string }>(items: Iterable<T>): Record<string, T> => {
    const out: Record<string, T> = {};
    for (const it of items) out[it.name] ??= it;
    return out;
  };

  const fake: FakeDiscord = {
    port,
    restUrl: `http://127.0.0.1:${port}/api`,
    gatewayUrl: gatewayUrl(),
    token: state.token,
    botUser: state.botUser,
    applicationId: state.applicationId,
    guildId: state.guildId,
    otherGuilds: state.otherGuilds,
    channels: byName(state.initialChannels),
    roles: byName(state.roles.values()),
    defaultUser: state.defaultUser,
    state,
    clientOptions<T extends JsonObject>(extra?: T) {
      const e = (extra ?? {}) as JsonObject;
      return { ...e, rest: { ...(e.rest ?? {}), api: `http://127.0.0.1:${port}/api` } } as T & { rest: JsonObject };
    },

    calls: (filter) => state.calls.filter((c) => matchesFilter(c, filter)),
    unhandledCalls: () => state.calls.filter((c) => c.unhandled),
    waitForCall: (filter, timeoutMs) => state.waitForCall(filter, timeoutMs),
    mark: () => state.lastSeq(),
    channelMessages: (channel) => {
      const ch = state.findChannel(channel);
      return [...(state.messages.get(ch?.id ?? channel) ?? [])];
    },
    message: (id) => state.findMessage(id),
    channel: (idOrName) => state.findChannel(idOrName),
    threads: (parent) => {
      const parentId = parent ? (state.findChannel(parent)?.id ?? parent) : undefined;
      return [...state.channelsById.values()].filter((c) => [10, 11, 12].includes(c.type) && (!parentId || c.parent_id === parentId));
    },
    commands: (scope = 'guild') => (scope === 'global' ? [...state.globalCommands] : [...(state.guildCommands.get(state.guildId) ?? [])]),
    reset: () => state.reset(),

    injectFault: (spec) => state.addFault(spec),
    rateLimitNext: (opts = {}) => state.addFault({ ...opts, status: 429 }),
    failNext: (status, opts = {}) => state.addFault({ ...opts, status }),
    delayNext: (ms, opts = {}) => state.addFault({ ...opts, delayMs: ms }),
    setRejectToken: (on) => {
      state.rejectToken = on;
    },
    clearFaults: () => state.clearFaults(),

    dispatch: (event, data) => {
      const n = gateway.dispatch(event, data);
      if (n === 0) throw new Error(`fake-discord: no gateway session to deliver ${event} to — is the client logged in?`);
      return n;
    },
    disconnectGateway: (code, reason) => gateway.disconnect(code, reason),
    dropGateway: () => gateway.drop(),
    requestReconnect: () => gateway.requestReconnect(),
    invalidateSession: (resumable) => gateway.invalidateSession(resumable),
    setRejectResume: (on) => {
      gateway.rejectResume = on;
    },
    gatewayReceived: (op) => gateway.received.filter((m) => op === undefined || m.op === op),
    gatewayConnections: () => gateway.connections(),
    waitForGateway: (predicate, timeoutMs) => gateway.waitFor(predicate, timeoutMs),
    waitForIdentify: (index = 0, timeoutMs = 5000) =>
      gateway.waitFor((m) => m.op === 2 && gateway.received.filter((x) => x.op === 2).indexOf(m) === index, timeoutMs, `IDENTIFY #${index}`),

    addUser: (partial = {}, roles) => state.ensureUser(partial, roles),
    userMessage: (channel, content, opts = {}) => {
      const ch = state.findChannel(channel);
      if (!ch) throw new Error(`fake-discord: unknown channel ${channel}`);
      const author = opts.user ? state.ensureUser(opts.user) : state.defaultUser;
      const msg = rest.buildMessage(ch.id, { content }, [], { author, ...(opts.extra ?? {}) });
      state.storeMessage(msg);
      gateway.dispatch('MESSAGE_CREATE', rest.gatewayMessage(msg), { intent: 1 << 9, privilegedContent: true });
      return msg;
    },

    dispatchInteraction: (partial, ctx) => driver.dispatchInteraction(partial, ctx),
    slashCommand: (name, options, ctx) => driver.slashCommand(name, options, ctx),
    autocomplete: (name, options, ctx) => driver.autocomplete(name, options, ctx),
    button: (customId, ctx) => driver.button(customId, ctx),
    select: (customId, values, ctx) => driver.select(customId, values, ctx),
    modalSubmit: (customId, fields, ctx) => driver.modalSubmit(customId, fields, ctx),

    close: async () => {
      if (state.closed) return;
      state.closed = true;
      state.failWaiters('fake-discord closed');
      for (const t of rest.timers) clearTimeout(t);
      rest.timers.clear();
      await gateway.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
  return fake;
}
