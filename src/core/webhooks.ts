// Signed webhooks, the domain side: events, the store port, URL rules, signatures and the retry policy.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidError, NotFoundError } from '../errors.js';

export const WEBHOOK_EVENTS = ['task.created', 'task.claimed', 'task.completed', 'task.failed', 'task.needs_input', 'task.in_review'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
/** What a webhook may subscribe to: one of the events, or `*` for all of them. */
export const WEBHOOK_SUBSCRIPTIONS = [...WEBHOOK_EVENTS, '*'] as const;
export type WebhookSubscription = (typeof WEBHOOK_SUBSCRIPTIONS)[number];

/** The task log action each event comes from; other actions send nothing. */
const EVENT_OF_ACTION: Record<string, WebhookEvent> = {
  created: 'task.created',
  claimed: 'task.claimed',
  completed: 'task.completed',
  failed: 'task.failed',
  needs_input: 'task.needs_input',
  in_review: 'task.in_review',
};

export function webhookEventFor(action: string): WebhookEvent | null {
  return EVENT_OF_ACTION[action] ?? null;
}

export type Webhook = {
  id: number;
  url: string;
  events: WebhookSubscription[];
  label: string | null;
  project: string | null;
  enabled: boolean;
  disabledReason: string | null;
  failingSince: number | null;
  createdBy: string | null;
  createdAt: number;
};

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export type DeliveryAttempt = { at: number; durationMs: number; statusCode: number | null; error: string | null; response: string | null };

export type WebhookDelivery = {
  id: number;
  webhookId: number;
  event: WebhookEvent;
  taskId: number;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  lastResponse: string | null;
  createdAt: number;
  /** When its retry window started: when it was queued, or last redelivered. */
  queuedAt: number;
  deliveredAt: number | null;
};

/** A delivery due now, with what sending it needs. */
export type DueDelivery = WebhookDelivery & { url: string; secret: string; payload: string };

export type NewWebhook = { url: string; events: WebhookSubscription[]; label: string | null; project: string | null; secret: string; createdBy: string | null };

/** One attempt's outcome, recorded in one transaction with the delivery's and the webhook's new state. */
export type AttemptRecord = {
  deliveryId: number;
  webhookId: number;
  attempt: DeliveryAttempt;
  /** delivered; retry at `nextAttemptAt`; or failed for good. */
  outcome: { kind: 'delivered' } | { kind: 'retry'; nextAttemptAt: number } | { kind: 'failed' };
  /** When the attempt failed: disable the webhook if it has been failing since this time or earlier. */
  disableIfFailingSince?: number;
  disabledReason?: string;
};

export interface WebhookStore {
  createWebhook(webhook: NewWebhook, now: number): Promise<Webhook>;
  listWebhooks(): Promise<Webhook[]>;
  getWebhook(id: number): Promise<Webhook | null>;
  /** Deletes the webhook with its deliveries and their attempts. */
  deleteWebhook(id: number): Promise<Webhook | null>;
  /** Enables the webhook again, its failure streak forgotten; null when there is no such webhook. */
  enableWebhook(id: number): Promise<Webhook | null>;
  /** Newest first; each with its attempts, oldest first. */
  listDeliveries(webhookId: number, limit: number, status?: DeliveryStatus): Promise<Array<WebhookDelivery & { history: DeliveryAttempt[] }>>;
  /** Puts a delivery back in the outbox, due now; null when the webhook has no such delivery. */
  redeliver(webhookId: number, deliveryId: number, now: number): Promise<WebhookDelivery | null>;
  /**
   * Pending deliveries of enabled webhooks due at `now`, oldest first, at most `limit`; a delivery
   * whose webhook still has an earlier pending one for the same task waits for it (order per task).
   */
  dueDeliveries(now: number, limit: number): Promise<DueDelivery[]>;
  /** Records an attempt; answers whether the webhook was disabled by it. */
  recordAttempt(record: AttemptRecord): Promise<{ disabled: boolean }>;
  /** Deliveries not yet delivered nor failed, for /metrics. */
  pendingDeliveries(): Promise<number>;
  /** Deletes delivered and failed deliveries (with their attempts) queued before `before`; answers how many. */
  purgeDeliveries(before: number): Promise<number>;
}

// ---- URLs and the allowlist ----

/**
 * Whether `url` may be a webhook's target under `allowlist`: entries with "://" are URL prefixes
 * (matched at a path boundary, so https://a.example/hooks does not allow https://a.example/hooksx
 * nor https://a.example.evil.net), other entries host names ("*.example.com" for its subdomains).
 * An empty allowlist allows every host.
 */
export function urlAllowed(url: URL, allowlist: readonly string[]): boolean {
  if (allowlist.length === 0) return true;
  const host = url.hostname.toLowerCase();
  return allowlist.some((entry) => {
    const rule = entry.trim();
    if (rule.includes('://')) {
      const prefix = rule.toLowerCase();
      const href = url.href.toLowerCase();
      if (!href.startsWith(prefix)) return false;
      const next = href.charAt(prefix.length);
      return prefix.endsWith('/') || next === '' || next === '/' || next === '?' || next === '#';
    }
    const name = rule.toLowerCase();
    if (name.startsWith('*.')) return host.endsWith(name.slice(1)) && host.length > name.length - 1;
    return host === name;
  });
}

export const WEBHOOK_URL_MAX = 2000;

/** Parses and checks a webhook URL: http or https, no credentials, allowed by the allowlist. */
export function checkWebhookUrl(text: string, allowlist: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidError(`url is not a valid URL: "${text.slice(0, 200)}"`, { field: 'url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidError(`url must be http or https (got ${url.protocol.replace(/:$/, '')})`, { field: 'url' });
  if (url.username || url.password) throw new InvalidError('url must not carry a user name or password (the signature authenticates deliveries)', { field: 'url' });
  if (!urlAllowed(url, allowlist)) throw new InvalidError(`url is not allowed by WEBHOOK_ALLOWLIST: ${url.host}`, { field: 'url', host: url.host });
  return url;
}

// ---- Signatures ----

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** The X-Athena-Signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>`. */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}

/** Checks a signature header as a receiver would (tests and docs): right HMAC, timestamp within `toleranceSeconds`. */
export function verifySignature(secret: string, body: string, header: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = new Map(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return v1.length === expected.length && timingSafeEqual(Buffer.from(v1), Buffer.from(expected));
}

/** The body of a delivery: built from stored columns, so every attempt sends the same bytes. */
export function deliveryBody(delivery: Pick<DueDelivery, 'id' | 'event' | 'createdAt' | 'payload'>): string {
  return `{"id":${delivery.id},"event":${JSON.stringify(delivery.event)},"created_at":${JSON.stringify(new Date(delivery.createdAt).toISOString())},"task":${delivery.payload}}`;
}

// ---- Retry policy ----

export type RetryPolicy = {
  /** First retry after about this long; doubles each attempt. */
  baseMs: number;
  /** Longest wait between two attempts. */
  maxDelayMs: number;
  /** A delivery not delivered this long after it was queued is failed; a webhook failing this long is disabled. */
  giveUpAfterMs: number;
};

export type AttemptResult = { statusCode: number | null; error: string | null; retryAfterMs: number | null };

/** Network errors, timeouts, 5xx and 429 are worth another try; 2xx is success; the rest is a refusal. */
export function classifyAttempt(result: AttemptResult): 'delivered' | 'retryable' | 'refused' {
  if (result.statusCode === null) return 'retryable';
  if (result.statusCode >= 200 && result.statusCode < 300) return 'delivered';
  if (result.statusCode === 429 || result.statusCode >= 500) return 'retryable';
  return 'refused';
}

/**
 * When to try again after failed attempt number `attempts` (1 for the first): exponential with jitter
 * (50–100 %), or what Retry-After asked when it said; null when that is past the give-up time.
 */
export function nextAttemptAt(policy: RetryPolicy, delivery: { queuedAt: number; attempts: number }, result: AttemptResult, now: number, random: () => number): number | null {
  const exponential = Math.min(policy.maxDelayMs, policy.baseMs * 2 ** Math.max(0, delivery.attempts - 1));
  const jittered = Math.round(exponential * (0.5 + random() / 2));
  const delay = result.retryAfterMs !== null ? Math.min(Math.max(result.retryAfterMs, 1000), policy.giveUpAfterMs) : jittered;
  const at = now + delay;
  return at > delivery.queuedAt + policy.giveUpAfterMs ? null : at;
}

/** Retry-After as seconds or an HTTP date, in ms from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

// ---- The admin side ----

export type WebhookAdminConfig = { allowlist: readonly string[]; now: () => number };

/** Adding, listing and removing webhooks, their deliveries and redeliveries (the API's admin routes). */
export function createWebhookAdmin(store: WebhookStore, config: WebhookAdminConfig) {
  const found = async (id: number): Promise<Webhook> => {
    const webhook = await store.getWebhook(id);
    if (!webhook) throw new NotFoundError(`webhook #${id} not found`, { webhookId: id });
    return webhook;
  };
  return {
    /** The answer carries the secret: the only time it is shown. */
    async add(input: { url: string; events: WebhookSubscription[]; label?: string | null; project?: string | null; createdBy: string | null }): Promise<{ webhook: Webhook; secret: string }> {
      const url = checkWebhookUrl(input.url, config.allowlist);
      const events: WebhookSubscription[] = input.events.includes('*') ? ['*'] : [...new Set(input.events)];
      if (events.length === 0) throw new InvalidError('events must name at least one event', { field: 'events' });
      const secret = newWebhookSecret();
      const webhook = await store.createWebhook(
        { url: url.href, events, label: input.label ?? null, project: input.project ?? null, secret, createdBy: input.createdBy },
        config.now(),
      );
      return { webhook, secret };
    },
    list: () => store.listWebhooks(),
    get: found,
    async remove(id: number): Promise<Webhook> {
      const removed = await store.deleteWebhook(id);
      if (!removed) throw new NotFoundError(`webhook #${id} not found`, { webhookId: id });
      return removed;
    },
    /**
     * Sends to a webhook again after it was disabled (its receiver failed for WEBHOOK_RETRY_HOURS): its
     * pending deliveries go out again, events from now on are queued, the secret stays. Its URL must
     * still pass WEBHOOK_ALLOWLIST, which may have changed since it was added.
     */
    async enable(id: number): Promise<Webhook> {
      checkWebhookUrl((await found(id)).url, config.allowlist);
      const enabled = await store.enableWebhook(id);
      if (!enabled) throw new NotFoundError(`webhook #${id} not found`, { webhookId: id });
      return enabled;
    },
    async deliveries(id: number, limit: number, status?: DeliveryStatus) {
      await found(id);
      return store.listDeliveries(id, limit, status);
    },
    async redeliver(id: number, deliveryId: number): Promise<WebhookDelivery> {
      await found(id);
      const delivery = await store.redeliver(id, deliveryId, config.now());
      if (!delivery) throw new NotFoundError(`webhook #${id} has no delivery ${deliveryId}`, { webhookId: id, deliveryId });
      return delivery;
    },
  };
}

export type WebhookAdmin = ReturnType<typeof createWebhookAdmin>;
