/**
 * Shared types for the fake Discord server.
 *
 * Payloads are plain JSON in Discord's wire format (snake_case). They are typed loosely on
 * purpose: tests read them like `call.body.data.embeds[0].title`, and the fake only has to be
 * faithful enough for discord.js, not a full model of the API.
 */

/** A JSON object as sent over the wire. `any` values keep test assertions short. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonObject = Record<string, any>;

export interface FakeUser extends JsonObject {
  id: string;
  username: string;
  discriminator: string;
  global_name: string | null;
  avatar: string | null;
  bot?: boolean;
}

export interface FakeRole extends JsonObject {
  id: string;
  name: string;
  permissions: string;
  position: number;
}

export interface FakeMember extends JsonObject {
  user: FakeUser;
  roles: string[];
  joined_at: string;
}

export interface FakeChannel extends JsonObject {
  id: string;
  /** 0 = text, 11 = public thread, 12 = private thread, 4 = category, 2 = voice, ... */
  type: number;
  name: string;
  guild_id: string;
  parent_id: string | null;
}

export interface FakeMessage extends JsonObject {
  id: string;
  channel_id: string;
  author: FakeUser;
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  embeds: JsonObject[];
  components: JsonObject[];
  attachments: JsonObject[];
  type: number;
  flags: number;
}

export interface RecordedFile {
  /** Form field name, e.g. `files[0]`. */
  field: string;
  filename: string;
  contentType: string;
  size: number;
  data: Buffer;
}

/** One HTTP request received by the fake REST API. */
export interface RecordedCall {
  /** Monotonic sequence number (survives `reset()`), handy as a "since" marker. */
  seq: number;
  method: string;
  /** Path below `/api/v10`, without the query string, e.g. `/channels/123/messages`. */
  path: string;
  query: Record<string, string>;
  /** Raw request URL as received (path + query). */
  url: string;
  /** Parsed JSON body; for multipart requests the parsed `payload_json`; `null` if none. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  /** Files of a multipart request. */
  files: RecordedFile[];
  /** Lower-cased request headers. */
  headers: Record<string, string>;
  /** `Date.now()` when the request arrived. */
  at: number;
  /** Response status; `undefined` while the response is still pending (e.g. injected delay). */
  status?: number;
  /** Response body sent back (parsed JSON), `null` for 204. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  response?: any;
  /** Set when the response was produced by an injected fault / bad-token switch. */
  injected?: 'rate-limit' | 'error' | 'unauthorized';
  /** True when no route matched (the fake answered 404 `{message:"Unknown", code:0}`). */
  unhandled?: boolean;
}

export type CallFilter =
  | ((call: RecordedCall) => boolean)
  | {
      method?: string;
      /** Exact path (below /api/v10, no query) or a RegExp tested against it. */
      path?: string | RegExp;
      status?: number;
    };

export interface FaultSpec {
  /** Only requests with this HTTP method (case-insensitive). */
  method?: string;
  /** Exact path (below /api/v10, no query), RegExp, or predicate. */
  path?: string | RegExp | ((call: RecordedCall) => boolean);
  /** How many matching requests are affected (default 1). Use `Infinity` for "until cancelled". */
  times?: number;
  /** Status to answer with (429, 500, 503, ...). Omit for a pure delay. */
  status?: number;
  /** For 429: seconds to wait (body `retry_after` and `retry-after` header). Default 0.1. */
  retryAfter?: number;
  /** For 429: mark as global rate limit. */
  global?: boolean;
  /** Delay before answering (with `status`, or with the normal response when `status` is unset). */
  delayMs?: number;
  /** Override the response body. */
  body?: unknown;
}

export interface FaultHandle {
  /** Number of matching requests still to be affected. */
  remaining(): number;
  cancel(): void;
}

/** A message received from the bot over the gateway websocket. */
export interface GatewayReceived {
  op: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  d: any;
  at: number;
  connectionId: number;
  sessionId: string | null;
}

export interface GatewayConnectionInfo {
  connectionId: number;
  /** Query string params of the websocket URL (`v`, `encoding`, `compress`). */
  query: Record<string, string>;
  sessionId: string | null;
  open: boolean;
  openedAt: number;
  closedAt?: number;
  closeCode?: number;
}

export interface InteractionContext {
  /** Partial user; merged over the default test user. Registered as a guild member. */
  user?: Partial<FakeUser>;
  /** Role ids of the invoking member. */
  roles?: string[];
  /** Channel id or name (default: first configured channel; in `guild`, its first channel). */
  channel?: string;
  /** Id or name of one of `otherGuilds`: the interaction comes from that server instead. */
  guild?: string;
  /** Member permissions bitfield string (default: all permissions). */
  permissions?: string;
  locale?: string;
  /** Extra top-level fields merged into the INTERACTION_CREATE payload. */
  extra?: JsonObject;
}

export type OptionValue = string | number | boolean;

export interface CommandOptionInput {
  name: string;
  /** ApplicationCommandOptionType; inferred from `value` when omitted (3 string, 4 int, 10 number, 5 bool). */
  type?: number;
  value?: OptionValue;
  focused?: boolean;
  options?: CommandOptionInput[];
}

export type CommandOptionsInput = Record<string, OptionValue> | CommandOptionInput[];

export interface SlashCommandContext extends InteractionContext {
  subcommand?: string;
  subcommandGroup?: string;
  /** `data.resolved` (users / members / roles / channels) for option types 6-9, 11. */
  resolved?: JsonObject;
  /** Command id (default: id of the registered command with that name, else a fresh snowflake). */
  commandId?: string;
}

export interface AutocompleteContext extends SlashCommandContext {
  /** Name of the focused option (alternative to `focused: true` in the options array). */
  focused?: string;
}

export interface ComponentContext extends InteractionContext {
  /** The message carrying the component: a message object or an id. Default: the newest stored
   * message containing a component with this custom_id. */
  message?: FakeMessage | string;
}

/** What the bot answered to an interaction, in a shape that is easy to assert on. */
export interface InteractionResponse {
  /** Interaction callback type: 4 reply, 5 deferred reply, 6 deferred update, 7 update, 8 autocomplete, 9 modal. */
  type: number;
  /** The effective message / choices / modal data: callback `data`, or for 5/6 the body of the
   * first follow-up edit (PATCH @original) or follow-up message. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
  callback: RecordedCall;
  /** The PATCH @original (or follow-up POST) that completed a deferred response, if any. */
  edit?: RecordedCall;
}

export interface InteractionHandle {
  id: string;
  token: string;
  /** The INTERACTION_CREATE `d` that was dispatched. */
  payload: JsonObject;
  /** Resolves with the first successful POST /interactions/{id}/{token}/callback. */
  waitForCallback(timeoutMs?: number): Promise<RecordedCall>;
  /** Resolves with the first successful PATCH /webhooks/{app}/{token}/messages/@original. */
  waitForEdit(timeoutMs?: number): Promise<RecordedCall>;
  /** Resolves with the n-th (0-based) successful follow-up POST /webhooks/{app}/{token}. */
  waitForFollowUp(index?: number, timeoutMs?: number): Promise<RecordedCall>;
  /** Callback, plus (for deferred types 5/6) the edit or follow-up that filled it in. */
  waitForResponse(timeoutMs?: number): Promise<InteractionResponse>;
  /** All REST calls made with this interaction's token so far. */
  calls(): RecordedCall[];
  /** Current state of the interaction's original response message, if any. */
  original(): FakeMessage | undefined;
}

export interface ChannelInput {
  id?: string;
  name: string;
  /** Default 0 (text). */
  type?: number;
  topic?: string | null;
  parent_id?: string | null;
}

export interface RoleInput {
  id?: string;
  name: string;
  permissions?: string;
}

export interface FakeDiscordOptions {
  guildId?: string;
  guildName?: string;
  /** Channel names or definitions. Default: `['claude-tasks', 'general']` (text channels). */
  channels?: Array<string | ChannelInput>;
  /** Extra roles (besides @everyone and the bot's managed role). */
  roles?: RoleInput[];
  /** Bot token accepted by REST (`Authorization: Bot <token>`) and gateway IDENTIFY. */
  token?: string;
  /** Bot user id = application id. */
  applicationId?: string;
  botUsername?: string;
  /** Gateway heartbeat interval in ms (default 41250). */
  heartbeatInterval?: number;
  /** Privileged intents the "developer portal" allows; others get close 4014. Default: all. */
  allowedPrivilegedIntents?: number;
  /** Reject interaction callbacks arriving later than this many ms after dispatch (Discord: 3000)
   * with 404 `Unknown interaction` (10062). Default: no deadline. */
  callbackDeadlineMs?: number;
  /** Validate message payloads against Discord limits (2000 chars, 10 embeds, ...). Default true. */
  validate?: boolean;
  /** Log every request / gateway frame to stderr. */
  debug?: boolean;
  /**
   * Other servers the bot has been added to (by someone else): sent in READY and GUILD_CREATE like the
   * main guild, with their own text channels (`@everyone` only, the bot as the one member). REST
   * does not serve them; interactions come from them with `ctx.guild`.
   */
  otherGuilds?: Array<{ id?: string; name?: string; channels?: string[] }>;
}

export interface OtherGuild {
  id: string;
  name: string;
  /** Text channels, by name. */
  channels: Record<string, FakeChannel>;
}
