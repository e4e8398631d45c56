// Why a task waits (src/web/public/waiting.js): each reason the claim's SQL applies, checked against a real claim.
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../helpers/stores.js';
import { openTestApp, type TestApp } from '../helpers/app.js';

type Reason = { kind: string; text: string };
type Task = Record<string, any>;
type Ctx = { pauses: any[]; limits: any[]; statusOf: (id: number) => string | null | undefined; now: number; formatTime?: (iso: string) => string };
// Plain browser JavaScript without type declarations: loaded by a path the type checker does not follow.
const WAITING = '../../src/web/public/waiting.js';
const { waitingReasons, unknownDependencies, scopeCovers } = (await import(WAITING)) as {
  waitingReasons: (task: Task, ctx: Ctx) => Reason[];
  unknownDependencies: (tasks: Task[], statusOf: Ctx['statusOf']) => number[];
  scopeCovers: (scope: string, task: Task) => boolean;
};

const NOW = Date.parse('2026-12-02T10:00:00Z');
const pending = (extra: Task = {}): Task => ({
  id: 9, status: 'pending', labels: [], project: null, depends_on: [], run_after: null, assignee: null,
  preferred_instance_id: null, preferred_until: null, attempts: 0, max_attempts: 3, blocked_reason: null, ...extra,
});
const ctx = (extra: Partial<Ctx> = {}): Ctx => ({ pauses: [], limits: [], statusOf: () => undefined, now: NOW, ...extra });
const kinds = (reasons: Reason[]) => reasons.map((r) => r.kind);

describe('waitingReasons', () => {
  it('a ready task waits for nothing; a task not pending says nothing, except a blocked one', () => {
    expect(waitingReasons(pending(), ctx())).toEqual([]);
    expect(waitingReasons(pending({ status: 'in_progress', assignee: 'x' }), ctx())).toEqual([]);
    expect(waitingReasons(pending({ status: 'blocked', blocked_reason: 'dependency #3 failed' }), ctx())).toEqual([{ kind: 'blocked', text: 'blocked: dependency #3 failed' }]);
  });

  it('pauses cover the whole queue, a label or a project, naming who paused', () => {
    const task = pending({ labels: ['db'], project: 'web' });
    const pauses = [
      { scope: 'queue', paused_by: 'ops', reason: 'deploy' },
      { scope: 'label:db', paused_by: null, reason: null },
      { scope: 'label:dbx', paused_by: null, reason: null },
      { scope: 'project:web', paused_by: 'ann', reason: null },
      { scope: 'project:we', paused_by: null, reason: null },
    ];
    expect(waitingReasons(task, ctx({ pauses })).map((r) => r.text)).toEqual(['queue paused by ops', 'paused: label:db', 'paused: project:web by ann']);
    expect(scopeCovers('project:a:b', pending({ project: 'a:b' }))).toBe(true);
    expect(scopeCovers('label:db', pending({ project: 'db' }))).toBe(false);
  });

  it('a limit holds back only when reached, and only the tasks of its scope', () => {
    const limits = [
      { scope: 'label:db', max: 2, held: 2 },
      { scope: 'project:web', max: 2, held: 1 },
      { scope: 'label:gpu', max: 0, held: 0 },
    ];
    expect(waitingReasons(pending({ labels: ['db'], project: 'web' }), ctx({ limits })).map((r) => r.text)).toEqual(['concurrency limit reached: label:db 2/2']);
    expect(kinds(waitingReasons(pending({ labels: ['gpu'] }), ctx({ limits })))).toEqual(['limit']);
    expect(waitingReasons(pending({ labels: ['other'] }), ctx({ limits }))).toEqual([]);
  });

  it('dependencies not completed, with their status; unknown ones are asked for, gone ones hold nothing', () => {
    const statuses: Record<number, string | null> = { 1: 'completed', 2: 'in_progress', 3: null };
    const statusOf = (id: number) => statuses[id];
    const task = pending({ depends_on: [1, 2, 3, 4] });
    expect(waitingReasons(task, ctx({ statusOf }))).toEqual([{ kind: 'dependencies', text: 'waiting on #2 (in progress)' }]);
    expect(unknownDependencies([task, pending({ id: 10, status: 'completed', depends_on: [5] })], statusOf)).toEqual([4]);
  });

  it('a start time, an assignee, a review hold and a spent attempt budget', () => {
    const later = new Date(NOW + 3_600_000).toISOString();
    const earlier = new Date(NOW - 1000).toISOString();
    const fmt = (iso: string) => `<${iso}>`;
    const task = pending({ run_after: later, assignee: 'agent-7', preferred_instance_id: 'agent-2', preferred_until: later, attempts: 3 });
    expect(waitingReasons(task, ctx({ formatTime: fmt })).map((r) => r.text)).toEqual([
      `scheduled: not before <${later}>`,
      'assigned: only agent-7 may take it',
      `kept for agent-2 until <${later}> (changes asked in review)`,
      'no attempt left (3/3)',
    ]);
    expect(waitingReasons(pending({ run_after: earlier, preferred_instance_id: 'agent-2', preferred_until: earlier }), ctx())).toEqual([]);
  });
});

// The reasons agree with the claim: a task with no reason is claimed by an agent that covers it, one with a reason is not.
for (const backend of backends) {
  describe(`waiting reasons agree with claim-next (${backend.name})`, () => {
    let t: TestApp | undefined;
    afterEach(async () => {
      await t?.close();
      t = undefined;
    });

    it('pause, limit, dependency and start time: what the card says is what the claim does', async () => {
      t = await openTestApp(backend, { queue: { wipLimit: 0 } });
      const add = async (body: Record<string, unknown>) => (await t!.call('POST', '/api/tasks', body)).json.task_id as number;
      const reasonsNow = async () => {
        const [{ pauses }, { limits }, list] = await Promise.all(
          ['/api/queue/pauses', '/api/limits', '/api/tasks?status=pending&limit=100'].map(async (u) => (await t!.call('GET', u)).json),
        );
        const statuses = new Map<number, string>();
        for (const task of list.tasks as Task[]) for (const id of task.depends_on as number[]) statuses.set(id, (await t!.call('GET', `/api/tasks/${id}`)).json.task.status);
        const statusOf = (id: number) => statuses.get(id);
        return new Map((list.tasks as Task[]).map((task) => [task.id as number, kinds(waitingReasons(task, ctx({ pauses, limits, statusOf, now: Date.now() })))]));
      };
      const held = await add({ description: 'db running', labels: ['db'] });
      await t.call('PUT', '/api/limits', { scope: 'label:db', max: 1 });
      expect((await t.call('POST', `/api/tasks/${held}/claim`, { instance_id: 'a0' })).status).toBe(200);
      const limited = await add({ description: 'db waiting', labels: ['db'] });
      const paused = await add({ description: 'web', project: 'web' });
      await t.call('POST', '/api/queue/pause', { scope: 'project:web', reason: 'deploy' });
      const child = await add({ description: 'after the db task', depends_on: [held] });
      const later = await add({ description: 'tomorrow', run_after: new Date(Date.now() + 86_400_000).toISOString() });
      const ready = await add({ description: 'ready' });

      const reasons = await reasonsNow();
      expect(reasons.get(limited)).toEqual(['limit']);
      expect(reasons.get(paused)).toEqual(['paused']);
      expect(reasons.get(child)).toEqual(['dependencies']);
      expect(reasons.get(later)).toEqual(['scheduled']);
      expect(reasons.get(ready)).toEqual([]);
      // An agent that covers every label gets the one task with no reason, then nothing.
      expect((await t.call('POST', '/api/tasks/claim-next', { instance_id: 'a1', labels: '*' })).json.task).toMatchObject({ id: ready });
      expect((await t.call('POST', '/api/tasks/claim-next', { instance_id: 'a1', labels: '*' })).json.task ?? null).toBeNull();
    });
  });
}
