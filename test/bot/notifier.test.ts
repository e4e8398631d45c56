// The notifier on its own, over a real store (SQLite and PostgreSQL), with a recording stand-in for Discord: the
// cursor rules (first start, resume, resend with the same nonce), gaps in the feed, and the plan.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNotifier, NOTIFIER_CURSOR, type Delivery } from '../../src/bot/notifier.js';
import { planNotifications } from '../../src/bot/notification-plan.js';
import { silentLogger } from '../../src/logger.js';
import type { TaskEvent, Task } from '../../src/core/types.js';
import type { EventLogPort } from '../../src/core/ports.js';
import type { BotMessage } from '../../src/bot/messages.js';
import { createEventBus } from '../../src/core/events.js';
import { backends, openTestQueue, type TestBackend, type TestClock, type TestQueue } from '../helpers/stores.js';
import { eventually } from './harness.js';

type Sent = { nonce: string; title: string | undefined; eventIds: number[] };

let opened: TestQueue | null = null;
const stops: AbortController[] = [];

afterEach(async () => {
  for (const s of stops.splice(0)) s.abort();
  await opened?.cleanup();
  opened = null;
});

let backend: TestBackend;

async function queue(): Promise<TestQueue> {
  // The notifier compares event times with the wall clock (coalescing, gaps): use real time.
  const wallClock: TestClock = { now: 0, advance() {}, fn: Date.now };
  opened = await openTestQueue(backend, {}, { clock: wallClock });
  return opened;
}

function run(t: TestQueue, deliver: Delivery, eventLog: EventLogPort = t.queue) {
  const notifier = createNotifier({
    eventLog,
    bus: t.bus,
    nextInLine: () => t.queue.peekNext(),
    deliver,
    log: silentLogger,
    options: { coalesceMs: 20, burst: 5, threads: false, retryBaseMs: 20, retryMaxMs: 100, idleCheckMs: 200 },
  });
  const stop = new AbortController();
  stops.push(stop);
  const done = notifier.run(stop.signal);
  return { notifier, stop: async () => (stop.abort(), done) };
}

function recorder(sent: Sent[], fail?: (sent: Sent) => boolean): Delivery {
  return async (message, rendered: BotMessage) => {
    const entry = { nonce: message.nonce, title: rendered.embeds[0]?.title, eventIds: message.eventIds };
    if (fail?.(entry)) throw new Error('Discord is down');
    sent.push(entry);
  };
}

describe.each(backends)('cursor ($name)', (b) => {
  beforeEach(() => {
    backend = b;
  });

  it('starts at the newest event on first start and persists its position', async () => {
    const t = await queue();
    await t.queue.create({ description: 'history' });
    const sent: Sent[] = [];
    const n = run(t, recorder(sent));
    await eventually(async () => (await t.store.getCursor(NOTIFIER_CURSOR)) !== null, 2000, 'the cursor');
    expect(await t.store.getCursor(NOTIFIER_CURSOR)).toBe(await t.store.lastEventId());
    const { task } = await t.queue.create({ description: 'new' });
    await eventually(() => sent.length === 1, 2000, 'one message');
    expect(sent[0]!.title).toBe('📋 Task Queued');
    expect(sent[0]!.eventIds).toEqual([(await t.store.lastEventId())]);
    await eventually(async () => (await t.store.getCursor(NOTIFIER_CURSOR)) === (await t.store.lastEventId()), 2000, 'the cursor to advance');
    expect(task.id).toBe(2);
    await n.stop();
  });

  it('sends a message again with the same nonce when its success could not be recorded', async () => {
    const t = await queue();
    let failRecording = true;
    const store = new Proxy(t.store, {
      get(target, key) {
        if (key === 'setCursor') {
          return async (name: string, position: number, now: number) => {
            if (name.endsWith(':batch-sent') && position > 0 && failRecording) {
              failRecording = false;
              throw new Error('database is locked');
            }
            return target.setCursor(name, position, now);
          };
        }
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const sent: Sent[] = [];
    const n = run(t, recorder(sent), store);
    await eventually(async () => (await t.store.getCursor(NOTIFIER_CURSOR)) !== null, 2000, 'the cursor');
    await t.queue.create({ description: 'exactly once, thanks to the nonce' });
    await eventually(() => sent.length === 2, 3000, 'the resend');
    // Discord drops the second send (same nonce, enforce_nonce): the user sees one message.
    expect(sent[0]!.nonce).toBe(sent[1]!.nonce);
    // A fixed wait on purpose: it checks that no third send follows.
    await new Promise((r) => setTimeout(r, 200));
    expect(sent).toHaveLength(2);
    await n.stop();
  });

  it('keeps retrying while Discord fails and then delivers in event order', async () => {
    const t = await queue();
    let down = true;
    const sent: Sent[] = [];
    const n = run(t, recorder(sent, () => down));
    await eventually(async () => (await t.store.getCursor(NOTIFIER_CURSOR)) !== null, 2000, 'the cursor');
    const a = await t.queue.create({ description: 'a' });
    await eventually(() => !n.notifier.status().ok, 3000, 'the first delivery to fail');
    const b = await t.queue.create({ description: 'b' });
    expect(sent).toHaveLength(0);
    down = false;
    n.notifier.nudge();
    await eventually(() => sent.length === 2, 3000, 'both');
    expect(sent.map((s) => s.nonce)).toEqual([`athena:${(await t.store.logsFor(a.task.id))[0]!.id}`, `athena:${(await t.store.logsFor(b.task.id))[0]!.id}`]);
    expect(n.notifier.status().ok).toBe(true);
    await n.stop();
  });
});

describe('gaps in the feed', () => {
  function event(id: number, at: number, task: Partial<Task> = {}): TaskEvent {
    return { id, type: 'created', taskId: id, task: { id, description: `task ${id}`, status: 'pending', priority: 'medium', submittedBy: 'api', dependsOn: [], labels: [], project: null, ...task } as Task, instanceId: null, details: null, at };
  }

  it('waits for a young missing id (a transaction still committing) and skips an old one', async () => {
    const now = Date.now();
    let rows: TaskEvent[] = [event(1, now - 10_000), event(3, now)];
    let cursor: number | null = 0;
    const store = {
      eventsSince: async (after: number, limit: number) => rows.filter((e) => e.id > after).slice(0, limit),
      lastEventId: async () => Math.max(0, ...rows.map((e) => e.id)),
      getCursor: async (name: string) => (name === NOTIFIER_CURSOR ? cursor : null),
      setCursor: async (name: string, position: number) => {
        if (name === NOTIFIER_CURSOR) cursor = position;
      },
    };
    const sent: number[][] = [];
    const bus = createEventBus();
    const notifier = createNotifier({
      eventLog: store,
      bus,
      nextInLine: async () => null,
      deliver: async (m) => void sent.push(m.eventIds),
      log: silentLogger,
      options: { coalesceMs: 0, burst: 5, threads: false, gapGraceMs: 400, idleCheckMs: 50 },
    });
    const stop = new AbortController();
    stops.push(stop);
    const done = notifier.run(stop.signal);
    await eventually(() => sent.length === 1, 2000, 'the first event');
    expect(sent).toEqual([[1]]);
    // #2 is missing and #3 is young: #2 may still commit, so nothing passes #1 yet (a fixed wait on
    // purpose: it checks that nothing is sent).
    await new Promise((r) => setTimeout(r, 150));
    expect(sent).toEqual([[1]]);
    rows = [event(1, now - 10_000), event(2, now), event(3, now)];
    await eventually(() => sent.length === 3, 2000, 'the late commit and the one after it');
    expect(sent).toEqual([[1], [2], [3]]);
    // A gap that stays (a rolled-back id) is passed once it is older than the grace period.
    rows.push(event(5, Date.now()));
    await eventually(() => sent.length === 4, 2000, 'the event after a permanent gap');
    expect(sent.at(-1)).toEqual([5]);
    expect(cursor).toBe(5);
    stop.abort();
    await done;
  });
});

describe('plan', () => {
  const task = (id: number, extra: Partial<Task> = {}) =>
    ({ id, description: `task ${id}`, status: 'pending', priority: 'low', submittedBy: 'api', instanceId: 'a1', instanceName: 'agent-1', dependsOn: [], labels: [], project: null, notes: null, error: null, question: null, ...extra }) as Task;
  const ev = (id: number, type: string, t: Task, details: string | null = null): TaskEvent => ({ id, type, taskId: t.id, task: t, instanceId: null, details, at: 0 });

  it('summarises a kind only past the burst size, keeps event order, and is deterministic', () => {
    const events: TaskEvent[] = [];
    for (let i = 1; i <= 7; i++) events.push(ev(i, 'created', task(i)));
    events.push(ev(8, 'claimed', task(1, { status: 'in_progress' })));
    events.push(ev(9, 'heartbeat', task(1, { status: 'in_progress' }), 'step 1'));
    events.push(ev(10, 'completed', task(1, { status: 'completed', notes: 'ok' })));
    const plan = planNotifications(events, { burst: 5, threads: false });
    expect(plan.map((m) => [m.nonce, m.render(null).embeds[0]!.title])).toEqual([
      ['athena:1', '📋 7 tasks queued'],
      ['athena:8', '🔨 Task #1 claimed by agent-1'],
      ['athena:10', '✅ Task #1 completed by agent-1'],
    ]);
    expect(plan[0]!.eventIds).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(planNotifications(events, { burst: 5, threads: false }).map((m) => m.nonce)).toEqual(plan.map((m) => m.nonce));
    // With threads, progress lines are posted (the latest per task) and the claim starts a thread.
    const threaded = planNotifications([...events, ev(11, 'heartbeat', task(1), 'step 2')], { burst: 5, threads: true });
    expect(threaded.filter((m) => m.render(null).embeds[0]!.description?.startsWith('📝')).map((m) => m.eventIds)).toEqual([[11]]);
    expect(threaded.find((m) => m.nonce === 'athena:8')!.startsThread).toBe(true);
  });

  it('leaves tasks submitted with /task to the command reply, and ignores events without a message', () => {
    const plan = planNotifications(
      [ev(1, 'created', task(1, { submittedBy: 'discord:alice' })), ev(2, 'priority', task(2)), ev(3, 'heartbeat', task(3), 'x'), ev(4, 'dependencies', task(4))],
      { burst: 5, threads: false },
    );
    expect(plan).toEqual([]);
  });
});
