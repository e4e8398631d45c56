// A transition's log rows leave without waiting (sendTaskLogs, store/sql-task-writes.ts) only while
// the store knows the webhooks and none wants the events; the statement carries the webhooks' stamp,
// and on PostgreSQL one that finds it changed fails its transaction, which runs again.
import { afterEach, describe, expect, it } from 'vitest';
import type { Task } from '../../src/core/types.js';
import type { Dialect, Queryable } from '../../src/store/db.js';
import { postgresDialect } from '../../src/store/postgres/dialect.js';
import { sqliteDialect } from '../../src/store/sqlite/dialect.js';
import { sendTaskLogs } from '../../src/store/sql-task-writes.js';
import { WebhooksInForce } from '../../src/store/sql-webhooks.js';
import { postgresBackend } from '../helpers/stores.js';
import type { Db } from '../../src/store/db.js';

/** A Queryable that records what was sent and answers when the test says. */
function heldQueryable() {
  const sent: Array<{ sql: string; params: readonly unknown[] }> = [];
  const answers: Array<{ resolve(v: unknown): void; reject(e: unknown): void }> = [];
  const send = (sql: string, params: readonly unknown[] = []) =>
    new Promise<never>((resolve, reject) => {
      sent.push({ sql, params });
      answers.push({ resolve: resolve as (v: unknown) => void, reject });
    });
  return { q: { all: send, get: send, run: send, insert: send } as unknown as Queryable, sent, answers };
}

const task = (id: number, labels: string[] = []): Task => ({ id, labels, project: null }) as unknown as Task;
const claimed = (id: number, labels: string[] = []) => ({ task: task(id, labels), now: 5, entry: { action: 'claimed' as const, details: 'attempt 1 of 3 by a', instanceId: 'a' } });
const hook = (events: string[], label: string | null = null) => ({ events, label, project: null });

describe('sendTaskLogs', () => {
  it('sends the rows at once, guarded by the stamp known, and answers with the events once the ids are in', async () => {
    const inForce = new WebhooksInForce();
    inForce.learn(42, [hook(['task.completed'])]);
    const { q, sent, answers } = heldQueryable();
    const events = sendTaskLogs(q, postgresDialect, inForce, [claimed(7), claimed(8)]);
    expect(events).not.toBeNull();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.sql).toMatch(/^INSERT INTO task_logs .* RETURNING id, task_id, CASE WHEN .* = \? THEN 1 ELSE athena_stamp_changed\('webhooks'\) END/s);
    expect(sent[0]!.params.at(-1)).toBe(42);
    answers[0]!.resolve([{ id: 101, task_id: 8 }, { id: 100, task_id: 7 }]);
    expect((await events!).map((e) => [e.id, e.taskId, e.type])).toEqual([[100, 7, 'claimed'], [101, 8, 'claimed']]);
  });

  it('waits instead (null) when nothing is known, when a webhook may want an event, or where statements are no round trips', () => {
    const { q, sent } = heldQueryable();
    const inForce = new WebhooksInForce();
    expect(sendTaskLogs(q, postgresDialect, inForce, [claimed(7)])).toBeNull();
    inForce.learn(1, [hook(['task.claimed'], 'db')]);
    expect(sendTaskLogs(q, postgresDialect, inForce, [claimed(7), claimed(8, ['db'])])).toBeNull();
    expect(sendTaskLogs(q, sqliteDialect, inForce, [claimed(7)])).toBeNull();
    expect(sent).toEqual([]);
    expect(sendTaskLogs(q, postgresDialect, inForce, [claimed(7, ['web'])])).not.toBeNull();
  });

  it('forgets what it knew when the statement fails, so the transaction run again reads first', async () => {
    const inForce = new WebhooksInForce();
    inForce.learn(1, []);
    const { q, answers } = heldQueryable();
    const events = sendTaskLogs(q, postgresDialect, inForce, [claimed(7)])!;
    const changed = Object.assign(new Error('the webhooks changed since this process read them'), { code: 'AT001' });
    answers[0]!.reject(changed);
    await expect(events).rejects.toBe(changed);
    expect(sendTaskLogs(q, postgresDialect, inForce, [claimed(7)])).toBeNull();
  });
});

describe('the stamp guard on PostgreSQL', () => {
  let db: Db;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  it('a statement whose stamp changed fails its transaction with AT001, and tx runs the transaction again', async () => {
    ({ db, cleanup } = await postgresBackend.open());
    const dialect: Dialect = db.dialect;
    const { stamp } = (await db.get<{ stamp: number }>(`SELECT stamp FROM change_stamps WHERE name = 'webhooks'`))!;
    const codes: unknown[] = [];
    let attempts = 0;
    const result = await db.tx(async (q) => {
      attempts++;
      // The first attempt holds a stamp the table no longer has.
      const held = attempts === 1 ? Number(stamp) + 1 : Number(stamp);
      return q.get<{ ok: number }>(`SELECT ${dialect.stampGuard!('webhooks')} AS ok`, [held]).catch((err: { code?: string }) => {
        codes.push(err.code);
        throw err;
      });
    });
    expect(result).toEqual({ ok: 1 });
    expect(attempts).toBe(2);
    expect(codes).toEqual(['AT001']);
  });
});
