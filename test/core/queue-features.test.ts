// Labels, dependencies, scheduling, idempotency, bulk actions and export/import.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf } from '../helpers/refusals.js';
import { backends, openTestQueue, type TestQueue } from '../helpers/stores.js';

describe.each(backends)('queue features on $name', (backend) => {
  let t: TestQueue;
  beforeEach(async () => {
    t = await openTestQueue(backend, { wipLimit: 0 });
  });
  afterEach(async () => t.cleanup());

  describe('labels', () => {
    it('an agent gets only tasks whose labels it covers', async () => {
      const gpu = await t.queue.create({ description: 'train', labels: ['gpu', 'python'] });
      const web = await t.queue.create({ description: 'css', labels: ['repo:web'] });
      const plain = await t.queue.create({ description: 'anything' });
      expect((await t.queue.claimNext({ instanceId: 'py', labels: ['python'] }))!.id).toBe(plain.task.id);
      expect(await t.queue.claimNext({ instanceId: 'py', labels: ['python'] })).toBeNull();
      expect((await t.queue.claimNext({ instanceId: 'big', labels: ['python', 'gpu', 'rust'] }))!.id).toBe(gpu.task.id);
      expect(await t.queue.claimNext({ instanceId: 'none' })).toBeNull();
      expect((await t.queue.claimNext({ instanceId: 'any', labels: '*' }))!.id).toBe(web.task.id);
    });

    it('a labelled claim finds the one pending label list it covers among many (it reads each list once before walking the queue)', async () => {
      // Lists that sort before and after the covered one, each on several tasks; a held and a finished
      // task carry the agent's labels too, and count for nothing.
      for (const labels of [['a'], ['a', 'z'], ['m'], ['zz'], ['a', 'm', 'q']]) {
        for (let i = 0; i < 3; i++) await t.queue.create({ description: labels.join(','), labels });
      }
      const held = await t.queue.create({ description: 'held', labels: ['q'] });
      await t.queue.claim(held.task.id, { instanceId: 'other' });
      expect(await t.queue.claimNext({ instanceId: 'q', labels: ['q'] })).toBeNull();
      expect(await t.queue.claimNext({ instanceId: 'q', labels: ['q', 'x'] })).toBeNull();
      const wanted = await t.queue.create({ description: 'wanted', labels: ['x', 'q'] });
      expect(await t.queue.claimNext({ instanceId: 'q', labels: ['q'] })).toBeNull();
      expect((await t.queue.claimNext({ instanceId: 'qx', labels: ['x', 'q', 'y'] }))!.id).toBe(wanted.task.id);
      // Several agents at once (one claiming statement for them): each list reached by its own agents.
      const [m, zz, none, aq] = await Promise.all([
        t.queue.claimNext({ instanceId: 'm', labels: ['m'] }),
        t.queue.claimNext({ instanceId: 'zz', labels: ['zz', 'y'] }),
        t.queue.claimNext({ instanceId: 'n', labels: ['n'] }),
        t.queue.claimNext({ instanceId: 'amq', labels: ['q', 'm', 'a'] }),
      ]);
      expect(m!.labels).toEqual(['m']);
      expect(zz!.labels).toEqual(['zz']);
      expect(none).toBeNull();
      expect(aq!.labels.every((l) => ['a', 'm', 'q'].includes(l))).toBe(true);
    });

    it('with more distinct label lists pending than a claim reads first (64), a labelled claim still finds its task', async () => {
      for (let i = 0; i < 70; i++) await t.queue.create({ description: `own ${i}`, labels: [`l${String(i).padStart(2, '0')}`] });
      const last = await t.queue.create({ description: 'last', labels: ['zz'] });
      const first = await t.queue.create({ description: 'first', labels: ['a0'] });
      expect((await t.queue.claimNext({ instanceId: 'zz', labels: ['zz'] }))!.id).toBe(last.task.id);
      expect((await t.queue.claimNext({ instanceId: 'a0', labels: ['a0', 'q'] }))!.id).toBe(first.task.id);
      expect(await t.queue.claimNext({ instanceId: 'none', labels: ['none'] })).toBeNull();
      expect((await t.queue.claimNext({ instanceId: 'l69', labels: ['l69'] }))!.description).toBe('own 69');
    });

    it('an agent whose labels cover several label lists gets their tasks in priority order, then by age, across the lists', async () => {
      const lowX = await t.queue.create({ description: 'low x', labels: ['x'], priority: 'low' });
      const midX = await t.queue.create({ description: 'mid x', labels: ['x'] });
      const plain = await t.queue.create({ description: 'plain' });
      const highY = await t.queue.create({ description: 'high y', labels: ['y'], priority: 'high' });
      const midXY = await t.queue.create({ description: 'mid xy', labels: ['y', 'x'] });
      await t.queue.create({ description: 'high z', labels: ['z'], priority: 'high' });
      const order = [];
      for (let i = 0; i < 6; i++) order.push((await t.queue.claimNext({ instanceId: `xy${i}`, labels: ['x', 'y'] }))?.id ?? null);
      expect(order).toEqual([highY.task.id, midX.task.id, plain.task.id, midXY.task.id, lowX.task.id, null]);
    });

    it.runIf(backend.name === 'postgres')('when other claims hold every task first read from the lists an agent covers, its claim walks on to the next free one', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 10; i++) ids.push((await t.queue.create({ description: `n${i}`, labels: [i % 2 === 0 ? 'x' : 'y'] })).task.id);
      // Another transaction holds the first eight (the tasks such a claim reads first, unlocked) as
      // concurrent claims would: the claim takes the ninth instead of answering that none is free.
      const claimed = await t.db.tx(async (q) => {
        await q.all(`SELECT id FROM tasks WHERE id IN (${ids.slice(0, 8).join(', ')}) FOR UPDATE`);
        return t.queue.claimNext({ instanceId: 'xy', labels: ['x', 'y'] });
      });
      expect(claimed!.id).toBe(ids[8]);
    });

    it('agents claiming at once with labels covering several lists get distinct tasks, in claiming order, past many others', async () => {
      for (let i = 0; i < 20; i++) await t.queue.create({ description: `z${i}`, labels: ['z'], priority: 'high' });
      const ids: number[] = [];
      for (let i = 0; i < 8; i++) ids.push((await t.queue.create({ description: `n${i}`, labels: [i % 2 === 0 ? 'x' : 'y'] })).task.id);
      const claimed = await Promise.all(Array.from({ length: 6 }, (_, i) => t.queue.claimNext({ instanceId: `xy${i}`, labels: ['x', 'y'] })));
      expect(claimed.map((task) => task!.id).sort((a, b) => a - b)).toEqual(ids.slice(0, 6));
    });

    it.runIf(backend.name === 'postgres')('agents claiming at once whose first tasks read are all held by others walk on to free ones', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 20; i++) ids.push((await t.queue.create({ description: `n${i}`, labels: [i % 2 === 0 ? 'x' : 'y'] })).task.id);
      // Three claims at once read 3 + 8 tasks first: another transaction holds fourteen.
      const claimed = await t.db.tx(async (q) => {
        await q.all(`SELECT id FROM tasks WHERE id IN (${ids.slice(0, 14).join(', ')}) FOR UPDATE`);
        return Promise.all(Array.from({ length: 3 }, (_, i) => t.queue.claimNext({ instanceId: `xy${i}`, labels: ['x', 'y'] })));
      });
      expect(claimed.map((task) => task!.id).sort((a, b) => a - b)).toEqual(ids.slice(14, 17));
    });

    it('an agent without labels gets an unlabelled task behind many labelled ones, and none when no unlabelled task waits', async () => {
      for (let i = 0; i < 5; i++) await t.queue.create({ description: 'gpu', labels: ['gpu'], priority: 'high' });
      expect(await t.queue.claimNext({ instanceId: 'plain' })).toBeNull();
      const plain = await t.queue.create({ description: 'plain', priority: 'low' });
      expect((await t.queue.claimNext({ instanceId: 'plain' }))!.id).toBe(plain.task.id);
      expect(await t.queue.claimNext({ instanceId: 'plain' })).toBeNull();
    });

    it('a covered task that is not ready (its dependency open) is not claimed', async () => {
      const dep = await t.queue.create({ description: 'first', labels: ['gpu'] });
      await t.queue.create({ description: 'then', labels: ['docs'], dependsOn: [dep.task.id] });
      expect(await t.queue.claimNext({ instanceId: 'docs', labels: ['docs'] })).toBeNull();
    });

    it('an agent serving projects gets their tasks in priority order across them, with its labels met, and none past them', async () => {
      for (let i = 0; i < 5; i++) await t.queue.create({ description: 'elsewhere', project: 'other', priority: 'high' });
      await t.queue.create({ description: 'no project', priority: 'high' });
      const lowA = await t.queue.create({ description: 'low a', project: 'a', priority: 'low' });
      const midB = await t.queue.create({ description: 'mid b', project: 'b' });
      await t.queue.create({ description: 'high a, gpu', project: 'a', labels: ['gpu'], priority: 'high' });
      const highB = await t.queue.create({ description: 'high b', project: 'b', priority: 'high' });
      const midA = await t.queue.create({ description: 'mid a', project: 'a' });
      expect(await t.queue.claimNext({ instanceId: 'c', projects: ['c'] })).toBeNull();
      const order = [];
      for (let i = 0; i < 5; i++) order.push((await t.queue.claimNext({ instanceId: `ab${i}`, projects: ['b', 'a'] }))?.id ?? null);
      expect(order).toEqual([highB.task.id, midB.task.id, midA.task.id, lowA.task.id, null]);
      expect((await t.queue.claimNext({ instanceId: 'a-gpu', projects: ['a'], labels: ['gpu'] }))!.description).toBe('high a, gpu');
    });

    it('agents claiming at once for their projects get distinct tasks, in claiming order, past many others', async () => {
      for (let i = 0; i < 20; i++) await t.queue.create({ description: `z${i}`, project: 'z', priority: 'high' });
      const ids: number[] = [];
      for (let i = 0; i < 8; i++) ids.push((await t.queue.create({ description: `n${i}`, project: i % 2 === 0 ? 'x' : 'y' })).task.id);
      const one = await Promise.all(Array.from({ length: 3 }, (_, i) => t.queue.claimNext({ instanceId: `x${i}`, projects: ['x'] })));
      expect(one.map((task) => task!.id).sort((a, b) => a - b)).toEqual([ids[0], ids[2], ids[4]]);
      const both = await Promise.all(Array.from({ length: 4 }, (_, i) => t.queue.claimNext({ instanceId: `xy${i}`, projects: ['x', 'y'] })));
      expect(both.map((task) => task!.id).sort((a, b) => a - b)).toEqual([ids[1], ids[3], ids[5], ids[6]]);
    });

    it.runIf(backend.name === 'postgres')('when other claims hold every task first read from an agent\'s project, its claim walks on to the next free one, alone and at once', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 20; i++) ids.push((await t.queue.create({ description: `n${i}`, project: 'p' })).task.id);
      const alone = await t.db.tx(async (q) => {
        await q.all(`SELECT id FROM tasks WHERE id IN (${ids.slice(0, 8).join(', ')}) FOR UPDATE`);
        return t.queue.claimNext({ instanceId: 'p0', projects: ['p'] });
      });
      expect(alone!.id).toBe(ids[8]);
      // Three claims at once read 3 + 8 tasks first: another transaction holds them.
      const together = await t.db.tx(async (q) => {
        await q.all(`SELECT id FROM tasks WHERE id IN (${ids.slice(0, 8).concat(ids.slice(9, 15)).join(', ')}) FOR UPDATE`);
        return Promise.all(Array.from({ length: 3 }, (_, i) => t.queue.claimNext({ instanceId: `p${i + 1}`, projects: ['p'] })));
      });
      expect(together.map((task) => task!.id).sort((a, b) => a - b)).toEqual(ids.slice(15, 18));
    });

    it('labels are stored sorted and deduplicated and shown on the task', async () => {
      const { task } = await t.queue.create({ description: 'x', labels: ['b', 'a', 'b'], project: 'web' });
      expect(task.labels).toEqual(['a', 'b']);
      expect(task.project).toBe('web');
    });
  });

  describe('dependencies', () => {
    it('a dependant is not claimable until every dependency completed', async () => {
      const a = await t.queue.create({ description: 'a' });
      const b = await t.queue.create({ description: 'b' });
      const c = await t.queue.create({ description: 'c', dependsOn: [a.task.id, b.task.id], priority: 'high' });
      const first = (await t.queue.claimNext({ instanceId: 'x' }))!;
      expect(first.id).toBe(a.task.id);
      expect(await codeOf(t.queue.claim(c.task.id, { instanceId: 'y' }))).toBe('NOT_CLAIMABLE');
      await t.queue.complete(first.id, { leaseToken: first.leaseToken });
      const second = (await t.queue.claimNext({ instanceId: 'x' }))!;
      expect(second.id).toBe(b.task.id);
      expect(await t.queue.claimNext({ instanceId: 'z' })).toBeNull();
      await t.queue.complete(second.id, { leaseToken: second.leaseToken });
      expect((await t.queue.claimNext({ instanceId: 'x' }))!.id).toBe(c.task.id);
    });

    it('a failed or cancelled dependency blocks the chain, with the reason; retry unblocks it', async () => {
      const a = await t.queue.create({ description: 'a', maxAttempts: 1 });
      const b = await t.queue.create({ description: 'b', dependsOn: [a.task.id] });
      const c = await t.queue.create({ description: 'c', dependsOn: [b.task.id] });
      const claimed = (await t.queue.claimNext({ instanceId: 'x' }))!;
      await t.queue.fail(claimed.id, { leaseToken: claimed.leaseToken, error: 'boom' });
      expect(await t.queue.get(b.task.id)).toMatchObject({ status: 'blocked', blockedReason: `dependency #${a.task.id} is failed` });
      expect((await t.queue.get(c.task.id)).status).toBe('blocked');
      const late = await t.queue.create({ description: 'd', dependsOn: [a.task.id] });
      expect(late.task.status).toBe('blocked');

      await t.queue.retry(a.task.id);
      expect((await t.queue.get(b.task.id)).status).toBe('pending');
      expect((await t.queue.get(c.task.id)).status).toBe('pending');
      expect((await t.queue.get(late.task.id))).toMatchObject({ status: 'pending', blockedReason: null });

      await t.queue.cancel(a.task.id);
      expect((await t.queue.get(c.task.id)).status).toBe('blocked');
    });

    it('what a task ending frees: its dependants now waiting on nothing, in claiming order, and whether a limit counts it', async () => {
      const a = await t.queue.create({ description: 'a', labels: ['db'], project: 'web' });
      const b = await t.queue.create({ description: 'b' });
      const low = await t.queue.create({ description: 'after a', dependsOn: [a.task.id], priority: 'low', runAfter: t.clock.now + 60_000 });
      const high = await t.queue.create({ description: 'after a too', dependsOn: [a.task.id], priority: 'high' });
      await t.queue.create({ description: 'after a and b', dependsOn: [a.task.id, b.task.id] });
      const taken = await t.queue.create({ description: 'after a, claimed', dependsOn: [a.task.id] });
      await t.queue.create({ description: 'after b', dependsOn: [b.task.id] });
      const held = await t.queue.claim(a.task.id, { instanceId: 'x' });
      expect(await t.queue.freedBy([held], 10)).toEqual({ dependants: [], limited: false, anyWaiting: true }); // not ended
      await t.queue.complete(held.id, { leaseToken: held.leaseToken });
      await t.queue.claim(taken.task.id, { instanceId: 'y' });
      const done = await t.queue.get(a.task.id);
      // The one waiting for b too is not freed; a delayed one is (its waiter is woken when its time comes).
      expect((await t.queue.freedBy([done], 10)).dependants.map((task) => task.id)).toEqual([high.task.id, low.task.id]);
      expect((await t.queue.freedBy([done], 1)).dependants.map((task) => task.id)).toEqual([high.task.id]);
      expect((await t.queue.freedBy([done], 10)).limited).toBe(false);
      await t.queue.setLimit({ kind: 'project', value: 'web' }, 2, null);
      expect((await t.queue.freedBy([done], 10)).limited).toBe(true);
      await t.queue.removeLimit({ kind: 'project', value: 'web' }, null);
      await t.queue.setLimit({ kind: 'label', value: 'db' }, 2, null);
      expect((await t.queue.freedBy([done], 10)).limited).toBe(true);
      expect(await t.queue.freedBy([await t.queue.get(b.task.id)], 10)).toEqual({ dependants: [], limited: false, anyWaiting: true });
      // As the claims last read the limits (a claim reads them once they changed).
      await t.queue.claimNext({ instanceId: 'z', projects: ['none'] });
      expect((await t.queue.freedBy([done], 10)).limited).toBe(true);
      await t.queue.removeLimit({ kind: 'label', value: 'db' }, null);
      await t.queue.claimNext({ instanceId: 'z', projects: ['none'] });
      expect((await t.queue.freedBy([done], 10)).limited).toBe(false);
      // Several ended together: the dependants of each.
      const claimedB = await t.queue.claim(b.task.id, { instanceId: 'x' });
      await t.queue.complete(claimedB.id, { leaseToken: claimedB.leaseToken });
      const both = (await t.queue.freedBy([done, await t.queue.get(b.task.id)], 10)).dependants.map((task) => task.description);
      expect(both).toEqual(['after a too', 'after a and b', 'after b', 'after a']);
      expect(await t.queue.freedBy([done], 10, { dependants: false })).toMatchObject({ dependants: [] });
      // Once no pending task waits on another, the read says so.
      t.clock.advance(60_000);
      for (;;) {
        const next = await t.queue.claimNext({ instanceId: 'w' });
        if (!next) break;
        await t.queue.complete(next.id, { leaseToken: next.leaseToken });
      }
      expect(await t.queue.freedBy([done], 10)).toEqual({ dependants: [], limited: false, anyWaiting: false });
    });

    it('only a task that has not started gains dependencies; an unknown task is 404', async () => {
      const a = await t.queue.create({ description: 'a' });
      const b = await t.queue.create({ description: 'b' });
      const claimed = (await t.queue.claimNext({ instanceId: 'a1' }))!;
      expect(claimed.id).toBe(a.task.id);
      expect(await codeOf(t.queue.addDependencies(a.task.id, [b.task.id]))).toBe('CONFLICT');
      expect(await codeOf(t.queue.addDependencies(9999, [b.task.id]))).toBe('NOT_FOUND');
      expect(await codeOf(t.queue.addDependencies(b.task.id, [9999]))).toBe('UNKNOWN_DEPENDENCY');
      expect(await codeOf(t.queue.addDependencies(b.task.id, [b.task.id]))).toBe('DEPENDENCY_CYCLE');
      expect((await t.queue.get(b.task.id)).dependsOn).toEqual([]);
    });

    it('unknown dependency ids and cycles are refused', async () => {
      expect(await codeOf(t.queue.create({ description: 'x', dependsOn: [999] }))).toBe('UNKNOWN_DEPENDENCY');
      const a = await t.queue.create({ description: 'a' });
      const b = await t.queue.create({ description: 'b', dependsOn: [a.task.id] });
      const c = await t.queue.create({ description: 'c', dependsOn: [b.task.id] });
      expect(await codeOf(t.queue.addDependencies(a.task.id, [c.task.id]))).toBe('DEPENDENCY_CYCLE');
      expect(await codeOf(t.queue.addDependencies(a.task.id, [a.task.id]))).toBe('DEPENDENCY_CYCLE');
      expect(await codeOf(t.queue.addDependencies(a.task.id, [12345]))).toBe('UNKNOWN_DEPENDENCY');
      const d = await t.queue.create({ description: 'd' });
      const updated = await t.queue.addDependencies(a.task.id, [d.task.id]);
      expect(updated.dependsOn).toEqual([d.task.id]);
      expect((await t.queue.claimNext({ instanceId: 'x' }))!.id).toBe(d.task.id);
    });
  });

  describe('run_after', () => {
    it('a scheduled task is not claimable before its time', async () => {
      const { task } = await t.queue.create({ description: 'later', runAfter: t.clock.now + 60_000 });
      expect(await t.queue.claimNext({ instanceId: 'x' })).toBeNull();
      expect(await codeOf(t.queue.claim(task.id, { instanceId: 'x' }))).toBe('NOT_CLAIMABLE');
      expect(await t.store.nextRunAfter(t.clock.now)).toBe(t.clock.now + 60_000);
      t.clock.advance(60_000);
      expect((await t.queue.claimNext({ instanceId: 'x' }))!.id).toBe(task.id);
    });
  });

  describe('idempotency', () => {
    it('the same key returns the same task instead of a duplicate', async () => {
      const first = await t.queue.create({ description: 'once', idempotencyKey: 'k-1' });
      const again = await t.queue.create({ description: 'once', idempotencyKey: 'k-1' });
      expect(first.created).toBe(true);
      expect(again).toMatchObject({ created: false, task: { id: first.task.id } });
      expect((await t.queue.stats()).total).toBe(1);
    });

    it('concurrent creates with one key make exactly one task', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => t.queue.create({ description: 'race', idempotencyKey: 'same' })));
      expect(new Set(results.map((r) => r.task.id)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect((await t.queue.stats()).total).toBe(1);
    });

    it('the same key with a different request is 422 IDEMPOTENCY_MISMATCH naming the field; the same request still gets the task', async () => {
      const first = await t.queue.create({ description: 'deploy', priority: 'high', labels: ['b', 'a'], dependsOn: [], idempotencyKey: 'k-2' });
      const refused = await t.queue.create({ description: 'deploy', priority: 'low', labels: ['a', 'b'], idempotencyKey: 'k-2' }).catch((e) => e);
      expect(refused).toMatchObject({ code: 'IDEMPOTENCY_MISMATCH', details: { field: 'priority', taskId: first.task.id } });
      expect(refused.message).toMatch(/priority differs/);
      expect(await t.queue.create({ description: 'deploy!', priority: 'high', labels: ['a'], idempotencyKey: 'k-2' }).catch((e) => e.details.field)).toBe('description');
      // Labels in another order and defaults spelt out are the same request.
      expect(await t.queue.create({ description: ' deploy ', priority: 'high', labels: ['a', 'b'], idempotencyKey: 'k-2' })).toMatchObject({ created: false, task: { id: first.task.id } });
      // What happened to the task since does not matter: the request is compared, not the task.
      const claimed = (await t.queue.claimNext({ instanceId: 'a1', labels: '*' }))!;
      await t.queue.complete(claimed.id, { leaseToken: claimed.leaseToken, notes: 'done, with notes' });
      expect(await t.queue.create({ description: 'deploy', priority: 'high', labels: ['a', 'b'], idempotencyKey: 'k-2' })).toMatchObject({ created: false, task: { status: 'completed' } });
      expect((await t.queue.stats()).total).toBe(1);
    });

    it('a replay is answered with the original task even after its dependencies were purged', async () => {
      const dep = await t.queue.create({ description: 'dep' });
      const first = await t.queue.create({ description: 'child', dependsOn: [dep.task.id], idempotencyKey: 'k-3' });
      await t.queue.cancel(first.task.id);
      await t.queue.cancel(dep.task.id);
      t.clock.advance(60_000);
      await t.queue.purge(0); // the dependency goes; the keyed child stays for a day
      expect(await t.queue.get(dep.task.id).catch((e) => e.code)).toBe('NOT_FOUND');
      expect(await t.queue.create({ description: 'child', dependsOn: [dep.task.id], idempotencyKey: 'k-3' })).toMatchObject({ created: false, task: { id: first.task.id } });
    });

    it('a key is honoured for at least 24 hours, even through a purge', async () => {
      const first = await t.queue.create({ description: 'once', idempotencyKey: 'day' });
      await t.queue.cancel(first.task.id);
      t.clock.advance(60_000);
      expect(await t.queue.purge(0)).toBe(0);
      expect((await t.queue.create({ description: 'once', idempotencyKey: 'day' })).created).toBe(false);
      t.clock.advance(24 * 60 * 60 * 1000);
      expect(await t.queue.purge(0)).toBe(1);
      expect((await t.queue.create({ description: 'once', idempotencyKey: 'day' })).created).toBe(true);
    });
  });

  describe('bulk actions', () => {
    it('retry all failed (by label), cancel pending by filter, purge old finished tasks', async () => {
      for (const labels of [['web'], ['web'], ['api']]) {
        await t.queue.create({ description: 'f', labels, maxAttempts: 1 });
        const c = (await t.queue.claimNext({ instanceId: 'x', labels: '*' }))!;
        await t.queue.fail(c.id, { leaseToken: c.leaseToken, error: 'e' });
      }
      expect(await t.queue.retryFailed({ label: 'web' })).toBe(2);
      expect((await t.queue.stats()).byStatus).toMatchObject({ pending: 2, failed: 1 });

      await t.queue.create({ description: 'keep me', project: 'a' });
      await t.queue.create({ description: 'drop me', project: 'b' });
      expect(await t.queue.cancelPending({ project: 'b' }, 'ops')).toBe(1);
      expect(await t.queue.cancelPending({ label: 'web' })).toBe(2);
      expect((await t.queue.stats()).byStatus).toMatchObject({ pending: 1, cancelled: 3 });

      expect(await t.queue.purge(1)).toBe(0);
      t.clock.advance(2 * 86_400_000);
      expect(await t.queue.purge(1)).toBe(3);
      expect((await t.queue.stats()).total).toBe(2);
    });
  });

  describe('announcements', () => {
    it('are durable events without a task, emitted on the bus and replayable', async () => {
      const seen: string[] = [];
      t.bus.subscribe((e) => seen.push(`${e.type}:${e.details}`));
      const event = await t.queue.announce('daily_summary', 'Created 3');
      expect(event).toMatchObject({ type: 'daily_summary', taskId: null, task: null, details: 'Created 3' });
      expect(seen).toEqual(['daily_summary:Created 3']);
      const replay = await t.store.eventsSince(event.id - 1, 10);
      expect(replay).toEqual([expect.objectContaining({ id: event.id, type: 'daily_summary', details: 'Created 3' })]);
    });
  });

  describe('export and import', () => {
    it('an export restores into an empty queue with ids, logs and leases intact', async () => {
      const a = await t.queue.create({ description: 'a', labels: ['x'] });
      await t.queue.create({ description: 'b', dependsOn: [a.task.id] });
      const held = (await t.queue.claimNext({ instanceId: 'h', labels: ['x'] }))!;
      const data = await t.queue.exportAll();

      const other = await openTestQueue(backend);
      try {
        expect(await other.queue.importAll(data)).toEqual({ tasks: 2, logs: data.logs.length, schedules: 0 });
        expect(await codeOf(other.queue.importAll(data))).toBe('CONFLICT');
        const restored = await other.queue.exportAll();
        expect(restored.tasks).toEqual(data.tasks);
        // The holder keeps working against the restored queue with its lease token.
        expect((await other.queue.complete(held.id, { leaseToken: held.leaseToken })).status).toBe('completed');
        const next = await other.queue.create({ description: 'c' });
        expect(next.task.id).toBe(3);
      } finally {
        await other.cleanup();
      }
    });
  });
});
