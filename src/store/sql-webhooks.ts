// Webhooks and their delivery outbox over the shared SQL (both backends); deliveries are queued by
// appendLog in the transaction that records the event, so an event and its deliveries commit together.
import { taskJson } from '../core/task-json.js';
import type { Task } from '../core/types.js';
import type {
  AttemptRecord,
  DeliveryAttempt,
  DeliveryStatus,
  DueDelivery,
  NewWebhook,
  Webhook,
  WebhookDelivery,
  WebhookEvent,
  WebhookStore,
  WebhookSubscription,
} from '../core/webhooks.js';
import { StampedCache } from './change-stamps.js';
import { placeholders, type Db, type Queryable, type Row } from './db.js';

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function rowToWebhook(row: Row): Webhook {
  return {
    id: Number(row.id),
    url: String(row.url),
    events: String(row.events).split(',') as WebhookSubscription[],
    label: str(row.label),
    project: str(row.project),
    enabled: Number(row.enabled) === 1,
    disabledReason: str(row.disabled_reason),
    failingSince: num(row.failing_since),
    createdBy: str(row.created_by),
    createdAt: Number(row.created_at),
  };
}

function rowToDelivery(row: Row): WebhookDelivery {
  return {
    id: Number(row.id),
    webhookId: Number(row.webhook_id),
    event: String(row.event) as WebhookEvent,
    taskId: Number(row.task_id),
    status: String(row.status) as DeliveryStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    lastStatus: num(row.last_status),
    lastError: str(row.last_error),
    lastResponse: str(row.last_response),
    createdAt: Number(row.created_at),
    queuedAt: Number(row.queued_at),
    deliveredAt: num(row.delivered_at),
  };
}

function rowToAttempt(row: Row): DeliveryAttempt {
  return {
    at: Number(row.attempted_at),
    durationMs: Number(row.duration_ms),
    statusCode: num(row.status_code),
    error: str(row.error),
    response: str(row.response_excerpt),
  };
}

const WEBHOOK_COLUMNS = 'id, url, events, label, project, enabled, disabled_reason, failing_since, created_by, created_at';
const DELIVERY_COLUMNS =
  'd.id, d.webhook_id, d.event, d.task_id, d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.last_response, d.created_at, d.queued_at, d.delivered_at';

/**
 * Queues one delivery of `event` about `task` for every enabled webhook that wants it (its events and
 * its label or project filter); one statement, which inserts nothing when no webhook is set up.
 */
async function queueDeliveries(q: Queryable, event: WebhookEvent, task: Task, now: number): Promise<void> {
  await q.run(
    `INSERT INTO webhook_deliveries (webhook_id, event, task_id, payload, status, attempts, next_attempt_at, created_at, queued_at)
     SELECT w.id, CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), 'pending', 0, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT)
     FROM webhooks w
     WHERE w.enabled = 1
       AND (w.events = '*' OR (',' || w.events || ',') LIKE ?)
       AND (w.project IS NULL OR w.project = ?)
       AND (w.label IS NULL${task.labels.length > 0 ? ` OR w.label IN (${placeholders(task.labels.length)})` : ''})
     ORDER BY w.id`,
    [event, task.id, JSON.stringify(taskJson(task)), now, now, now, `%,${event},%`, task.project, ...task.labels],
  );
}

/** What an enabled webhook chooses its events by. */
type WebhookFilter = { events: string[]; label: string | null; project: string | null };

/**
 * Enabled webhooks' filters by the webhooks' stamp. Shared by every store of the process, and safe
 * so: a stamp names one content of the table (change-stamps.ts), read by the event's own statement.
 */
const filtersByStamp = new StampedCache<WebhookFilter[]>();

/** The enabled webhooks' filters as of `stamp`, or as of a later stamp (returned) when they are read now. */
async function enabledFilters(q: Queryable, stamp: number): Promise<{ stamp: number; filters: WebhookFilter[] }> {
  const cached = filtersByStamp.get(stamp);
  if (cached) return { stamp, filters: cached };
  const rows = await q.all<{ stamp: number; events: string | null; label: string | null; project: string | null }>(
    `SELECT s.stamp, w.events, w.label, w.project FROM change_stamps s LEFT JOIN webhooks w ON w.enabled = 1 WHERE s.name = 'webhooks'`,
  );
  const filters = rows.flatMap((row) =>
    row.events === null ? [] : [{ events: String(row.events).split(','), label: str(row.label), project: str(row.project) }],
  );
  const read = Number(rows[0]!.stamp);
  filtersByStamp.set(read, filters);
  return { stamp: read, filters };
}

/** Whether some webhook's filter lets this event through; the outbox statement then decides exactly. */
function mayWant(filters: WebhookFilter[], event: WebhookEvent, task: Task): boolean {
  return filters.some(
    (f) =>
      (f.events.includes('*') || f.events.includes(event)) &&
      (f.project === null || f.project === task.project) &&
      (f.label === null || task.labels.includes(f.label)),
  );
}

/**
 * queueDeliveries, skipped (its statement and the payload's JSON) when no enabled webhook could
 * want the event. `webhooksStamp` is the webhooks' stamp as a statement of the event's transaction
 * saw it (appendLog reads it with the log row), so a webhook added on any replica before that
 * statement began gets the delivery, as if the outbox statement had run. `inForce`, when given,
 * learns the filters under that stamp.
 */
export async function queueWantedDeliveries(
  q: Queryable, webhooksStamp: number, event: WebhookEvent, task: Task, now: number, inForce?: WebhooksInForce,
): Promise<void> {
  const { stamp, filters } = await enabledFilters(q, webhooksStamp);
  inForce?.learn(stamp, filters);
  if (mayWant(filters, event, task)) await queueDeliveries(q, event, task, now);
}

/**
 * The webhooks' stamp one store last saw and the enabled webhooks' filters under it, so an event's
 * log row may leave without waiting to learn whether a delivery is due (sendTaskLogs). Per store,
 * as a stamp is read from one database, and safe so: the statement that relies on it checks the
 * stamp (Dialect.stampGuard), and one that finds it changed fails, is forgotten here, and its
 * transaction runs again, reading first.
 */
export class WebhooksInForce {
  private known: { stamp: number; filters: WebhookFilter[] } | null = null;

  learn(stamp: number, filters: WebhookFilter[]): void {
    this.known = { stamp, filters };
  }

  forget(): void {
    this.known = null;
  }

  /** The stamp under which no enabled webhook wants any of these events, or null: unknown, or one may. */
  quietFor(events: ReadonlyArray<{ event: WebhookEvent | null; task: Task }>): number | null {
    const known = this.known;
    if (!known) return null;
    return events.some(({ event, task }) => event !== null && mayWant(known.filters, event, task)) ? null : known.stamp;
  }
}

export class SqlWebhookStore implements WebhookStore {
  constructor(private readonly db: Db) {}

  async createWebhook(webhook: NewWebhook, now: number): Promise<Webhook> {
    const row = await this.db.get<Row>(
      `INSERT INTO webhooks (url, events, label, project, secret, enabled, created_by, created_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?) RETURNING ${WEBHOOK_COLUMNS}`,
      [webhook.url, webhook.events.join(','), webhook.label, webhook.project, webhook.secret, webhook.createdBy, now],
    );
    return rowToWebhook(row!);
  }

  async listWebhooks(): Promise<Webhook[]> {
    return (await this.db.all<Row>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks ORDER BY id`)).map(rowToWebhook);
  }

  async getWebhook(id: number): Promise<Webhook | null> {
    const row = await this.db.get<Row>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?`, [id]);
    return row ? rowToWebhook(row) : null;
  }

  deleteWebhook(id: number): Promise<Webhook | null> {
    return this.db.tx(async (q) => {
      const row = await q.get<Row>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?`, [id]);
      if (!row) return null;
      await q.run('DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = ?)', [id]);
      await q.run('DELETE FROM webhook_deliveries WHERE webhook_id = ?', [id]);
      await q.run('DELETE FROM webhooks WHERE id = ?', [id]);
      return rowToWebhook(row);
    });
  }

  async enableWebhook(id: number): Promise<Webhook | null> {
    const row = await this.db.get<Row>(
      `UPDATE webhooks SET enabled = 1, disabled_reason = NULL, failing_since = NULL WHERE id = ? RETURNING ${WEBHOOK_COLUMNS}`,
      [id],
    );
    return row ? rowToWebhook(row) : null;
  }

  async listDeliveries(webhookId: number, limit: number, status?: DeliveryStatus) {
    const rows = await this.db.all<Row>(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.webhook_id = ?${status ? ' AND d.status = ?' : ''} ORDER BY d.id DESC LIMIT ?`,
      status ? [webhookId, status, limit] : [webhookId, limit],
    );
    const deliveries = rows.map((row) => ({ ...rowToDelivery(row), history: [] as DeliveryAttempt[] }));
    if (deliveries.length === 0) return deliveries;
    const byId = new Map(deliveries.map((d) => [d.id, d]));
    const attempts = await this.db.all<Row>(
      `SELECT delivery_id, attempted_at, duration_ms, status_code, error, response_excerpt FROM webhook_attempts WHERE delivery_id IN (${placeholders(deliveries.length)}) ORDER BY id`,
      deliveries.map((d) => d.id),
    );
    for (const row of attempts) byId.get(Number(row.delivery_id))?.history.push(rowToAttempt(row));
    return deliveries;
  }

  async redeliver(webhookId: number, deliveryId: number, now: number): Promise<WebhookDelivery | null> {
    // A new retry window and backoff from the start; the attempts so far stay in webhook_attempts.
    const row = await this.db.get<Row>(
      `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, queued_at = ?, delivered_at = NULL
       WHERE id = ? AND webhook_id = ?
       RETURNING id, webhook_id, event, task_id, status, attempts, next_attempt_at, last_status, last_error, last_response, created_at, queued_at, delivered_at`,
      [now, now, deliveryId, webhookId],
    );
    return row ? rowToDelivery(row) : null;
  }

  async dueDeliveries(now: number, limit: number): Promise<DueDelivery[]> {
    const rows = await this.db.all<Row>(
      `SELECT ${DELIVERY_COLUMNS}, d.payload, w.url, w.secret
       FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
       WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.enabled = 1
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                         WHERE e.webhook_id = d.webhook_id AND e.task_id = d.task_id AND e.status = 'pending' AND e.id < d.id)
       ORDER BY d.id LIMIT ?`,
      [now, limit],
    );
    return rows.map((row) => ({ ...rowToDelivery(row), url: String(row.url), secret: String(row.secret), payload: String(row.payload) }));
  }

  recordAttempt(record: AttemptRecord): Promise<{ disabled: boolean }> {
    return this.db.tx(async (q) => {
      const { attempt, outcome } = record;
      await q.run(
        'INSERT INTO webhook_attempts (delivery_id, attempted_at, duration_ms, status_code, error, response_excerpt) VALUES (?, ?, ?, ?, ?, ?)',
        [record.deliveryId, attempt.at, attempt.durationMs, attempt.statusCode, attempt.error, attempt.response],
      );
      const status: DeliveryStatus = outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'retry' ? 'pending' : 'failed';
      await q.run(
        `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_status = ?, last_error = ?, last_response = ?, delivered_at = ?
         WHERE id = ? AND status = 'pending'`,
        [
          status,
          outcome.kind === 'retry' ? outcome.nextAttemptAt : attempt.at,
          attempt.statusCode,
          attempt.error,
          attempt.response,
          outcome.kind === 'delivered' ? attempt.at : null,
          record.deliveryId,
        ],
      );
      if (outcome.kind === 'delivered') {
        await q.run('UPDATE webhooks SET failing_since = NULL WHERE id = ?', [record.webhookId]);
        return { disabled: false };
      }
      await q.run('UPDATE webhooks SET failing_since = COALESCE(failing_since, ?) WHERE id = ?', [attempt.at, record.webhookId]);
      if (record.disableIfFailingSince === undefined) return { disabled: false };
      const changed = await q.run(
        'UPDATE webhooks SET enabled = 0, disabled_reason = ? WHERE id = ? AND enabled = 1 AND failing_since <= ?',
        [record.disabledReason ?? 'failing', record.webhookId, record.disableIfFailingSince],
      );
      return { disabled: changed > 0 };
    });
  }

  purgeDeliveries(before: number): Promise<number> {
    return this.db.tx(async (q) => {
      const ended = "status IN ('delivered', 'failed') AND queued_at < ?";
      await q.run(`DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE ${ended})`, [before]);
      return q.run(`DELETE FROM webhook_deliveries WHERE ${ended}`, [before]);
    });
  }

  async pendingDeliveries(): Promise<number> {
    const row = await this.db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending'");
    return Number(row?.n ?? 0);
  }
}
