// Commands that manage signed webhooks (admin keys only; the server refuses others).
import type { WebhookEventName, WebhookJson } from '../../client/types.js';
import { columns } from '../format.js';
import type { CommandContext, CommandOutput } from './context.js';

function webhookLine(ctx: CommandContext, w: WebhookJson): string[] {
  const filter = [w.label ? `label:${w.label}` : null, w.project ? `project:${w.project}` : null].filter(Boolean).join(' ');
  const state = w.enabled ? (w.failing_since ? ctx.style.dim(`failing since ${w.failing_since}`) : '') : `disabled: ${w.disabled_reason ?? ''}`;
  return [ctx.style.bold(`#${w.id}`), w.url, w.events.join(','), filter, state];
}

export async function add(ctx: CommandContext, url: string, o: { events: string[]; label?: string; project?: string }): Promise<CommandOutput> {
  const res = await ctx.client.addWebhook({ url, events: o.events as Array<WebhookEventName | '*'>, label: o.label ?? null, project: o.project ?? null });
  return {
    json: res,
    text: [`🪝 Webhook #${res.id} → ${res.url} (${res.events.join(', ')})`, `   secret: ${res.secret}`, '   shown only now: keep it where the receiver checks X-Athena-Signature'].join('\n'),
  };
}

export async function list(ctx: CommandContext): Promise<CommandOutput> {
  const res = await ctx.client.webhooks();
  if (res.webhooks.length === 0) return { json: res, text: 'No webhooks (add one: athena webhooks add https://ci.example.com/athena -e task.completed)' };
  return { json: res, text: ['🪝 Webhooks', ...columns(res.webhooks.map((w) => webhookLine(ctx, w)), '   ')].join('\n') };
}

export async function remove(ctx: CommandContext, id: number): Promise<CommandOutput> {
  const res = await ctx.client.removeWebhook(id);
  return { json: res, text: `🪝 Webhook #${res.id} removed (${res.url})` };
}

export async function enable(ctx: CommandContext, id: number): Promise<CommandOutput> {
  const res = await ctx.client.enableWebhook(id);
  return { json: res, text: `🪝 Webhook #${res.webhook.id} enabled again (${res.webhook.url}): pending deliveries go out, new events are queued` };
}

export async function deliveries(ctx: CommandContext, id: number, o: { status?: 'pending' | 'delivered' | 'failed'; limit?: number }): Promise<CommandOutput> {
  const res = await ctx.client.webhookDeliveries(id, o);
  if (res.deliveries.length === 0) return { json: res, text: `No deliveries for webhook #${id}` };
  const rows = res.deliveries.map((d) => [
    ctx.style.bold(String(d.id)),
    d.event,
    `#${d.task_id}`,
    d.status,
    `${d.attempts} attempt(s)`,
    d.last_status !== null ? `HTTP ${d.last_status}` : (d.last_error ?? ''),
    ctx.style.dim(d.status === 'pending' && d.next_attempt_at ? `next ${d.next_attempt_at}` : (d.delivered_at ?? d.created_at)),
  ]);
  return { json: res, text: [`🪝 Deliveries of webhook #${id} (newest first)`, ...columns(rows, '   ')].join('\n') };
}

export async function redeliver(ctx: CommandContext, id: number, deliveryId: number): Promise<CommandOutput> {
  const res = await ctx.client.redeliverWebhook(id, deliveryId);
  return { json: res, text: `🪝 Delivery ${res.delivery.id} (${res.delivery.event} of #${res.delivery.task_id}) queued again` };
}
