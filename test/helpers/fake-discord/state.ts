/**
 * The fake's in-memory world: guild, channels, roles, members, messages, commands,
 * interactions, plus the request log, fault queue and waiters shared by REST and gateway.
 */
import type {
  CallFilter,
  ChannelInput,
  FakeChannel,
  FakeDiscordOptions,
  FakeMember,
  FakeMessage,
  FakeRole,
  FakeUser,
  FaultHandle,
  OtherGuild,
  FaultSpec,
  JsonObject,
  RecordedCall,
} from './types.js';
import { ALL_PERMISSIONS, describeFilter, isoNow, matchesFilter, snowflake, summarizeCall } from './util.js';

export interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  payload: JsonObject;
  channelId: string;
  dispatchedAt: number;
  /** Callback type once acknowledged. */
  callbackType?: number;
  /** Id of the message that `@original` refers to. */
  originalMessageId?: string;
  followUpIds: string[];
}

export interface DispatchOptions {
  /** Only sessions that identified with this intent bit get the event. */
  intent?: number;
  /** MESSAGE_CREATE from a user: strip content/embeds/attachments/components for sessions
   * without the MessageContent intent unless the bot is mentioned (Discord's behaviour). */
  privilegedContent?: boolean;
}

interface Fault extends FaultSpec {
  left: number;
}

interface Waiter {
  filter: CallFilter;
  resolve: (call: RecordedCall) => void;
  reject: (error: Error) => void;
}

/** Default 'developer portal' permissions of @everyone in the fake guild (view, send, history, threads...). */
const EVERYONE_PERMISSIONS = '1071698660929';

export class FakeDiscordState {
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: FakeUser;
  readonly application: JsonObject;
  readonly guildId: string;
  readonly guild: JsonObject;
  readonly roles = new Map<string, FakeRole>();
  readonly channelsById = new Map<string, FakeChannel>();
  readonly members = new Map<string, FakeMember>();
  readonly users = new Map<string, FakeUser>();
  readonly messages = new Map<string, FakeMessage[]>();
  readonly globalCommands: JsonObject[] = [];
  readonly guildCommands = new Map<string, JsonObject[]>();
  readonly interactionsById = new Map<string, InteractionRecord>();
  readonly interactionsByToken = new Map<string, InteractionRecord>();
  readonly defaultUser: FakeUser;
  readonly botRoleId: string;
  /** Names of the configured channels -> channel objects (in creation order). */
  readonly initialChannels: FakeChannel[] = [];
  /** Servers other than the main guild that the bot is in (see options.otherGuilds). */
  readonly otherGuilds: OtherGuild[] = [];

  calls: RecordedCall[] = [];
  private callSeq = 0;
  private faults: Fault[] = [];
  private waiters = new Set<Waiter>();
  rejectToken = false;
  closed = false;
  baseUrl = '';
  /** Set by the server: pushes a dispatch to gateway sessions whose intents allow it. */
  dispatchHook: (event: string, data: JsonObject, opts?: DispatchOptions) => void = () => {};

  constructor(readonly options: FakeDiscordOptions) {
    this.applicationId = options.applicationId ?? snowflake();
    this.token =
      options.token ?? `${Buffer.from(this.applicationId).toString('base64url')}.GfAkE0.${'x'.repeat(38)}`;
    this.guildId = options.guildId ?? snowflake();
    this.botUser = {
      id: this.applicationId,
      username: options.botUsername ?? 'Athena',
      discriminator: '0',
      global_name: null,
      avatar: null,
      bot: true,
      verified: true,
      mfa_enabled: false,
      flags: 0,
      public_flags: 0,
      banner: null,
      accent_color: null,
      avatar_decoration_data: null,
    };
    this.application = {
      id: this.applicationId,
      name: this.botUser.username,
      icon: null,
      description: '',
      summary: '',
      type: null,
      bot_public: false,
      bot_require_code_grant: false,
      verify_key: '0'.repeat(64),
      flags: 0,
      team: null,
      owner: { id: snowflake(), username: 'owner', discriminator: '0', global_name: 'Owner', avatar: null, flags: 0, public_flags: 0 },
      bot: this.botUser,
      approximate_guild_count: 1,
      interactions_endpoint_url: null,
      redirect_uris: [],
      tags: [],
      install_params: null,
      integration_types_config: { '0': {} },
    };
    this.users.set(this.botUser.id, this.botUser);

    // Roles: @everyone (id = guild id), a managed bot role with Administrator, extras.
    this.roles.set(this.guildId, role(this.guildId, '@everyone', EVERYONE_PERMISSIONS, 0));
    this.botRoleId = snowflake();
    this.roles.set(this.botRoleId, { ...role(this.botRoleId, this.botUser.username, '8', 1), managed: true, tags: { bot_id: this.botUser.id } });
    let pos = 2;
    for (const r of options.roles ?? []) {
      const id = r.id ?? snowflake();
      this.roles.set(id, role(id, r.name, r.permissions ?? '0', pos++));
    }

    const chans = options.channels ?? ['claude-tasks', 'general'];
    chans.forEach((c, i) => {
      const input: ChannelInput = typeof c === 'string' ? { name: c } : c;
      const ch = this.makeChannel(input, i);
      this.channelsById.set(ch.id, ch);
      this.initialChannels.push(ch);
    });

    for (const spec of options.otherGuilds ?? []) {
      const id = spec.id ?? snowflake();
      const channels: Record<string, FakeChannel> = {};
      (spec.channels ?? ['claude-tasks']).forEach((name, i) => {
        channels[name] = { ...this.makeChannel({ name }, i), guild_id: id };
      });
      this.otherGuilds.push({ id, name: spec.name ?? `Other Guild ${this.otherGuilds.length + 1}`, channels });
    }

    this.addMember(this.botUser, [this.botRoleId]);
    this.defaultUser = this.ensureUser({ username: 'tester', global_name: 'Tester' });

    this.guild = {
      id: this.guildId,
      name: options.guildName ?? 'Athena Test Guild',
      icon: null,
      icon_hash: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: this.application.owner.id,
      region: 'us-west',
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      widget_channel_id: null,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: this.initialChannels[0]?.id ?? null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      max_presences: null,
      max_members: 500000,
      max_video_channel_users: 25,
      max_stage_video_channel_users: 50,
      vanity_url_code: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      premium_progress_bar_enabled: false,
      preferred_locale: 'en-US',
      nsfw_level: 0,
      nsfw: false,
      emojis: [],
      stickers: [],
      incidents_data: null,
      hub_type: null,
      latest_onboarding_question_id: null,
    };
  }

  private makeChannel(input: ChannelInput, position: number): FakeChannel {
    const type = input.type ?? 0;
    const ch: FakeChannel = {
      id: input.id ?? snowflake(),
      type,
      name: input.name,
      guild_id: this.guildId,
      parent_id: input.parent_id ?? null,
      position,
      permission_overwrites: [],
      flags: 0,
    };
    if (type === 0 || type === 5) {
      Object.assign(ch, {
        topic: input.topic ?? null,
        nsfw: false,
        last_message_id: null,
        rate_limit_per_user: 0,
        default_auto_archive_duration: 1440,
        default_thread_rate_limit_per_user: 0,
      });
    }
    if (type === 2 || type === 13) Object.assign(ch, { bitrate: 64000, user_limit: 0, rtc_region: null, nsfw: false, last_message_id: null, rate_limit_per_user: 0 });
    return ch;
  }

  /** Register (or update) a user and make them a guild member. */
  ensureUser(partial: Partial<FakeUser> = {}, roles?: string[]): FakeUser {
    const existing = partial.id ? this.users.get(partial.id) : undefined;
    const user: FakeUser = {
      id: partial.id ?? snowflake(),
      username: 'tester',
      discriminator: '0',
      global_name: null,
      avatar: null,
      public_flags: 0,
      flags: 0,
      banner: null,
      accent_color: null,
      avatar_decoration_data: null,
      ...(existing ?? {}),
      ...partial,
    };
    this.users.set(user.id, user);
    const member = this.members.get(user.id);
    if (member) {
      member.user = user;
      if (roles) member.roles = roles;
    } else {
      this.addMember(user, roles ?? []);
    }
    return user;
  }

  addMember(user: FakeUser, roles: string[]): FakeMember {
    const member: FakeMember = {
      user,
      nick: null,
      avatar: null,
      banner: null,
      roles,
      joined_at: isoNow(),
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
    };
    this.members.set(user.id, member);
    return member;
  }

  /** Channel by id or (first match) by name. */
  findChannel(idOrName: string): FakeChannel | undefined {
    const byId = this.channelsById.get(idOrName);
    if (byId) return byId;
    for (const ch of this.channelsById.values()) if (ch.name === idOrName || `#${ch.name}` === idOrName) return ch;
    return undefined;
  }

  findMessage(messageId: string): FakeMessage | undefined {
    for (const list of this.messages.values()) {
      const m = list.find((x) => x.id === messageId);
      if (m) return m;
    }
    return undefined;
  }

  storeMessage(message: FakeMessage): void {
    const list = this.messages.get(message.channel_id) ?? [];
    list.push(message);
    this.messages.set(message.channel_id, list);
    const ch = this.channelsById.get(message.channel_id);
    if (ch) {
      ch.last_message_id = message.id;
      if (ch.type === 11 || ch.type === 12) {
        ch.message_count = (ch.message_count ?? 0) + 1;
        ch.total_message_sent = (ch.total_message_sent ?? 0) + 1;
      }
    }
  }

  /** Guild object as sent in GUILD_CREATE (with channels, roles, members...). */
  guildCreatePayload(): JsonObject {
    const channels = [...this.channelsById.values()];
    return guildCreate(this.guild, {
      roles: [...this.roles.values()],
      channels: channels.filter((c) => c.type !== 10 && c.type !== 11 && c.type !== 12),
      threads: channels.filter((c) => c.type === 10 || c.type === 11 || c.type === 12),
      members: [...this.members.values()],
      joined_at: this.members.get(this.botUser.id)?.joined_at ?? isoNow(),
    });
  }

  /** GUILD_CREATE of one of the other servers: its channels, @everyone, and the bot as its only member. */
  otherGuildCreatePayload(guild: OtherGuild): JsonObject {
    return guildCreate(
      { ...this.guild, id: guild.id, name: guild.name, owner_id: snowflake(), system_channel_id: null },
      {
        roles: [role(guild.id, '@everyone', EVERYONE_PERMISSIONS, 0)],
        channels: Object.values(guild.channels),
        threads: [],
        members: [{ ...this.members.get(this.botUser.id)!, roles: [] }],
        joined_at: isoNow(),
      },
    );
  }

  guildRestPayload(): JsonObject {
    return { ...this.guild, roles: [...this.roles.values()], approximate_member_count: this.members.size, approximate_presence_count: 0 };
  }

  // ---- request log & waiters ------------------------------------------------------------

  newCall(partial: Omit<RecordedCall, 'seq' | 'at'>): RecordedCall {
    const call: RecordedCall = { seq: ++this.callSeq, at: Date.now(), ...partial };
    this.calls.push(call);
    return call;
  }

  /** Called once the response for `call` was sent. */
  completeCall(call: RecordedCall): void {
    for (const w of [...this.waiters]) {
      if (matchesFilter(call, w.filter)) {
        this.waiters.delete(w);
        w.resolve(call);
      }
    }
  }

  lastSeq(): number {
    return this.callSeq;
  }

  waitForCall(filter: CallFilter, timeoutMs = 5000): Promise<RecordedCall> {
    const existing = this.calls.find((c) => c.status !== undefined && matchesFilter(c, filter));
    if (existing) return Promise.resolve(existing);
    if (this.closed) return Promise.reject(new Error('fake-discord: waitForCall after close()'));
    return new Promise<RecordedCall>((resolve, reject) => {
      const waiter: Waiter = {
        filter,
        resolve: (call) => {
          clearTimeout(timer);
          resolve(call);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const recent = this.calls.slice(-25).map((c) => `  ${summarizeCall(c)}`).join('\n');
        reject(
          new Error(
            `fake-discord: timed out after ${timeoutMs}ms waiting for ${describeFilter(filter)}.\n` +
              `Recent REST calls (${this.calls.length} total):\n${recent || '  (none)'}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  // ---- faults ---------------------------------------------------------------------------

  addFault(spec: FaultSpec): FaultHandle {
    const fault: Fault = { ...spec, left: spec.times ?? 1 };
    this.faults.push(fault);
    return {
      remaining: () => fault.left,
      cancel: () => {
        fault.left = 0;
        this.faults = this.faults.filter((f) => f !== fault);
      },
    };
  }

  /** Consume the first fault matching this call, if any. */
  takeFault(call: RecordedCall): FaultSpec | undefined {
    for (const f of this.faults) {
      if (f.left <= 0) continue;
      if (f.method && f.method.toUpperCase() !== call.method) continue;
      if (f.path !== undefined) {
        const p = f.path;
        const ok = typeof p === 'string' ? p === call.path : p instanceof RegExp ? p.test(call.path) : p(call);
        if (!ok) continue;
      }
      f.left--;
      if (f.left <= 0) this.faults = this.faults.filter((x) => x !== f);
      return f;
    }
    return undefined;
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Reset recorded calls, faults, messages and interactions (guild/channels/commands remain). */
  reset(): void {
    this.calls = [];
    this.faults = [];
    this.rejectToken = false;
    this.messages.clear();
    this.interactionsById.clear();
    this.interactionsByToken.clear();
  }

  /** Reject pending waiters (used by close()). */
  failWaiters(reason: string): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w.reject(new Error(reason));
  }
}

/** A GUILD_CREATE payload: the guild object, what it holds, and the fields a fresh gateway session sees. */
function guildCreate(guild: JsonObject, holds: { roles: FakeRole[]; channels: FakeChannel[]; threads: FakeChannel[]; members: FakeMember[]; joined_at: string }): JsonObject {
  return {
    ...guild,
    ...holds,
    member_count: holds.members.length,
    large: false,
    unavailable: false,
    voice_states: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
    embedded_activities: [],
    activity_instances: [],
    lazy: true,
    application_command_counts: {},
  };
}

function role(id: string, name: string, permissions: string, position: number): FakeRole {
  return {
    id,
    name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position,
    permissions,
    managed: false,
    mentionable: false,
    flags: 0,
  };
}

export { ALL_PERMISSIONS };
