/**
 * Builders that dispatch INTERACTION_CREATE to the bot and helpers to await its answer.
 */
import type { FakeGateway } from './gateway.js';
import type { FakeDiscordState, InteractionRecord } from './state.js';
import type {
  AutocompleteContext,
  CommandOptionInput,
  CommandOptionsInput,
  ComponentContext,
  FakeMessage,
  FakeUser,
  InteractionContext,
  InteractionHandle,
  InteractionResponse,
  JsonObject,
  OptionValue,
  RecordedCall,
  SlashCommandContext,
} from './types.js';
import { ALL_PERMISSIONS, findComponent, randomToken, snowflake } from './util.js';

const DEFAULT_TIMEOUT = 5000;
const ok = (c: RecordedCall): boolean => c.status !== undefined && c.status >= 200 && c.status < 300;

export class InteractionDriver {
  constructor(
    private readonly state: FakeDiscordState,
    private readonly gateway: FakeGateway,
  ) {}

  /**
   * Dispatch an INTERACTION_CREATE. `partial` is merged over sane defaults (id, token, guild,
   * channel, member, permissions, locale, ...); it must at least contain `type` and `data`.
   */
  dispatchInteraction(partial: JsonObject & { type: number }, ctx: InteractionContext = {}): InteractionHandle {
    const s = this.state;
    const other = ctx.guild !== undefined && ctx.guild !== s.guildId ? s.otherGuilds.find((g) => g.id === ctx.guild || g.name === ctx.guild) : undefined;
    if (ctx.guild !== undefined && ctx.guild !== s.guildId && !other) throw new Error(`fake-discord: unknown guild ${JSON.stringify(ctx.guild)}`);
    const guildId = other?.id ?? s.guildId;
    const channelRef = ctx.channel ?? partial.channel_id ?? (other ? Object.values(other.channels)[0]?.id : s.initialChannels[0]?.id);
    const channel = !channelRef
      ? undefined
      : other
        ? Object.values(other.channels).find((c) => c.id === channelRef || c.name === channelRef || `#${c.name}` === channelRef)
        : s.findChannel(channelRef);
    if (!channel) throw new Error(`fake-discord: unknown channel ${JSON.stringify(channelRef)}`);
    const user = this.resolveUser(ctx.user, ctx.roles);
    // In another server the user is a member there, with none of the main guild's roles.
    const member = other ? { ...s.members.get(user.id)!, roles: [] } : s.members.get(user.id)!;
    const id = snowflake();
    const token = randomToken('aW50ZXJhY3Rpb246');
    const payload: JsonObject = {
      id,
      application_id: s.applicationId,
      token,
      version: 1,
      guild_id: guildId,
      guild: { id: guildId, locale: 'en-US', features: [] },
      channel_id: channel.id,
      channel: { ...channel },
      member: { ...member, roles: ctx.roles ?? member.roles, permissions: ctx.permissions ?? ALL_PERMISSIONS },
      app_permissions: ALL_PERMISSIONS,
      locale: ctx.locale ?? 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      entitlement_sku_ids: [],
      authorizing_integration_owners: { '0': guildId },
      context: 0,
      attachment_size_limit: 10 * 1024 * 1024,
      ...partial,
      ...(ctx.extra ?? {}),
    };
    const rec: InteractionRecord = {
      id: payload.id,
      token: payload.token,
      type: payload.type,
      payload,
      channelId: payload.channel_id ?? channel.id,
      dispatchedAt: Date.now(),
      followUpIds: [],
    };
    s.interactionsById.set(rec.id, rec);
    s.interactionsByToken.set(rec.token, rec);
    const delivered = this.gateway.dispatch('INTERACTION_CREATE', payload);
    if (delivered === 0) {
      throw new Error('fake-discord: no gateway session to deliver INTERACTION_CREATE to — log the client in and await clientReady first');
    }
    return this.handle(rec);
  }

  /**
   * A chat-input (slash) command. `options` is `{ name: value }` (types inferred: string 3,
   * integer 4, number 10, boolean 5) or an explicit `[{ name, type, value }]` array.
   */
  slashCommand(name: string, options: CommandOptionsInput = {}, ctx: SlashCommandContext = {}): InteractionHandle {
    return this.dispatchInteraction({ type: 2, data: this.commandData(name, options, ctx) }, ctx);
  }

  /** An autocomplete interaction; one option must be focused (`focused: true`, `ctx.focused`, or the last one). */
  autocomplete(name: string, options: CommandOptionsInput = {}, ctx: AutocompleteContext = {}): InteractionHandle {
    const data = this.commandData(name, options, ctx, ctx.focused);
    const leaf = leafOptions(data.options ?? []);
    if (leaf.length && !leaf.some((o) => o.focused)) leaf[leaf.length - 1].focused = true;
    for (const o of leaf) if (o.focused && o.value !== undefined) o.value = String(o.value);
    return this.dispatchInteraction({ type: 4, data }, ctx);
  }

  /** A button click on a previously posted message (default: newest message carrying `customId`). */
  button(customId: string, ctx: ComponentContext = {}): InteractionHandle {
    const message = this.resolveComponentMessage(customId, ctx.message);
    const component = findComponent(message.components, customId);
    return this.dispatchInteraction(
      { type: 3, channel_id: message.channel_id, message: structuredClone(message), data: { custom_id: customId, component_type: component?.type ?? 2 } },
      { ...ctx, channel: ctx.channel ?? message.channel_id },
    );
  }

  /** A select-menu choice on a previously posted message. */
  select(customId: string, values: string[], ctx: ComponentContext = {}): InteractionHandle {
    const message = this.resolveComponentMessage(customId, ctx.message);
    const component = findComponent(message.components, customId);
    return this.dispatchInteraction(
      { type: 3, channel_id: message.channel_id, message: structuredClone(message), data: { custom_id: customId, component_type: component?.type ?? 3, values } },
      { ...ctx, channel: ctx.channel ?? message.channel_id },
    );
  }

  /** A modal submission with text inputs `{ customId: value }`. */
  modalSubmit(customId: string, fields: Record<string, string>, ctx: ComponentContext = {}): InteractionHandle {
    const message = ctx.message ? this.resolveComponentMessage(undefined, ctx.message) : undefined;
    return this.dispatchInteraction(
      {
        type: 5,
        ...(message ? { channel_id: message.channel_id, message: structuredClone(message) } : {}),
        data: {
          custom_id: customId,
          components: Object.entries(fields).map(([id, value]) => ({ type: 1, components: [{ type: 4, custom_id: id, value }] })),
        },
      },
      { ...ctx, channel: ctx.channel ?? message?.channel_id },
    );
  }

  // ---- helpers --------------------------------------------------------------------------

  private resolveUser(partial: Partial<FakeUser> | undefined, roles: string[] | undefined): FakeUser {
    const s = this.state;
    // ctx.roles only shapes the interaction payload for the default user (no persistent change).
    if (!partial) return s.defaultUser;
    let id = partial.id;
    if (!id && partial.username) id = [...s.users.values()].find((u) => u.username === partial.username && !u.bot)?.id;
    return s.ensureUser({ global_name: partial.username ?? null, ...partial, ...(id ? { id } : {}) }, roles);
  }

  private commandData(name: string, options: CommandOptionsInput, ctx: SlashCommandContext, focused?: string): JsonObject {
    const s = this.state;
    const registered =
      (s.guildCommands.get(s.guildId) ?? []).find((c) => c.name === name && (c.type ?? 1) === 1) ??
      s.globalCommands.find((c) => c.name === name && (c.type ?? 1) === 1);
    let opts = buildOptions(options, focused);
    if (ctx.subcommand) opts = [{ name: ctx.subcommand, type: 1, options: opts }];
    if (ctx.subcommandGroup) opts = [{ name: ctx.subcommandGroup, type: 2, options: opts }];
    return {
      id: ctx.commandId ?? registered?.id ?? snowflake(),
      name,
      type: 1,
      ...(registered?.guild_id ? { guild_id: registered.guild_id } : {}),
      ...(opts.length ? { options: opts } : {}),
      ...(ctx.resolved ? { resolved: ctx.resolved } : {}),
    };
  }

  private resolveComponentMessage(customId: string | undefined, ref: FakeMessage | string | undefined): FakeMessage {
    const s = this.state;
    if (ref && typeof ref === 'object') return s.findMessage(ref.id) ?? ref;
    if (typeof ref === 'string') {
      const m = s.findMessage(ref);
      if (!m) throw new Error(`fake-discord: no stored message with id ${ref}`);
      return m;
    }
    const all = [...s.messages.values()].flat().sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
    const found = customId ? all.find((m) => findComponent(m.components, customId)) : undefined;
    if (!found) {
      const known = all.flatMap((m) => collectCustomIds(m.components).map((id) => `${id} (message ${m.id})`));
      throw new Error(
        `fake-discord: no posted message has a component with custom_id ${JSON.stringify(customId)}. ` +
          `Known custom_ids: ${known.length ? known.join(', ') : '(none)'}`,
      );
    }
    return found;
  }

  private handle(rec: InteractionRecord): InteractionHandle {
    const s = this.state;
    const app = s.applicationId;
    const callbackPath = `/interactions/${rec.id}/${rec.token}/callback`;
    const webhookPath = `/webhooks/${app}/${rec.token}`;
    const originalPath = `${webhookPath}/messages/@original`;
    const isCallback = (c: RecordedCall) => c.method === 'POST' && c.path === callbackPath && ok(c);
    const isEdit = (c: RecordedCall) => c.method === 'PATCH' && c.path === originalPath && ok(c);
    const isFollowUp = (c: RecordedCall) => c.method === 'POST' && c.path === webhookPath && ok(c);

    const waitForCallback = (timeoutMs = DEFAULT_TIMEOUT) =>
      s.waitForCall(Object.defineProperty((c: RecordedCall) => isCallback(c), 'name', { value: `callback of interaction ${rec.id}` }), timeoutMs);
    const waitForEdit = (timeoutMs = DEFAULT_TIMEOUT) =>
      s.waitForCall(Object.defineProperty((c: RecordedCall) => isEdit(c), 'name', { value: `PATCH @original of interaction ${rec.id}` }), timeoutMs);
    const waitForFollowUp = (index = 0, timeoutMs = DEFAULT_TIMEOUT) =>
      s.waitForCall(
        Object.defineProperty(
          (c: RecordedCall) => isFollowUp(c) && s.calls.filter((x) => x.seq < c.seq && isFollowUp(x)).length === index,
          'name',
          { value: `follow-up #${index} of interaction ${rec.id}` },
        ),
        timeoutMs,
      );
    const waitForResponse = async (timeoutMs = DEFAULT_TIMEOUT): Promise<InteractionResponse> => {
      const started = Date.now();
      const callback = await waitForCallback(timeoutMs);
      const type = Number(callback.body?.type);
      if (type !== 5 && type !== 6) return { type, data: callback.body?.data ?? null, callback };
      const remaining = Math.max(1, timeoutMs - (Date.now() - started));
      const edit = await s.waitForCall(
        Object.defineProperty((c: RecordedCall) => c.seq > callback.seq && (isEdit(c) || isFollowUp(c)), 'name', {
          value: `edit/follow-up completing deferred interaction ${rec.id}`,
        }),
        remaining,
      );
      return { type, data: edit.body, callback, edit };
    };

    return {
      id: rec.id,
      token: rec.token,
      payload: rec.payload,
      waitForCallback,
      waitForEdit,
      waitForFollowUp,
      waitForResponse,
      calls: () => s.calls.filter((c) => c.path.includes(`/${rec.token}`)),
      original: () => (rec.originalMessageId ? s.findMessage(rec.originalMessageId) : undefined),
    };
  }
}

function inferType(value: OptionValue | undefined): number {
  if (typeof value === 'boolean') return 5;
  if (typeof value === 'number') return Number.isInteger(value) ? 4 : 10;
  return 3;
}

function buildOptions(input: CommandOptionsInput, focused?: string): JsonObject[] {
  if (Array.isArray(input)) {
    const map = (o: CommandOptionInput): JsonObject => ({
      name: o.name,
      type: o.type ?? (o.options ? 1 : inferType(o.value)),
      ...(o.value !== undefined ? { value: o.value } : {}),
      ...(o.focused || o.name === focused ? { focused: true } : {}),
      ...(o.options ? { options: o.options.map(map) } : {}),
    });
    return input.map(map);
  }
  return Object.entries(input).map(([name, value]) => ({
    name,
    type: inferType(value),
    value,
    ...(name === focused ? { focused: true } : {}),
  }));
}

/** The value-carrying options (inside sub-commands / groups). */
function leafOptions(options: JsonObject[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const o of options) {
    if (o.type === 1 || o.type === 2) out.push(...leafOptions(o.options ?? []));
    else out.push(o);
  }
  return out;
}

function collectCustomIds(components: unknown): string[] {
  if (!Array.isArray(components)) return [];
  return (components as JsonObject[]).flatMap((c) => [
    ...(c?.custom_id ? [String(c.custom_id)] : []),
    ...collectCustomIds(c?.components),
    ...(c?.accessory ? collectCustomIds([c.accessory]) : []),
  ]);
}
