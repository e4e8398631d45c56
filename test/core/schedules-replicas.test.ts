// Schedules on PostgreSQL shared by two replicas that both believe they lead: every run creates exactly one task, also when leadership changes mid-tick.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import type { Store } from '../../src/core/ports.js';
import { createQueue, type Queue } from '../../src/core/queue.js';
import type { Db } from '../../src/store/db.js';
import { openPostgres } from '../../src/store/open.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { scheduleGraceMs } from '../../src/jobs/schedules.js';
import { createTestSchema, defaultQueueConfig, testClock } from '../helpers/stores.js';

const grace = scheduleGraceMs(15_000);
const clock = testClock(Date.UTC(2026, 0, 1, 0, 0, 30));

/** A store whose recordScheduleRun waits for `hold` first: a replica that planned a run, then stalled before writing it. */
function stalling(store: Store, hold: () => Promise<void>): Store {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'recordScheduleRun') return async (spec: Parameters<Store['recordScheduleRun']>[0]) => (await hold(), target.recordScheduleRun(spec));
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('schedules across two replicas on postgres', () => {
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let dbs: Db[];
  let a: Queue;
  let b: Queue;
  const queueOn = (store: Store) => createQueue({ store, bus: createEventBus(), config: { ...defaultQueueConfig, timeZone: 'UTC' }, clock: clock.fn });

  beforeEach(async () => {
    clock.now = Date.UTC(2026, 0, 1, 0, 0, 30);
    schema = await createTestSchema();
    dbs = [];
    for (let i = 0; i < 2; i++) {
      const db = await openPostgres(schema.url, { poolSize: 4, startupRetryMs: 0 });
      await db.migrate();
      dbs.push(db);
    }
    a = queueOn(new SqlStore(dbs[0]!));
    b = queueOn(new SqlStore(dbs[1]!));
  });
  afterEach(async () => {
    for (const db of dbs) await db.close();
    await schema.drop();
  });

  const tasksOf = async (id: number) => (await a.list({ limit: 500 })).tasks.filter((t) => t.scheduleId === id);

  it('two leaders ticking at once every second for 5 minutes: exactly one task per minute', async () => {
    const schedules = await Promise.all([1, 2, 3].map((n) => a.addSchedule({ cron: '*/1 * * * *', template: { description: `every minute ${n}` }, overlap: true })));
    let created = 0;
    for (let second = 31; second <= 5 * 60 + 10; second += 1) {
      clock.now = Date.UTC(2026, 0, 1, 0, 0, second);
      const [x, y] = await Promise.all([a.tickSchedules(grace), b.tickSchedules(grace)]);
      expect(x.failed + y.failed).toBe(0);
      created += x.created + y.created;
    }
    expect(created).toBe(15);
    for (const s of schedules) {
      const tasks = await tasksOf(s.id);
      expect(tasks.map((t) => t.createdAt - (t.createdAt % 60_000)).sort()).toEqual([1, 2, 3, 4, 5].map((m) => Date.UTC(2026, 0, 1, 0, m)));
      expect((await a.scheduleRuns(s.id)).map((r) => r.outcome)).toEqual(['created', 'created', 'created', 'created', 'created']);
    }
  });

  it('the old leader planned a run and stalled; the new leader ran it; the old one wakes and writes nothing (also with missed = once)', async () => {
    for (const missed of ['skip', 'once'] as const) {
      let release!: () => void;
      let planned!: () => void;
      const plannedNow = new Promise<void>((resolve) => (planned = resolve));
      const stalled = queueOn(stalling(new SqlStore(dbs[0]!), () => (planned(), new Promise<void>((resolve) => (release = resolve)))));
      const s = await a.addSchedule({ cron: '*/1 * * * *', template: { description: `handover ${missed}` }, missed, overlap: true });
      clock.now = (s.nextRunAt ?? 0) + (missed === 'once' ? 3 * 60_000 : 2_000); // once: after downtime, so the old plan covers several runs
      const oldTick = stalled.tickSchedules(grace);
      await plannedNow;
      const fresh = await b.tickSchedules(grace);
      release();
      const old = await oldTick;
      expect(fresh.created).toBe(1);
      expect(old).toMatchObject({ created: 0, stale: 1 });
      expect(await tasksOf(s.id)).toHaveLength(1);
      await a.removeSchedule(s.id);
    }
  });
});
