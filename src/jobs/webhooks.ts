// The webhook delivery loop (leader only): sends due deliveries from the outbox, signed, a few at a
// time, off the request path; records every attempt; retries with backoff; disables a webhook that
// has failed for the whole retry window.
import {
  classifyAttempt,
  deliveryBody,
  nextAttemptAt,
  parseRetryAfter,
  signatureHeader,
  urlAllowed,
  type AttemptResult,
  type DueDelivery,
  type RetryPolicy,
  type WebhookStore,
} from '../core/webhooks.js';
import type { Logger } from '../logger.js';
import type { LoopSpec } from './loop-runner.js';

/** What is kept of a receiver's answer, for GET /api/webhooks/:id/deliveries. */
const RESPONSE_EXCERPT_BYTES = 1024;
/** Batches one run may take; the rest waits for the next run (a run stays short, and stops when told). */
const MAX_BATCHES_PER_RUN = 10;
const PURGE_EVERY_MS = 3_600_000;

export type WebhookFetch = (url: string, init: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal; redirect: 'manual' }) => Promise<Response>;

export type WebhookDeliveryDeps = {
  store: WebhookStore;
  policy: RetryPolicy;
  /** Per request, answer body included. */
  timeoutMs: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Checked again at every attempt: a URL the allowlist no longer allows is failed, not sent. */
  allowlist: readonly string[];
  batchSize?: number;
  fetch?: WebhookFetch;
  now?: () => number;
  random?: () => number;
  /** Delivered and failed deliveries are deleted this long after they were queued (0: kept); checked hourly. */
  keepMs?: number;
  /** Told when a webhook was disabled (the server posts it to Discord through the event log). */
  onDisabled?: (webhook: { id: number; url: string }, reason: string) => Promise<void>;
  log: Logger;
};

export type WebhookRunSummary = { attempted: number; delivered: number; retrying: number; failed: number; disabled: number };

export function createWebhookDelivery(deps: WebhookDeliveryDeps) {
  const { store, policy, log } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const send: WebhookFetch = deps.fetch ?? ((url, init) => fetch(url, init));
  const batchSize = deps.batchSize ?? Math.max(deps.concurrency * 4, 20);
  // Per-process and only a hint: with none known, events do not wake the loop; a webhook added
  // meanwhile (on any replica) is found by the next scheduled run.
  let enabledWebhooks = 0;
  // Also a hint: when every attempt of the last run failed (receivers down), events stop waking the
  // loop, so a dead receiver costs one run per poll interval, not one per event.
  let lastRunAllFailed = false;
  let lastPurgeAt = -Infinity;

  async function attempt(delivery: DueDelivery, signal: AbortSignal): Promise<AttemptResult & { response: string | null; durationMs: number; at: number }> {
    const at = now();
    const started = performance.now();
    const finish = (result: AttemptResult, response: string | null = null) => ({ ...result, response, at, durationMs: Math.round(performance.now() - started) });
    let url: URL;
    try {
      url = new URL(delivery.url);
    } catch {
      return finish({ statusCode: null, error: 'invalid url', retryAfterMs: null });
    }
    if (!urlAllowed(url, deps.allowlist)) return finish({ statusCode: 0, error: 'url not allowed by WEBHOOK_ALLOWLIST', retryAfterMs: null });
    const body = deliveryBody(delivery);
    const timeout = AbortSignal.timeout(deps.timeoutMs);
    const both = AbortSignal.any([timeout, signal]);
    try {
      const answer = await send(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Athena-Webhooks/1',
          'x-athena-event': delivery.event,
          'x-athena-delivery': String(delivery.id),
          'x-athena-signature': signatureHeader(delivery.secret, body, Math.floor(now() / 1000)),
        },
        body,
        signal: both,
        // A redirect could lead past the allowlist: it is a refusal, never followed.
        redirect: 'manual',
      });
      const excerpt = await readExcerpt(answer).catch(() => null);
      const retryAfterMs = answer.status === 429 || answer.status === 503 ? parseRetryAfter(answer.headers.get('retry-after'), now()) : null;
      const error = answer.status >= 300 && answer.status < 400 ? 'redirects are not followed' : null;
      return finish({ statusCode: answer.status, error, retryAfterMs }, excerpt);
    } catch (err) {
      const reason = timeout.aborted ? `timed out after ${deps.timeoutMs} ms` : signal.aborted ? 'stopped (shutdown)' : describeError(err);
      return finish({ statusCode: null, error: reason, retryAfterMs: null });
    }
  }

  async function deliver(delivery: DueDelivery, signal: AbortSignal, summary: WebhookRunSummary): Promise<'delivered' | 'retryable' | 'refused'> {
    const result = await attempt(delivery, signal);
    const kind = result.statusCode === 0 ? 'refused' : classifyAttempt(result);
    const attempts = delivery.attempts + 1;
    let outcome: Parameters<WebhookStore['recordAttempt']>[0]['outcome'];
    if (kind === 'delivered') outcome = { kind: 'delivered' };
    else if (kind === 'refused') outcome = { kind: 'failed' };
    else {
      const at = nextAttemptAt(policy, { queuedAt: delivery.queuedAt, attempts }, result, result.at, random);
      outcome = at === null ? { kind: 'failed' } : { kind: 'retry', nextAttemptAt: at };
    }
    const hours = Math.round(policy.giveUpAfterMs / 3_600_000);
    const reason = `every attempt failed for ${hours >= 1 ? `${hours} h` : `${Math.round(policy.giveUpAfterMs / 1000)} s`} (last: ${result.error ?? `HTTP ${result.statusCode}`})`;
    const { disabled } = await store.recordAttempt({
      deliveryId: delivery.id,
      webhookId: delivery.webhookId,
      attempt: { at: result.at, durationMs: result.durationMs, statusCode: result.statusCode || null, error: result.error, response: result.response },
      outcome,
      // Failing for the whole retry window disables the webhook; a delivery giving up has waited up to
      // one longest backoff after the window's start for its first attempt, so that much slack then.
      ...(kind === 'delivered'
        ? {}
        : { disableIfFailingSince: result.at - policy.giveUpAfterMs + (outcome.kind === 'failed' && kind === 'retryable' ? policy.maxDelayMs : 0), disabledReason: reason }),
    });
    const context = { webhookId: delivery.webhookId, deliveryId: delivery.id, taskId: delivery.taskId, event: delivery.event, attempts, status: result.statusCode, error: result.error };
    summary.attempted++;
    if (outcome.kind === 'delivered') summary.delivered++;
    else if (outcome.kind === 'retry') {
      summary.retrying++;
      log.debug({ ...context, nextAttemptAt: new Date(outcome.nextAttemptAt).toISOString() }, 'webhook delivery failed; will retry');
    } else {
      summary.failed++;
      log.warn(context, 'webhook delivery failed for good');
    }
    if (disabled) {
      summary.disabled++;
      log.warn({ webhookId: delivery.webhookId, url: delivery.url, reason }, 'webhook disabled');
      await deps.onDisabled?.({ id: delivery.webhookId, url: delivery.url }, reason).catch((err) => log.error({ err, webhookId: delivery.webhookId }, 'could not announce a disabled webhook'));
    }
    return kind;
  }

  /** Delivers what is due now: a few batches, `concurrency` requests at a time. */
  async function runOnce(signal: AbortSignal = new AbortController().signal): Promise<WebhookRunSummary> {
    const summary: WebhookRunSummary = { attempted: 0, delivered: 0, retrying: 0, failed: 0, disabled: 0 };
    enabledWebhooks = (await store.listWebhooks()).filter((w) => w.enabled).length;
    // Hourly at most; per process, which is safe: deleting what is already gone deletes nothing.
    if (deps.keepMs && now() - lastPurgeAt >= PURGE_EVERY_MS) {
      lastPurgeAt = now();
      const purged = await store.purgeDeliveries(now() - deps.keepMs);
      if (purged > 0) log.info({ purged }, 'old webhook deliveries deleted');
    }
    // A webhook whose receiver failed in this run is not tried again in it: a receiver that is down
    // costs one timeout per run, not one per delivery waiting for it.
    const failing = new Set<number>();
    for (let batch = 0; batch < MAX_BATCHES_PER_RUN && !signal.aborted; batch++) {
      const due = (await store.dueDeliveries(now(), batchSize)).filter((d) => !failing.has(d.webhookId));
      if (due.length === 0) break;
      let next = 0;
      const worker = async () => {
        while (next < due.length && !signal.aborted) {
          const delivery = due[next++]!;
          if (failing.has(delivery.webhookId)) continue;
          const kind = await deliver(delivery, signal, summary);
          if (kind !== 'delivered') failing.add(delivery.webhookId);
        }
      };
      await Promise.all(Array.from({ length: Math.min(deps.concurrency, due.length) }, worker));
    }
    lastRunAllFailed = summary.attempted > 0 && summary.delivered === 0;
    return summary;
  }

  return {
    runOnce,
    /** Whether an event should wake the loop: the last run found an enabled webhook and not only failing receivers. */
    worthWaking: () => enabledWebhooks > 0 && !lastRunAllFailed,
  };
}

export type WebhookDelivery = ReturnType<typeof createWebhookDelivery>;

async function readExcerpt(answer: Response): Promise<string | null> {
  if (!answer.body) return null;
  const reader = answer.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const text = Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
  return text.length > 0 ? text : null;
}

function describeError(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return (cause ? `${e.message ?? 'fetch failed'}: ${cause}` : e?.message ?? String(err)).slice(0, 500);
}

/** The loop: every `everyMs`, and at once when `wake()` is called (an event that may have queued deliveries). */
export function webhookDeliveryLoop(delivery: WebhookDelivery, options: { everyMs: number }): LoopSpec {
  return {
    name: 'webhooks',
    schedule: { kind: 'interval', everyMs: options.everyMs },
    firstRunInMs: 0,
    // Backoff after a failed run (the database, not a receiver: receivers' failures are per delivery).
    backoff: { baseMs: Math.max(options.everyMs, 1000), maxMs: 60_000 },
    async run({ signal, log }) {
      const summary = await delivery.runOnce(signal);
      if (summary.failed + summary.disabled > 0) log.info(summary, 'webhook deliveries');
      return summary;
    },
  };
}

/** Retries from about 10 s, doubling, at most an hour apart, for WEBHOOK_RETRY_HOURS. */
export function webhookRetryPolicy(config: { WEBHOOK_RETRY_HOURS: number }): RetryPolicy {
  const giveUpAfterMs = Math.round(config.WEBHOOK_RETRY_HOURS * 3_600_000);
  return { baseMs: Math.min(10_000, giveUpAfterMs), maxDelayMs: Math.min(3_600_000, giveUpAfterMs), giveUpAfterMs };
}
