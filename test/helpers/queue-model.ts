// Model-based concurrency test of the queue (fast-check): random sequences of steps, each a batch of
// concurrent calls from several agents (two of them sharing an instance id, as two `athena work` on
// one host do) or a tick of the injected clock. Every SQL statement waits at a gate that fast-check's
// scheduler opens in a random order, so transactions interleave differently in every run. After each
// step the database is checked against what the calls acknowledged (queue-model-checks.ts).
import fc from 'fast-check';
import { createEventBus } from '../../src/core/events.js';
import { createQueue, type Queue } from '../../src/core/queue.js';
import type { ClaimedTask, Priority, Task } from '../../src/core/types.js';
import { AthenaError } from '../../src/errors.js';
import type { Db } from '../../src/store/db.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { checkSnapshot, claimableLeft, HELD, snapshot, type Acknowledged, type Snapshot } from './queue-model-checks.js';
import { scheduledDb } from './scheduled-db.js';
import { testClock, type TestBackend, type TestClock } from './stores.js';

const AGENTS = [
  { instanceId: 'host-x', instanceName: 'x-1' },
  { instanceId: 'host-x', instanceName: 'x-2' },
  { instanceId: 'host-y', instanceName: 'y' },
  { instanceId: 'host-z', instanceName: 'z' },
];
const LEASE_MS = 60_000;
/** Tasks a run creates at most: few tasks, so calls collide on them. */
const MAX_TASKS = 8;

type OpKind = 'create' | 'claimNext' | 'claim' | 'heartbeat' | 'complete' | 'fail' | 'release' | 'cancel' | 'addDeps' | 'addTwoDeps' | 'retry' | 'sweep';
type Op = { kind: OpKind; agent: number; picks: [number, number, number, number]; flag: boolean; priority: Priority; maxAttempts: number };

/** How far ahead a parked task is due: it stays pending (and may gain dependencies) for the whole run. */
const PARKED_MS = 24 * 60 * 60 * 1000;

/** A claim an agent was answered; `byInstance` calls fence by the instance id instead, as original clients do. */
type Lease = { taskId: number; token: string; agent: number; byInstance?: boolean };

/** One concrete call, its picks resolved against the model when the step starts. */
type Call =
  | { kind: 'create'; priority: Priority; maxAttempts: number; dependsOn: number[]; parked: boolean }
  | { kind: 'claimNext'; agent: number }
  | { kind: 'claim'; agent: number; taskId: number }
  | { kind: 'heartbeat' | 'complete' | 'release'; lease: Lease }
  | { kind: 'fail'; lease: Lease; retry: boolean }
  | { kind: 'cancel' | 'retry'; taskId: number }
  | { kind: 'addDeps'; taskId: number; dependsOn: number }
  | { kind: 'sweep' };

/** Refusals each call may meet when it loses a race or asks for something the state does not allow. */
const REFUSALS: Record<Call['kind'], string[]> = {
  create: [],
  claimNext: ['WIP_LIMIT'],
  claim: ['NOT_PENDING', 'NOT_CLAIMABLE', 'WIP_LIMIT', 'CONFLICT'],
  heartbeat: ['LEASE_MISMATCH', 'CONFLICT'],
  complete: ['LEASE_MISMATCH', 'CONFLICT'],
  fail: ['LEASE_MISMATCH', 'CONFLICT'],
  release: ['LEASE_MISMATCH', 'CONFLICT'],
  cancel: ['CONFLICT'],
  addDeps: ['CONFLICT', 'DEPENDENCY_CYCLE'],
  retry: ['CONFLICT'],
  sweep: [],
};

export type Figures = { runs: number; steps: number; calls: number; acknowledged: number; refused: Record<string, number>; scheduled: number };

export type Model = Acknowledged & { tasks: number[]; leases: Lease[][] };
type Real = { queue: Queue; raw: Db; clock: TestClock; scheduler: fc.Scheduler; figures: Figures };

const holder = (l: Lease) => (l.byInstance ? `instance ${AGENTS[l.agent]!.instanceId}` : `agent ${l.agent}'s lease`);

function describeCall(call: Call): string {
  switch (call.kind) {
    case 'create':
      return `create(${call.priority}, max ${call.maxAttempts}${call.dependsOn.length ? `, after #${call.dependsOn.join(',#')}` : ''}${call.parked ? ', parked' : ''})`;
    case 'claimNext':
      return `claimNext(agent ${call.agent})`;
    case 'claim':
      return `claim(#${call.taskId}, agent ${call.agent})`;
    case 'fail':
      return `fail(#${call.lease.taskId}, ${holder(call.lease)}${call.retry ? ', retry' : ''})`;
    case 'heartbeat':
    case 'complete':
    case 'release':
      return `${call.kind}(#${call.lease.taskId}, ${holder(call.lease)})`;
    case 'cancel':
    case 'retry':
      return `${call.kind}(#${call.taskId})`;
    case 'addDeps':
      return `addDeps(#${call.taskId} after #${call.dependsOn})`;
    case 'sweep':
      return 'sweep';
  }
}

/** Resolves an op's picks against the model; an op with nothing to act on is dropped. */
function plan(op: Op, m: Model): Call[] {
  const task = (pick: number) => m.tasks[pick % m.tasks.length]!;
  const [pick, pick2, pick3, pick4] = op.picks;
  // A lease among the agent's last three: mostly current ones, sometimes one gone stale.
  const lease = (): Lease | null => {
    const own = m.leases[op.agent]!;
    return own.length === 0 ? null : own[own.length - 1 - (pick % Math.min(3, own.length))]!;
  };
  switch (op.kind) {
    case 'create':
      if (m.tasks.length >= MAX_TASKS) return [];
      // A third are parked (due tomorrow): they stay pending, so edges between them accumulate.
      return [{ kind: 'create', priority: op.priority, maxAttempts: op.maxAttempts, dependsOn: op.flag && m.tasks.length > 0 ? [task(pick)] : [], parked: pick2 % 3 === 0 }];
    case 'claimNext':
      // With the flag, both agents of host-x claim at once (two `athena work` on one host).
      return op.flag ? [{ kind: 'claimNext', agent: 0 }, { kind: 'claimNext', agent: 1 }] : [{ kind: 'claimNext', agent: op.agent }];
    case 'sweep':
      return [{ kind: 'sweep' }];
    case 'heartbeat':
    case 'complete':
    case 'release':
    case 'fail': {
      const found = lease();
      if (!found) return [];
      const l = pick2 % 4 === 0 ? { ...found, byInstance: true } : found;
      return op.kind === 'fail' ? [{ kind: 'fail', lease: l, retry: op.flag }] : [{ kind: op.kind, lease: l }];
    }
  }
  if (m.tasks.length === 0) return [];
  switch (op.kind) {
    case 'claim':
      return [{ kind: 'claim', agent: op.agent, taskId: task(pick) }];
    case 'cancel':
    case 'retry':
      return [{ kind: op.kind, taskId: task(pick) }];
    case 'addDeps': {
      const [a, b] = [task(pick), task(pick2)];
      // With the flag, the opposite edge is asked for at the same time: one of the two must be refused.
      return op.flag && a !== b ? [{ kind: 'addDeps', taskId: a, dependsOn: b }, { kind: 'addDeps', taskId: b, dependsOn: a }] : [{ kind: 'addDeps', taskId: a, dependsOn: b }];
    }
    case 'addTwoDeps':
      // Two edges on four (maybe) different tasks at once: with edges already there, they may close a
      // longer cycle while touching different rows.
      return [
        { kind: 'addDeps', taskId: task(pick), dependsOn: task(pick2) },
        { kind: 'addDeps', taskId: task(pick3), dependsOn: task(pick4) },
      ];
  }
}

const fence = (l: Lease) => (l.byInstance ? { instanceId: AGENTS[l.agent]!.instanceId } : { leaseToken: l.token });

function execute(call: Call, queue: Queue): Promise<unknown> {
  switch (call.kind) {
    case 'create':
      return queue.create({
        description: 'model task', priority: call.priority, maxAttempts: call.maxAttempts, dependsOn: call.dependsOn,
        runAfter: call.parked ? queue.now() + PARKED_MS : null,
      });
    case 'claimNext':
      return queue.claimNext({ ...AGENTS[call.agent]!, labels: '*' });
    case 'claim':
      return queue.claim(call.taskId, AGENTS[call.agent]!);
    case 'heartbeat':
      return queue.heartbeat(call.lease.taskId, fence(call.lease));
    case 'complete':
      return queue.complete(call.lease.taskId, fence(call.lease));
    case 'release':
      return queue.release(call.lease.taskId, fence(call.lease));
    case 'fail':
      return queue.fail(call.lease.taskId, { ...fence(call.lease), error: 'model failure', retry: call.retry });
    case 'cancel':
      return queue.cancel(call.taskId);
    case 'retry':
      return queue.retry(call.taskId);
    case 'addDeps':
      return queue.addDependencies(call.taskId, [call.dependsOn]);
    case 'sweep':
      return queue.sweepExpiredLeases();
  }
}

const count = (m: Model, taskId: number, action: string) => {
  const actions = m.counts.get(taskId) ?? new Map<string, number>();
  actions.set(action, (actions.get(action) ?? 0) + 1);
  m.counts.set(taskId, actions);
};

/** Records what one acknowledged call tells the model, and checks what it answered. */
function acknowledge(call: Call, value: unknown, m: Model, validAtStart: (l: Lease) => boolean, problems: string[]): void {
  const said = (why: string) => problems.push(`${describeCall(call)} ${why}`);
  // A call fenced by instance id is valid whenever that instance holds the task (any of its agents).
  if ('lease' in call && !call.lease.byInstance && !validAtStart(call.lease)) said('was accepted with a stale lease');
  switch (call.kind) {
    case 'create': {
      const { task } = value as { task: Task };
      m.tasks.push(task.id);
      count(m, task.id, 'created');
      return;
    }
    case 'claimNext':
    case 'claim': {
      const task = value as ClaimedTask | null;
      if (!task) return;
      m.leases[call.agent]!.push({ taskId: task.id, token: task.leaseToken, agent: call.agent });
      count(m, task.id, 'claimed');
      if (task.status !== 'in_progress' || task.instanceId !== AGENTS[call.agent]!.instanceId) said(`answered a task ${task.status} held by ${task.instanceId}`);
      if (task.attempts > task.maxAttempts) said(`answered attempt ${task.attempts} of ${task.maxAttempts}`);
      return;
    }
    case 'heartbeat':
    case 'complete':
    case 'release':
      count(m, call.lease.taskId, call.kind === 'complete' ? 'completed' : call.kind === 'release' ? 'released' : 'heartbeat');
      if (call.kind === 'complete') m.finals.set(call.lease.taskId, 'completed');
      return;
    case 'fail': {
      const task = value as Task;
      m.endings++;
      const left = task.attempts < task.maxAttempts;
      if (task.status === 'pending' && !(call.retry && left)) said(`requeued with ${task.attempts} of ${task.maxAttempts} attempts used`);
      if (task.status === 'failed' && call.retry && left) said(`failed with ${task.attempts} of ${task.maxAttempts} attempts used`);
      return;
    }
    case 'cancel':
      count(m, call.taskId, 'cancelled');
      m.finals.set(call.taskId, 'cancelled');
      return;
    case 'retry':
      count(m, call.taskId, 'retried');
      return;
    case 'addDeps':
      count(m, call.taskId, 'dependencies');
      return;
    case 'sweep': {
      const moved = value as { requeued: number; failed: number };
      m.endings += moved.requeued + moved.failed;
      return;
    }
  }
}

function leaseValidity(snap: Snapshot): (l: Lease) => boolean {
  const open = new Map(snap.tasks.filter((t) => HELD.has(t.status) && t.leaseToken).map((t) => [t.id, t.leaseToken]));
  return (l) => open.get(l.taskId) === l.token;
}

class Step implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ops: Op[]) {}
  check = () => true;
  private calls: Call[] = [];

  async run(m: Model, r: Real): Promise<void> {
    const validAtStart = leaseValidity(await snapshot(r.raw));
    this.calls = this.ops.flatMap((op) => plan(op, m));
    const settled = await r.scheduler.waitFor(Promise.allSettled(this.calls.map((call) => execute(call, r.queue))));
    r.figures.steps++;
    const problems: string[] = [];
    settled.forEach((result, i) => {
      const call = this.calls[i]!;
      r.figures.calls++;
      if (result.status === 'fulfilled') {
        r.figures.acknowledged++;
        acknowledge(call, result.value, m, validAtStart, problems);
        return;
      }
      const err = result.reason;
      if (!(err instanceof AthenaError)) {
        problems.push(`${describeCall(call)} threw ${err?.stack ?? err}`);
        return;
      }
      r.figures.refused[err.code] = (r.figures.refused[err.code] ?? 0) + 1;
      if (!REFUSALS[call.kind].includes(err.code)) problems.push(`${describeCall(call)} was refused with ${err.code}: ${err.message}`);
    });
    problems.push(...checkSnapshot(await snapshot(r.raw), m));
    if (problems.length > 0) throw new Error(`after ${this.toString()}:\n  ${problems.join('\n  ')}`);
  }

  toString(): string {
    return this.calls.length > 0 ? `step[${this.calls.map(describeCall).join(' | ')}]` : `step(${this.ops.map((o) => o.kind).join(', ')})`;
  }
}

class Tick implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_m: Model, r: Real): Promise<void> {
    r.clock.advance(this.ms);
  }
  toString(): string {
    return `tick(${this.ms} ms)`;
  }
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.oneof(
    { arbitrary: fc.constant<OpKind>('claimNext'), weight: 4 },
    { arbitrary: fc.constant<OpKind>('create'), weight: 3 },
    { arbitrary: fc.constantFrom<OpKind>('complete', 'fail', 'release', 'heartbeat', 'claim', 'addDeps', 'addTwoDeps'), weight: 11 },
    { arbitrary: fc.constantFrom<OpKind>('cancel', 'retry', 'sweep'), weight: 3 },
  ),
  agent: fc.nat(AGENTS.length - 1),
  picks: fc.tuple(fc.nat(64), fc.nat(64), fc.nat(64), fc.nat(64)),
  flag: fc.boolean(),
  priority: fc.constantFrom<Priority>('high', 'medium', 'low'),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
});

const stepArb = fc.array(opArb, { minLength: 1, maxLength: 4 }).map((ops) => new Step(ops));
const tickArb = fc.integer({ min: 500, max: 1.5 * LEASE_MS }).map((ms) => new Tick(ms));

export type ModelRunOptions = { numRuns: number; maxCommands: number; seed?: number; path?: string; log?: (line: string) => void };

/**
 * Runs the model-based property against one backend: one database for the whole property (a temp
 * SQLite file, or a fresh PostgreSQL schema), emptied before each run. Throws fast-check's report,
 * with seed and path to replay, when an invariant breaks.
 */
export async function checkQueueModel(backend: TestBackend, options: ModelRunOptions): Promise<Figures> {
  const opened = await backend.open();
  const figures: Figures = { runs: 0, steps: 0, calls: 0, acknowledged: 0, refused: {}, scheduled: 0 };
  try {
    const property = fc.asyncProperty(
      fc.scheduler(),
      fc.constantFrom(1, 2),
      fc.commands([stepArb, stepArb, stepArb, tickArb], { maxCommands: options.maxCommands, size: 'max' }),
      async (scheduler, wipLimit, commands) => {
        figures.runs++;
        await empty(opened.db);
        const clock = testClock();
        const gate = async (label: string) => {
          figures.scheduled++;
          await scheduler.schedule(Promise.resolve(), label);
        };
        const queue = createQueue({
          store: new SqlStore(scheduledDb(opened.db, gate)),
          bus: createEventBus(),
          config: { leaseMs: LEASE_MS, maxAttempts: 3, retryBaseMs: 1000, wipLimit },
          clock: clock.fn,
          random: () => 0.5,
        });
        const model: Model = { wipLimit, counts: new Map(), endings: 0, finals: new Map(), tasks: [], leases: AGENTS.map(() => []) };
        await fc.asyncModelRun(() => ({ model, real: { queue, raw: opened.db, clock, scheduler, figures } }), commands);
        // Then every task's time comes (the parked ones', a retry's backoff), and agents holding nothing claim until none is given.
        clock.advance(2 * PARKED_MS);
        for (let i = 0; i <= MAX_TASKS; i++) {
          if (!(await scheduler.waitFor(queue.claimNext({ instanceId: `idle-${i}`, labels: '*' })))) break;
        }
        const left = claimableLeft(await snapshot(opened.db));
        if (left.length > 0) throw new Error(`after the last step, every task due:\n  ${left.join('\n  ')}`);
      },
    );
    await fc.assert(property, { numRuns: options.numRuns, seed: options.seed, path: options.path, endOnFailure: options.path !== undefined });
    return figures;
  } finally {
    await opened.cleanup();
  }
}

/** Empties the queue's tables between runs (ids start again at 1). */
async function empty(db: Db): Promise<void> {
  const tables = ['task_logs', 'tasks', 'instances'];
  if (db.dialect.name === 'postgres') {
    await db.run(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`);
  } else {
    for (const table of tables) await db.run(`DELETE FROM ${table}`);
    await db.run('DELETE FROM sqlite_sequence');
  }
}
