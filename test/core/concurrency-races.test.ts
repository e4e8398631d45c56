// The three races the queue must win on both backends: the WIP limit under concurrent claims from one
// instance, opposite dependency pairs sent together, and attempts given back by releases.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AthenaError } from '../../src/errors.js';
import { backends, openTestQueue, type TestQueue } from '../helpers/stores.js';

/** Code of a rejected call; a rejection that is not a typed error is a defect and fails the test. */
function codeOfRejection(result: PromiseSettledResult<unknown>): string | null {
  if (result.status === 'fulfilled') return null;
  if (result.reason instanceof AthenaError) return result.reason.code;
  throw result.reason;
}

describe.each(backends)('concurrency races on $name', (backend) => {
  let t: TestQueue;
  beforeEach(async () => {
    t = await openTestQueue(backend, { wipLimit: 1 });
  });
  afterEach(async () => t.cleanup());

  const heldBy = async (instanceId: string) => (await t.queue.heldBy(instanceId)).tasks.length;

  for (const claimers of [8, 64]) {
    it(`${claimers} concurrent claim-next calls from one instance with WIP_LIMIT=1 leave it holding exactly 1 task, every round`, async () => {
      for (let i = 0; i < claimers; i++) await t.queue.create({ description: `task ${i}` });
      for (let round = 0; round < 3; round++) {
        const results = await Promise.allSettled(Array.from({ length: claimers }, () => t.queue.claimNext({ instanceId: 'shared-host' })));
        const claimed = results.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
        const codes = results.map(codeOfRejection).filter((c) => c !== null);
        expect({ round, claimed: claimed.length, held: await heldBy('shared-host') }).toEqual({ round, claimed: 1, held: 1 });
        expect(new Set(codes)).toEqual(new Set(['WIP_LIMIT']));
        await t.queue.release(claimed[0]!.id, { leaseToken: claimed[0]!.leaseToken });
      }
    });
  }

  it('8 concurrent claims by id of different tasks from one instance with WIP_LIMIT=1: exactly one succeeds', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) ids.push((await t.queue.create({ description: `task ${i}` })).task.id);
    const results = await Promise.allSettled(ids.map((id) => t.queue.claim(id, { instanceId: 'shared-host' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(new Set(results.map(codeOfRejection).filter((c) => c !== null))).toEqual(new Set(['WIP_LIMIT']));
    expect(await heldBy('shared-host')).toBe(1);
  });

  it('20 opposite addDependencies pairs sent together: exactly one of each pair succeeds, the other is 422 DEPENDENCY_CYCLE', async () => {
    const pairs: Array<[number, number]> = [];
    for (let i = 0; i < 20; i++) {
      const a = (await t.queue.create({ description: `a${i}` })).task.id;
      const b = (await t.queue.create({ description: `b${i}` })).task.id;
      pairs.push([a, b]);
    }
    const outcomes = await Promise.all(
      pairs.map(async ([a, b]) => {
        const results = await Promise.allSettled([t.queue.addDependencies(a, [b]), t.queue.addDependencies(b, [a])]);
        return results.map((r) => codeOfRejection(r) ?? 'ok').sort();
      }),
    );
    const tally = new Map<string, number>();
    for (const o of outcomes) tally.set(o.join('+'), (tally.get(o.join('+')) ?? 0) + 1);
    expect(Object.fromEntries(tally)).toEqual({ 'DEPENDENCY_CYCLE+ok': 20 });
    // And the graph itself has no cycle: every pair has exactly one edge.
    for (const [a, b] of pairs) {
      const deps = [(await t.queue.get(a)).dependsOn, (await t.queue.get(b)).dependsOn];
      expect(deps.flat()).toHaveLength(1);
    }
  });

  it('two edges that close a longer cycle, sent together: exactly one is added', async () => {
    // Existing y -> u and v -> x; adding x -> y and u -> v together would close x -> y -> u -> v -> x.
    // The two writes lock different rows: only the dependency-graph lock makes them take turns.
    const outcomes: string[] = [];
    for (let round = 0; round < 10; round++) {
      const [x, y, u, v] = await Promise.all(['x', 'y', 'u', 'v'].map(async (d) => (await t.queue.create({ description: `${d}${round}` })).task.id));
      await t.queue.addDependencies(y!, [u!]);
      await t.queue.addDependencies(v!, [x!]);
      const results = await Promise.allSettled([t.queue.addDependencies(x!, [y!]), t.queue.addDependencies(u!, [v!])]);
      outcomes.push(results.map((r) => codeOfRejection(r) ?? 'ok').sort().join('+'));
    }
    expect(outcomes).toEqual(Array(10).fill('DEPENDENCY_CYCLE+ok'));
  });

  it('dependencies added while a purge runs: typed refusals only, and no edge to a purged task', async () => {
    for (let round = 0; round < 10; round++) {
      const done = (await t.queue.create({ description: `done ${round}` })).task;
      const claimed = (await t.queue.claimNext({ instanceId: `agent-${round}` }))!;
      await t.queue.complete(claimed.id, { leaseToken: claimed.leaseToken });
      const gone = (await t.queue.create({ description: `cancelled ${round}` })).task;
      await t.queue.cancel(gone.id);
      const waiting = (await t.queue.create({ description: `waiting ${round}` })).task;
      t.clock.advance(60_000);
      const results = await Promise.allSettled([
        t.queue.purge(0),
        t.queue.addDependencies(waiting.id, [done.id]),
        t.queue.create({ description: `child ${round}`, dependsOn: [done.id] }),
        t.queue.addDependencies(gone.id, [waiting.id]),
      ]);
      const codes = results.map(codeOfRejection);
      expect(codes[0]).toBeNull();
      expect([null, 'UNKNOWN_DEPENDENCY']).toContain(codes[1]);
      expect([null, 'UNKNOWN_DEPENDENCY']).toContain(codes[2]);
      expect(['CONFLICT', 'NOT_FOUND']).toContain(codes[3]);
      // Whoever won, a task that depends on `done` finds it still there.
      const dependants = [...(await t.queue.list({ status: ['pending', 'blocked'], limit: 100 })).tasks].filter((d) => d.dependsOn.includes(done.id));
      if (dependants.length > 0) expect((await t.queue.get(done.id)).status).toBe('completed');
      await t.queue.cancelPending();
    }
  });

  it('two imports into an empty queue at once: one restores, the other is refused', async () => {
    await t.queue.create({ description: 'exported' });
    const data = await t.queue.exportAll();
    const other = await openTestQueue(backend);
    try {
      const results = await Promise.allSettled([other.queue.importAll(data), other.queue.importAll(data)]);
      expect(results.map(codeOfRejection).sort()).toEqual(['CONFLICT', null]);
      expect((await other.queue.stats()).total).toBe(1);
    } finally {
      await other.cleanup();
    }
  });

  it('a task released any number of times, then failed with retry, is requeued while real attempts remain', async () => {
    const { task } = await t.queue.create({ description: 'flaky', maxAttempts: 3 });
    for (let i = 0; i < 5; i++) {
      const claimed = (await t.queue.claimNext({ instanceId: `agent-${i}` }))!;
      expect(claimed.attempts).toBe(1);
      const released = await t.queue.release(task.id, { leaseToken: claimed.leaseToken, reason: 'shutting down' });
      expect(released).toMatchObject({ status: 'pending', attempts: 0 });
    }
    const claimed = (await t.queue.claimNext({ instanceId: 'agent-x' }))!;
    const failed = await t.queue.fail(task.id, { leaseToken: claimed.leaseToken, error: 'flaked', retry: true });
    expect(failed).toMatchObject({ status: 'pending', attempts: 1, maxAttempts: 3 });
  });

  it('concurrent releases of many tasks give back exactly one attempt each', async () => {
    const claimed = [];
    for (let i = 0; i < 10; i++) {
      await t.queue.create({ description: `t${i}` });
      claimed.push((await t.queue.claimNext({ instanceId: `agent-${i}` }))!);
    }
    const released = await Promise.all(claimed.map((c) => t.queue.release(c.id, { leaseToken: c.leaseToken })));
    expect(released.map((r) => r.attempts)).toEqual(claimed.map(() => 0));
  });
});
