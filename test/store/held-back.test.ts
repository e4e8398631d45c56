// Claims and the next in line under pauses and limits (store/sql-held-back.ts): what the controls hold
// back is left out of the walk (each other project's first tasks and those of none are read instead, or
// each label list holding no held-back label), so claims must take exactly what one walk of every
// pending task in claiming order would. Checked against a reference on both backends, for agents of
// every kind of scope, one claim at a time and several at once.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/core/events.js';
import { parseLimitScope, parsePauseScope } from '../../src/core/queue-controls.js';
import { createQueue } from '../../src/core/queue.js';
import type { LabelScope } from '../../src/core/ports.js';
import { PRIORITY_RANK, type Priority } from '../../src/core/types.js';
import type { Db } from '../../src/store/db.js';
import { MAX_LISTS } from '../../src/store/sql-conditions.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { backends, defaultQueueConfig } from '../helpers/stores.js';

type Seed = { project: string | null; labels: string[]; priority: Priority };
type Control = { kind: 'label' | 'project'; value: string };
type Limit = Control & { max: number };
type Agent = { labels: LabelScope; projects: string[] };
type Known = Seed & { id: number; held: boolean };

const PROJECTS = ['a', 'b', 'c'];
const LABELS = ['x', 'y'];
const scopeArb = fc.oneof(fc.constantFrom(...PROJECTS).map((value): Control => ({ kind: 'project', value })), fc.constantFrom(...LABELS).map((value): Control => ({ kind: 'label', value })));
const seedArb: fc.Arbitrary<Seed> = fc.record({
  project: fc.constantFrom(null, ...PROJECTS),
  labels: fc.subarray(LABELS),
  priority: fc.constantFrom<Priority>('high', 'medium', 'low'),
});
const agentArb: fc.Arbitrary<Agent> = fc.record({
  labels: fc.constantFrom<LabelScope>('*', [], ['x'], ['x', 'y']),
  projects: fc.constantFrom([], ['a'], ['a', 'b']),
});
const caseArb = fc.record({
  tasks: fc.array(seedArb, { minLength: 1, maxLength: 24 }),
  held: fc.nat({ max: 4 }),
  pauses: fc.uniqueArray(scopeArb, { maxLength: 3, selector: (c) => `${c.kind}:${c.value}` }),
  limits: fc.uniqueArray(fc.tuple(scopeArb, fc.nat({ max: 2 })).map(([c, max]): Limit => ({ ...c, max })), { maxLength: 2, selector: (l) => `${l.kind}:${l.value}` }),
  agent: agentArb,
  burst: fc.integer({ min: 1, max: 4 }),
});

const within = (l: Control, t: Seed): boolean => (l.kind === 'label' ? t.labels.includes(l.value) : t.project === l.value);
const inOrder = (a: Known, b: Known): number => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || a.id - b.id;

/** The task one walk of every pending task in claiming order gives `agent` now, under these controls (passing over `shown` ones). */
function reference(tasks: Known[], agent: Agent, pauses: Control[], limits: Limit[], shown: readonly number[] = []): Known | null {
  const heldIn = (l: Control): number => tasks.filter((t) => t.held && within(l, t)).length;
  return [...tasks].sort(inOrder).find((t) =>
    !t.held && !shown.includes(t.id)
    && (agent.labels === '*' || t.labels.every((l) => (agent.labels as string[]).includes(l)))
    && (agent.projects.length === 0 || (t.project !== null && agent.projects.includes(t.project)))
    && !pauses.some((p) => within(p, t))
    && limits.every((l) => !within(l, t) || heldIn(l) < l.max),
  ) ?? null;
}

async function empty(db: Db): Promise<void> {
  for (const table of ['task_logs', 'tasks', 'instances', 'queue_pauses', 'concurrency_limits']) await db.run(`DELETE FROM ${table}`);
}

describe.each(backends)('claims under pauses and limits ($name)', (backend) => {
  let opened: Awaited<ReturnType<typeof backend.open>>;
  beforeAll(async () => {
    opened = await backend.open();
  });
  afterAll(async () => opened?.cleanup());

  const queueOn = () => createQueue({ store: new SqlStore(opened.db), bus: createEventBus(), config: { ...defaultQueueConfig, wipLimit: 0 } });

  it('take, in claiming order, exactly the tasks one walk of every pending task would; the next in line is what a claim would take', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        await empty(opened.db);
        // A store of its own each case: what a process read of the controls is not carried over.
        const queue = queueOn();
        const tasks: Known[] = [];
        for (const seed of c.tasks) {
          const { task } = await queue.create({ description: 'task', project: seed.project ?? undefined, labels: seed.labels, priority: seed.priority });
          tasks.push({ ...seed, id: task.id, held: false });
        }
        // Some held before the controls are set, so limits have something to count.
        for (let i = 0; i < c.held; i++) {
          const task = await queue.claimNext({ instanceId: `held-${i}`, labels: '*' });
          if (!task) break;
          tasks.find((t) => t.id === task.id)!.held = true;
        }
        for (const p of c.pauses) await queue.pause(parsePauseScope(`${p.kind}:${p.value}`), 'test', null);
        for (const l of c.limits) await queue.setLimit(parseLimitScope(`${l.kind}:${l.value}`), l.max, 'test');

        // What the original protocol's peeks show: the next in line, then (each peek holding its task
        // for a moment) the ones after it; when every one is shown, the first again.
        const anyAgent: Agent = { labels: '*', projects: [] };
        const shown: number[] = [];
        for (let next = reference(tasks, anyAgent, c.pauses, c.limits); next && shown.length < 3; next = reference(tasks, anyAgent, c.pauses, c.limits, shown)) shown.push(next.id);
        expect(await queue.nextReadyId()).toBe(shown[0] ?? null);
        for (let i = 0; i < 3; i++) expect((await queue.offerNext(`peek-${i}`))?.id ?? null).toBe(shown[i] ?? shown[0] ?? null);

        // Several at once (served together where no limit is in force): the same tasks as in sequence.
        const expected: number[] = [];
        const model = tasks.map((t) => ({ ...t }));
        for (let i = 0; i < c.burst; i++) {
          const next = reference(model, c.agent, c.pauses, c.limits);
          if (!next) break;
          next.held = true;
          expected.push(next.id);
        }
        const burst = await Promise.all(Array.from({ length: c.burst }, (_, i) => queue.claimNext({ instanceId: `burst-${i}`, labels: c.agent.labels, projects: c.agent.projects })));
        const got = burst.flatMap((t) => (t ? [t.id] : []));
        expect([...got].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
        for (const id of got) tasks.find((t) => t.id === id)!.held = true;

        // Then one at a time, in claiming order, until none is left for the agent.
        for (let i = 0; ; i++) {
          const want = reference(tasks, c.agent, c.pauses, c.limits);
          const task = await queue.claimNext({ instanceId: `agent-${i}`, labels: c.agent.labels, projects: c.agent.projects });
          expect(task?.id ?? null).toBe(want?.id ?? null);
          if (!task) break;
          tasks.find((t) => t.id === task.id)!.held = true;
        }
      }),
      { numRuns: backend.name === 'sqlite' ? 150 : 60 },
    );
  }, 120_000);

  it('with more projects or label lists pending than a claim reads one by one, claims still pass over held-back tasks in order', async () => {
    await empty(opened.db);
    const queue = queueOn();
    const count = MAX_LISTS + 6;
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      await queue.create({ description: 'paused', project: 'held', labels: ['z'], priority: 'high' });
      ids.push((await queue.create({ description: `p${i}`, project: `p${String(i).padStart(3, '0')}`, labels: [`l${i}`], priority: 'medium' })).task.id);
    }
    await queue.pause(parsePauseScope('project:held'), 'test', null);
    await queue.pause(parsePauseScope('label:z'), 'test', null);
    const claimed: number[] = [];
    for (let i = 0; ; i++) {
      const task = await queue.claimNext({ instanceId: `agent-${i}`, labels: '*' });
      if (!task) break;
      claimed.push(task.id);
    }
    expect(claimed).toEqual(ids);
  }, 60_000);
});
